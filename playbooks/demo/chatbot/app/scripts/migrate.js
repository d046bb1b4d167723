'use strict';
// Apply the migrations in migrations/ that the `migrations` collection does not list yet,
// in name order. Prints {"applied": [...]} (empty when there was nothing to do).
const fs = require('fs');
const path = require('path');
const db = require('../src/db');

async function main() {
  const database = await db.connect();
  const done = new Set((await database.collection('migrations').find().toArray()).map((m) => m._id));
  const applied = [];
  const folder = path.join(__dirname, '..', 'migrations');
  for (const file of fs.readdirSync(folder).filter((f) => f.endsWith('.js')).sort()) {
    const name = path.basename(file, '.js');
    if (done.has(name)) continue;
    await require(path.join(folder, file)).up(database);
    await database.collection('migrations').insertOne({ _id: name, appliedAt: new Date() });
    applied.push(name);
  }
  console.log(JSON.stringify({ applied }));
}

main().then(() => db.close()).catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});
