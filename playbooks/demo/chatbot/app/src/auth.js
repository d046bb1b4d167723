'use strict';
// The auth service: POST /auth/login {username, password} -> {token} (a JWT valid one hour).
const bcrypt = require('bcryptjs');
const jwt = require('jsonwebtoken');
const config = require('./config');
const db = require('./db');
const service = require('./service');

const NAME = 'auth';

service.run(NAME, async () => {
  if (!config.jwtSecret) throw new Error('JWT_SECRET is not set (shared .env)');
  const app = service.create(NAME);
  service.health(app, NAME, '/auth/health');
  app.post('/auth/login', async (req, res, next) => {
    try {
      const { username, password } = req.body || {};
      if (typeof username !== 'string' || typeof password !== 'string') {
        return res.status(400).json({ error: 'username and password are required' });
      }
      const user = await (await db.connect()).collection('users').findOne({ username });
      if (!user || !(await bcrypt.compare(password, user.passwordHash))) {
        return res.status(401).json({ error: 'wrong username or password' });
      }
      const token = jwt.sign({ sub: username, name: user.displayName }, config.jwtSecret, { expiresIn: '1h' });
      return res.json({ token });
    } catch (err) {
      return next(err);
    }
  });
  service.finish(app, NAME);
  await service.listen(app, NAME, config.authPort);
});
