// `npm run bench [-- NAME…]`: runs every test/bench/*.bench.mjs (or the named ones) in turn.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.mjs')).sort();
const chosen = wanted.length ? all.filter((f) => wanted.includes(f.replace('.bench.mjs', ''))) : all;
if (wanted.length && chosen.length !== wanted.length) {
  console.error(`unknown benchmark; available: ${all.map((f) => f.replace('.bench.mjs', '')).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const file of chosen) {
  console.log(`# ${file.replace('.bench.mjs', '')}`);
  const result = spawnSync(process.execPath, [`${dir}${file}`], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
