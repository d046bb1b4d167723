'use strict';
// Demo data (once: nothing happens when users exist): four users with the password in
// SEED_PASSWORD and a few hundred answered messages at fixed times, so every run of the
// demo starts from the same documents.
const bcrypt = require('bcryptjs');
const db = require('../src/db');
const reply = require('../src/bot');

const USERS = [['alice', 'Alice Martin'], ['bob', 'Bob Dupont'], ['carol', 'Carol Nguyen'], ['smoke', 'Smoke Test']];
const QUESTIONS = ['hello', 'where is my order', 'how long does delivery take?', 'I want a refund',
  'can I change my address?', 'thanks', 'hey there', 'is the blue one in stock?'];

async function main() {
  const database = await db.connect();
  if (await database.collection('users').countDocuments() > 0) {
    console.log(JSON.stringify({ seeded: false }));
    return;
  }
  const password = process.env.SEED_PASSWORD;
  if (!password) throw new Error('set SEED_PASSWORD');
  const hash = bcrypt.hashSync(password, bcrypt.genSaltSync(8, 'b'));
  const start = Date.UTC(2025, 0, 6, 9, 0, 0);
  await database.collection('users').insertMany(USERS.map(([username, displayName], i) => ({
    username, displayName, passwordHash: hash, createdAt: new Date(start - (i + 1) * 86400000),
    prefs: { language: i % 2 ? 'fr' : 'en', notifications: i !== 2 } })));
  const docs = [];
  for (let i = 0; i < 240; i += 1) {
    const [user] = USERS[i % 3];
    const text = QUESTIONS[i % QUESTIONS.length];
    const at = new Date(start + i * 60000);
    docs.push({ user, from: 'user', text, at, status: 'answered', meta: { client: i % 4 ? 'web' : 'ios', seq: i } });
    docs.push({ user, from: 'bot', text: reply(text, user), at: new Date(at.getTime() + 1500), replyTo: null });
  }
  const { insertedIds } = await database.collection('messages').insertMany(docs, { ordered: true });
  const links = [];
  for (let i = 1; i < docs.length; i += 2) {
    links.push({ updateOne: { filter: { _id: insertedIds[i] }, update: { $set: { replyTo: insertedIds[i - 1] } } } });
  }
  await database.collection('messages').bulkWrite(links);
  console.log(JSON.stringify({ seeded: true, users: USERS.length, messages: docs.length }));
}

main().then(() => db.close()).catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
