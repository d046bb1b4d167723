'use strict';
// Release 1.x: users with a unique name; messages found by user and time; a partial index
// for the worker's queue (only pending messages are in it).
exports.up = async (db) => {
  await db.collection('users').createIndex({ username: 1 }, { unique: true, name: 'username_unique' });
  await db.collection('messages').createIndex({ user: 1, at: -1 }, { name: 'user_at' });
  await db.collection('messages').createIndex({ status: 1, at: 1 },
    { name: 'queue', partialFilterExpression: { status: 'pending' } });
};
