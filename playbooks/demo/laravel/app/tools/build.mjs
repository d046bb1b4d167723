// The frontend build: each entry point is minified a little, written to
// public/build/assets/<name>-<hash>.<ext>, and listed in public/build/manifest.json
// in Vite's manifest format. Same sources, same output: the build is reproducible.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';

const entries = ['resources/js/app.js', 'resources/css/app.css'];
const out = 'public/build';

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });

const manifest = {};
for (const entry of entries) {
    const source = readFileSync(entry, 'utf8');
    const code = source
        .split('\n')
        .filter((line) => !line.trim().startsWith('//'))
        .map((line) => line.trim())
        .filter(Boolean)
        .join('\n') + '\n';
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 8);
    const ext = extname(entry);
    const file = `assets/${basename(entry, ext)}-${hash}${ext}`;
    writeFileSync(`${out}/${file}`, code);
    manifest[entry] = { file, src: entry, isEntry: true };
}
writeFileSync(`${out}/manifest.json`, JSON.stringify(manifest, null, 2) + '\n');
console.log(`built ${Object.keys(manifest).length} entries into ${out}`);
