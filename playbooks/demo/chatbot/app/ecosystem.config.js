'use strict';
// PM2 processes of the chatbot. The release lives in <app>/releases/<id>; the processes run
// from <app>/current, so `pm2 reload` after the current symlink switched starts the release it
// now points to (a path through the link, never this release's own folder).
//   auth, api   cluster mode: `pm2 reload` replaces them without dropping a request
//   messaging   fork mode, a single consumer: a reload restarts it
const fs = require('fs');
const path = require('path');

const current = path.resolve(__dirname, '..', '..', 'current');
const cwd = fs.existsSync(current) ? current : __dirname;
const common = { cwd, kill_timeout: 5000, listen_timeout: 10000, max_restarts: 10, min_uptime: 5000,
  env: { NODE_ENV: 'production' } };

module.exports = {
  apps: [
    { ...common, name: 'chatbot-auth', script: 'src/auth.js', exec_mode: 'cluster', instances: 1, wait_ready: true },
    { ...common, name: 'chatbot-api', script: 'src/api.js', exec_mode: 'cluster', instances: 1, wait_ready: true },
    { ...common, name: 'chatbot-messaging', script: 'src/messaging.js', exec_mode: 'fork' },
  ],
};
