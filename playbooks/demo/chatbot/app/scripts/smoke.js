'use strict';
// Smoke test of a running chatbot, through the front door (BASE_URL): log in as SMOKE_USER,
// send a message, wait for the bot's answer, then delete both, so the test leaves no data.
// Exit 0 when every step passed; otherwise the failed step on stderr and exit 1.
const config = require('../src/config');

async function call(method, path, token, body) {
  const res = await fetch(config.baseUrl + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function expect(step, cond, detail) {
  if (!cond) throw new Error(`${step}: ${JSON.stringify(detail)}`);
  console.log(`ok  ${step}`);
}

async function main() {
  const login = await call('POST', '/auth/login', null, { username: config.smokeUser, password: config.smokePassword });
  expect('log in', login.status === 200 && login.body.token, login);
  const { token } = login.body;
  const sent = await call('POST', '/api/messages', token, { text: `smoke test ${Date.now()}` });
  expect('send a message', sent.status === 201, sent);
  let answer = null;
  for (let i = 0; i < 40 && !answer; i += 1) {
    const list = await call('GET', '/api/messages', token);
    expect('list messages', list.status === 200, list);
    answer = list.body.messages.find((m) => m.from === 'bot' && m.replyTo === sent.body.id);
    if (!answer) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect('the bot answers within 10 s', answer, 'no answer');
  const removed = await call('DELETE', `/api/messages/${sent.body.id}`, token);
  expect('delete the test message and its answer', removed.status === 204, removed);
  const after = await call('GET', '/api/messages', token);
  expect('nothing of the test is left', !after.body.messages.some((m) => [sent.body.id, answer.id].includes(m.id)), after);
}

main().catch((err) => {
  console.error(`FAILED ${err.message}`);
  process.exit(1);
});
