// PM2's description of the side service (pm2 start ecosystem.config.js).
module.exports = {
    apps: [
        {
            name: 'notifier',
            script: 'server.js',
            cwd: __dirname,
            exec_mode: 'fork',
            instances: 1,
            autorestart: true,
            env: { PORT: 3001, NODE_ENV: 'production' },
        },
    ],
};
