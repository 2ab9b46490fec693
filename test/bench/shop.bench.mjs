// A shop's data as it comes (issue 16): 1M order lines with order_id, sku and unit_price, customers
// named by the shop's number, against today's 1M-sales import with external_id (customers by email),
// both into the same 1M customers, in the same run. Target: ≤ 1.2×.
// BENCH_ROWS=20000 npm run bench -- shop   runs it small.
import { copyFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { customersCsv, orderLinesCsv, salesCsv } from './fixtures.mjs';
import { benchLine, crm, DATA, ensureSqlite3, ROOT } from './lib.mjs';

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
for (const path of [seeded, baseDb, oursDb]) fresh(path);
