// A shop's data as it comes (issue 16): 1M order lines with order_id, sku and unit_price, customers
// named by the shop's number, against today's 1M-sales import with external_id (customers by email),
// both into the same 1M customers, in the same run. Target: ≤ 1.2×.
// Then changes flow back: after 1% of those 1M sales changed (half edited by an import with
// --on-duplicate update, half new), `export sales --changed-since CURSOR` against the full export
// of the same database. Target: ≤ 5%.
// BENCH_ROWS=20000 npm run bench -- shop   runs it small.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { customersCsv, orderLinesCsv, salesCsv } from './fixtures.mjs';
import { benchLine, cpuLine, crm, DATA, ensureSqlite3, ROOT } from './lib.mjs';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
ensureSqlite3();
const customers = await customersCsv(N, 1, { externalIds: true });
const sales = await salesCsv(N, N);
const lines = await orderLinesCsv(N, N);

const fresh = (path) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return path;
};

// One database with the customers (their emails and shop numbers), copied for each side.
const seeded = fresh(`${DATA}shop-customers-${N}.db`);
execFileSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', seeded, 'init'], { stdio: 'ignore' });
execFileSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', seeded, 'import', 'customers', customers], { stdio: 'ignore' });
execFileSync('sqlite3', [seeded, 'PRAGMA wal_checkpoint(TRUNCATE);']);
const copy = (name) => {
  const path = fresh(`${DATA}${name}`);
  copyFileSync(seeded, path);
  return path;
};

const baseDb = copy('shop-base.db');
const base = crm(['--db', baseDb, 'import', 'sales', sales]);
const oursDb = copy('shop-ours.db');
const ours = crm(['--db', oursDb, 'import', 'sales', lines, '--customer-key', 'external_id']);
const count = spawnSync('sqlite3', [oursDb, "SELECT count(*) || ' lines in ' || count(DISTINCT order_id) || ' orders' FROM sales"], { encoding: 'utf8' });
console.log(`# order lines imported: ${count.stdout.trim()}`);
benchLine('shop-order-lines', ours.seconds, base.seconds, 1.2, ours.rssMb);

// The cursor a nightly job kept from its last run (any export prints it; deals is the quickest).
const cursorRun = spawnSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', baseDb, 'export', 'deals'], { encoding: 'utf8' });
const cursor = /^cursor: (\S+)$/m.exec(cursorRun.stderr)?.[1];
if (!cursor) throw new Error(`no cursor from crm export: ${cursorRun.stderr}`);
// 1% of the sales change: every 200th has a new amount, and as many new sales arrive.
const [header, ...rows] = readFileSync(sales, 'utf8').trimEnd().split('\n');
const changedRows = [];
for (let i = 0; i < rows.length; i += 200) {
  const cells = rows[i].split(',');
  cells[4] = (Number(cells[4]) + 1).toFixed(2);
  changedRows.push(cells.join(','));
  cells[0] = `NEW-${cells[0]}`;
  changedRows.push(cells.join(','));
}
const changes = `${DATA}shop-changes-${N}.csv`;
writeFileSync(changes, `${header}\n${changedRows.join('\n')}\n`);
execFileSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', baseDb, 'import', 'sales', changes, '--on-duplicate', 'update'], { stdio: 'ignore' });
const full = crm(['--db', baseDb, 'export', 'sales']);
// The change export takes a second or so, most of it start-up: the median of three runs.
const runs = [0, 1, 2].map(() => crm(['--db', baseDb, 'export', 'sales', '--changed-since', cursor], { stdout: 'pipe' })).sort((a, b) => a.seconds - b.seconds);
const incremental = runs[1];
const exported = incremental.stdout.toString().trimEnd().split('\n').length - 1;
console.log(`# changed rows exported: ${exported} of ${rows.length + changedRows.length / 2} (${changedRows.length} changed)`);
if (exported !== changedRows.length) throw new Error(`expected ${changedRows.length} changed rows, got ${exported}`);
cpuLine('shop-export-changes', incremental, full);
benchLine('shop-export-changes', incremental.seconds, full.seconds, 0.05, incremental.rssMb);
for (const path of [seeded, baseDb, oursDb, changes]) fresh(path);
