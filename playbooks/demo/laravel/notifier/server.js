// The campaign system's side service (the plan's "WhatsApp service"): a small HTTP
// service under PM2 that the operators check after every rollback. Node's standard
// library only.
'use strict';

const http = require('node:http');

const port = Number(process.env.PORT || 3001);
const startedAt = new Date().toISOString();
let sent = 0;

const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', pid: process.pid, startedAt, sent }));
        return;
    }
    if (req.method === 'POST' && req.url === '/send') {
        sent += 1;
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: true, sent }));
        return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
});

server.listen(port, '127.0.0.1', () => {
    console.log(`notifier listening on 127.0.0.1:${port}`);
});

process.on('SIGINT', () => server.close(() => process.exit(0)));
