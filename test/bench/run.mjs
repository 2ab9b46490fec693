// `npm run bench [-- NAME…]`: runs every test/bench/*.bench.mjs (or the named ones) in turn. A name
// also selects the group it begins: `postgres` runs postgres-import and postgres-load.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.mjs')).sort();
const names = all.map((f) => f.replace('.bench.mjs', ''));
const selects = (wantedName, name) => name === wantedName || name.startsWith(`${wantedName}-`);
const unknown = wanted.filter((w) => !names.some((name) => selects(w, name)));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; available: ${names.join(', ')}`);
  process.exit(2);
}
const chosen = wanted.length ? all.filter((f, i) => wanted.some((w) => selects(w, names[i]))) : all;
let failed = 0;
for (const file of chosen) {
  console.log(`# ${file.replace('.bench.mjs', '')}`);
  const result = spawnSync(process.execPath, [`${dir}${file}`], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
