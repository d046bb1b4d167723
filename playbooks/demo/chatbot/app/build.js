'use strict';
// The build: bundle and minify the page's script and style with esbuild into dist/public,
// named by content hash, and write index.html pointing at them. Deterministic: building
// the same source again gives the same bytes.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = __dirname;
const out = path.join(root, 'dist', 'public');
const { version } = require('./package.json');

function hashed(name, data) {
  const digest = crypto.createHash('sha256').update(data).digest('hex').slice(0, 12);
  const ext = path.extname(name);
  return `${path.basename(name, ext)}.${digest}${ext}`;
}

async function main() {
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'assets'), { recursive: true });
  const names = {};
  for (const entry of ['web/app.js', 'web/style.css']) {
    const result = await esbuild.build({ entryPoints: [path.join(root, entry)], bundle: true, minify: true,
      write: false, target: 'es2020', legalComments: 'none', logLevel: 'warning' });
    const data = result.outputFiles[0].contents;
    names[entry] = hashed(path.basename(entry), data);
    fs.writeFileSync(path.join(out, 'assets', names[entry]), data);
  }
  const page = fs.readFileSync(path.join(root, 'web', 'index.html'), 'utf8')
    .replaceAll('__VERSION__', version).replace('__JS__', names['web/app.js']).replace('__CSS__', names['web/style.css']);
  fs.writeFileSync(path.join(out, 'index.html'), page);
  fs.writeFileSync(path.join(root, 'dist', 'build.json'), `${JSON.stringify({ version, assets: names }, null, 2)}\n`);
  console.log(`built chatbot ${version}: ${Object.values(names).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
