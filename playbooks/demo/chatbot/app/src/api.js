'use strict';
// The messages API: a user's conversation with the bot.
//   GET    /api/messages        the newest 50, oldest first
//   POST   /api/messages {text} queue a message for the bot (the messaging worker answers it)
//   DELETE /api/messages/:id    delete a message of one's own and the bot's answer to it
const { ObjectId } = require('mongodb');
const config = require('./config');
const db = require('./db');
const requireUser = require('./auth_token');
const service = require('./service');

const NAME = 'api';

function view(message) {
  return { id: message._id.toHexString(), from: message.from, text: message.text, at: message.at,
    replyTo: message.replyTo ? message.replyTo.toHexString() : null };
}

service.run(NAME, async () => {
  if (!config.jwtSecret) throw new Error('JWT_SECRET is not set (shared .env)');
  const app = service.create(NAME);
  service.health(app, NAME, '/api/health');
  const messages = () => db.connect().then((database) => database.collection('messages'));

  app.get('/api/messages', requireUser, async (req, res, next) => {
    try {
      const newest = await (await messages()).find({ user: req.user }).sort({ at: -1, _id: -1 }).limit(50).toArray();
      res.json({ messages: newest.reverse().map(view) });
    } catch (err) {
      next(err);
    }
  });

  app.post('/api/messages', requireUser, async (req, res, next) => {
    try {
      const text = req.body && req.body.text;
      if (typeof text !== 'string' || !text.trim() || text.length > 500) {
        return res.status(400).json({ error: 'text must be 1 to 500 characters' });
      }
      const doc = { user: req.user, from: 'user', text: text.trim(), at: new Date(), status: 'pending' };
      const { insertedId } = await (await messages()).insertOne(doc);
      return res.status(201).json({ id: insertedId.toHexString() });
    } catch (err) {
      return next(err);
    }
  });

  app.delete('/api/messages/:id', requireUser, async (req, res, next) => {
    try {
      if (!ObjectId.isValid(req.params.id)) return res.status(404).json({ error: 'no such message' });
      const id = new ObjectId(req.params.id);
      const collection = await messages();
      const { deletedCount } = await collection.deleteOne({ _id: id, user: req.user, from: 'user' });
      if (!deletedCount) return res.status(404).json({ error: 'no such message' });
      await collection.deleteMany({ replyTo: id, user: req.user });
      return res.status(204).end();
    } catch (err) {
      return next(err);
    }
  });

  service.finish(app, NAME);
  await service.listen(app, NAME, config.apiPort);
});
