// The PostgreSQL pass of `npm test`: runs the CLI test files again with every sandbox on PostgreSQL
// (CRM_TEST_BACKEND=postgres), against the server named by CRM_TEST_PG_URL (scripts/pg-test-server.sh).
// Files listed in test/postgres-pending.txt do not pass on PostgreSQL yet and are left out, by name,
// so the gap stays visible; every other file under test/cli runs, new ones included.
// Without a server it says so and exits 0: the SQLite pass is the whole suite on a machine without one.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

if (!process.env.CRM_TEST_PG_URL) {
  console.log('PostgreSQL pass skipped: no test server (start one with: eval "$(scripts/pg-test-server.sh start)")');
  process.exit(0);
}
const pending = new Set(
  readFileSync('test/postgres-pending.txt', 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean),
);
const all = readdirSync('test/cli').filter((f) => f.endsWith('.test.ts')).map((f) => `test/cli/${f}`);
for (const file of pending) if (!all.includes(file)) throw new Error(`test/postgres-pending.txt names ${file}, which does not exist`);
const files = all.filter((f) => !pending.has(f));
console.log(`PostgreSQL pass: ${files.length} CLI test files (${pending.size} pending, see test/postgres-pending.txt)`);
const result = spawnSync('npx', ['vitest', 'run', ...files], { stdio: 'inherit', env: { ...process.env, CRM_TEST_BACKEND: 'postgres' } });
process.exit(result.status ?? 1);
