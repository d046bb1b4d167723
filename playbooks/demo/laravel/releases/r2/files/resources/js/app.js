// Campaigns 2.0: hybrid campaigns get a type badge; the list refreshes every 15 seconds.
const list = document.getElementById('campaigns');

function badge(type) {
    return type === 'Hybrid' ? ' <span class="badge">hybrid</span>' : '';
}

async function refresh() {
    const response = await fetch('/api/campaigns');
    if (!response.ok || !list) {
        return;
    }
    const campaigns = await response.json();
    list.innerHTML = campaigns
        .map((c) => `<li data-id="${c.id}">${c.name} <em>${c.status}</em>${badge(c.type)}</li>`)
        .join('');
}

setInterval(refresh, 15000);
