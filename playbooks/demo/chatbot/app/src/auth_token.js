'use strict';
// Bearer-token check shared by the API: the token is the auth service's JWT.
const jwt = require('jsonwebtoken');
const config = require('./config');

module.exports = function requireUser(req, res, next) {
  const match = /^Bearer (.+)$/.exec(req.get('authorization') || '');
  if (!match) return res.status(401).json({ error: 'log in first (Authorization: Bearer <token>)' });
  try {
    req.user = jwt.verify(match[1], config.jwtSecret).sub;
  } catch (err) {
    return res.status(401).json({ error: 'invalid or expired token' });
  }
  return next();
};
