'use strict';
// Settings: the process environment wins over the .env file in the working directory
// (<app>/current/.env, a link to the shared one), so no release carries a secret.
const fs = require('fs');
const path = require('path');

function readEnvFile(file) {
  const values = {};
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return values;
    throw err;
  }
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

const file = readEnvFile(path.join(process.cwd(), '.env'));
const get = (name, fallback) => process.env[name] || file[name] || fallback;
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));

module.exports = {
  version: pkg.version,
  mongoUri: get('MONGODB_URI', 'mongodb://127.0.0.1:27017/chatbot'),
  jwtSecret: get('JWT_SECRET', ''),
  authPort: Number(get('AUTH_PORT', 3001)),
  apiPort: Number(get('API_PORT', 3000)),
  messagingPort: Number(get('MESSAGING_PORT', 3002)),
  baseUrl: get('BASE_URL', 'http://127.0.0.1'),
  smokeUser: get('SMOKE_USER', ''),
  smokePassword: get('SMOKE_PASSWORD', ''),
};
