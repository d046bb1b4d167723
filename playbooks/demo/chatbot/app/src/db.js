'use strict';
// One MongoDB connection per process; the database is the one named in MONGODB_URI.
const { MongoClient } = require('mongodb');
const config = require('./config');

const client = new MongoClient(config.mongoUri, { serverSelectionTimeoutMS: 5000, appName: 'chatbot' });
let db = null;

async function connect() {
  if (!db) {
    await client.connect();
    db = client.db();
  }
  return db;
}

async function ping() {
  const database = await connect();
  await database.command({ ping: 1 });
}

module.exports = { connect, ping, close: () => client.close() };
