// Campaigns: the list refreshes itself from the API every 30 seconds.
const list = document.getElementById('campaigns');

async function refresh() {
    const response = await fetch('/api/campaigns');
    if (!response.ok || !list) {
        return;
    }
    const campaigns = await response.json();
    list.innerHTML = campaigns
        .map((c) => `<li data-id="${c.id}">${c.name} <em>${c.status}</em></li>`)
        .join('');
}

setInterval(refresh, 30000);
