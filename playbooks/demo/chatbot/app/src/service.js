'use strict';
// What every HTTP service of the chatbot shares: an access log line per request on stdout
// (PM2's out log), JSON errors, a /health answer, and PM2's ready/shutdown protocol.
const express = require('express');
const config = require('./config');
const db = require('./db');

function create(name) {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`${new Date().toISOString()} ${name} ${req.method} ${req.originalUrl} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
    next();
  });
  return app;
}

function health(app, name, route, extra) {
  app.get(route, async (req, res) => {
    try {
      await db.ping();
      res.json({ status: 'ok', service: name, version: config.version, ...(extra ? extra() : {}) });
    } catch (err) {
      res.status(503).json({ status: 'down', service: name, version: config.version, error: err.message });
    }
  });
}

function finish(app, name) {
  app.use((req, res) => res.status(404).json({ error: 'not found' }));
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    console.error(`${new Date().toISOString()} ${name} ERROR ${req.method} ${req.originalUrl}: ${err.stack || err}`);
    res.status(500).json({ error: 'internal error' });
  });
}

function listen(app, name, port) {
  return db.connect().then(() => {
    const server = app.listen(port, '127.0.0.1', () => {
      console.log(`${new Date().toISOString()} ${name} ${config.version} listening on 127.0.0.1:${port}`);
      if (process.send) process.send('ready');
    });
    const stop = () => server.close(() => db.close().finally(() => process.exit(0)));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return server;
  });
}

function run(name, start) {
  start().catch((err) => {
    console.error(`${new Date().toISOString()} ${name} cannot start: ${err.stack || err}`);
    process.exit(1);
  });
}

module.exports = { create, health, finish, listen, run };
