'use strict';
// The messaging worker: answers queued user messages (status "pending") with the bot's reply.
// A single consumer (PM2 fork mode), with its own /messaging/health endpoint.
const express = require('express');
const config = require('./config');
const db = require('./db');
const reply = require('./bot');
const service = require('./service');

const NAME = 'messaging';
let processed = 0;
let lastTick = null;

async function tick() {
  const messages = (await db.connect()).collection('messages');
  const pending = await messages.find({ from: 'user', status: 'pending' }).sort({ at: 1 }).limit(20).toArray();
  for (const message of pending) {
    await messages.insertOne({ user: message.user, from: 'bot', text: reply(message.text, message.user),
      at: new Date(), replyTo: message._id });
    await messages.updateOne({ _id: message._id }, { $set: { status: 'answered' } });
    processed += 1;
  }
  lastTick = new Date().toISOString();
}

service.run(NAME, async () => {
  const app = express();
  service.health(app, NAME, '/messaging/health', () => ({ processed, lastTick }));
  await service.listen(app, NAME, config.messagingPort);
  let busy = false;
  setInterval(() => {
    if (busy) return;
    busy = true;
    tick().catch((err) => console.error(`${new Date().toISOString()} ${NAME} ERROR ${err.stack || err}`))
      .finally(() => { busy = false; });
  }, 300);
});
