'use strict';
// Release 2.0: messages belong to a conversation and carry a structured body.
// Rewrites every message ({text} -> {body: {text, format}}, conversationId), adds the
// conversations collection, and replaces the user_at index with conversation_at.
exports.up = async (db) => {
  const users = await db.collection('messages').distinct('user');
  const conversations = db.collection('conversations');
  await conversations.createIndex({ user: 1 }, { unique: true, name: 'user_unique' });
  for (const user of users.sort()) {
    const { insertedId } = await conversations.insertOne({ user, title: `Support chat with ${user}`, startedAt: new Date() });
    await db.collection('messages').updateMany({ user }, [
      { $set: { body: { text: '$text', format: 'plain' }, conversationId: insertedId } },
      { $unset: 'text' },
    ]);
  }
  await db.collection('messages').dropIndex('user_at');
  await db.collection('messages').createIndex({ conversationId: 1, at: -1 }, { name: 'conversation_at' });
};
