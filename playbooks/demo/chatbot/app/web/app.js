// The chatbot's page: log in, then talk to the bot through the messages API.
let token = null;

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.status === 204 ? null : res.json();
}

function render(messages) {
  const list = document.getElementById('messages');
  list.replaceChildren(...messages.map((message) => {
    const item = document.createElement('li');
    item.className = message.from;
    item.textContent = message.text;
    return item;
  }));
}

async function refresh() {
  render((await call('GET', '/api/messages')).messages);
}

document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  token = (await call('POST', '/auth/login', { username: form.get('username'), password: form.get('password') })).token;
  event.target.hidden = true;
  document.getElementById('chat').hidden = false;
  await refresh();
  setInterval(refresh, 2000);
});

document.getElementById('send').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  await call('POST', '/api/messages', { text: input.value });
  input.value = '';
  await refresh();
});
