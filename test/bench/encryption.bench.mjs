// Encryption at rest (issue 18): the same work on an encrypted database against a plain one, in
// the same run. `import customers` (1,000,000 rows) within 1.3×, `report sales --by month` over
// 1,000,000 sales within 1.2×, and `crm --version` unchanged when a key is configured.
// BENCH_ROWS=20000 npm run bench -- encryption   runs the import small.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { benchDatabase, customersCsv } from './fixtures.mjs';
import { benchLine, cpuLine, crm, CRM, DATA, median } from './lib.mjs';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = 5;
const key = `${DATA}bench.key`;
writeFileSync(key, 'a benchmark passphrase, long enough\n', { mode: 0o600 });
const keyed = { CRM_KEY_FILE: key };

const fresh = (path) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return path;
};

// --- import customers: a new plain database against a new encrypted one (created under the key).
const customers = await customersCsv(N);
const plainDb = fresh(`${DATA}encryption-plain.db`);
const encryptedDb = fresh(`${DATA}encryption-encrypted.db`);
execFileSync(process.execPath, [CRM, '--db', plainDb, 'init'], { stdio: 'ignore' });
execFileSync(process.execPath, [CRM, '--db', encryptedDb, 'init'], { stdio: 'ignore', env: { ...process.env, ...keyed } });
const importPlain = crm(['--db', plainDb, 'import', 'customers', customers]);
const importEncrypted = crm(['--db', encryptedDb, 'import', 'customers', customers], { env: keyed });
cpuLine('encryption-import-customers', importEncrypted, importPlain);
benchLine('encryption-import-customers', importEncrypted.seconds, importPlain.seconds, 1.3, importEncrypted.rssMb);
fresh(plainDb);
fresh(encryptedDb);

// --- report sales --by month over 1,000,000 sales: the cached plain fixture and an encrypted copy.
const salesPlain = benchDatabase({ customers: 100_000, sales: 1_000_000 });
const salesEncrypted = fresh(`${DATA}encryption-sales.db`);
copyFileSync(salesPlain, salesEncrypted);
execFileSync(process.execPath, [CRM, '--db', salesEncrypted, 'db', 'encrypt'], { stdio: 'ignore', env: { ...process.env, ...keyed } });
const report = (db) => ['--db', db, 'report', 'sales', '--by', 'month', '--from', '2020-01-01', '--to', '2025-12-31', '--format', 'csv'];
const plainOut = crm(report(salesPlain), { stdout: 'pipe' }).stdout.toString();
const encryptedOut = crm(report(salesEncrypted), { stdout: 'pipe', env: keyed }).stdout.toString();
if (plainOut !== encryptedOut) throw new Error('report sales differs between the plain and the encrypted copy');
const reportPlain = median(process.execPath, [CRM, ...report(salesPlain)], RUNS);
const reportEncrypted = median(process.execPath, [CRM, ...report(salesEncrypted)], RUNS, { env: keyed });
benchLine('encryption-report-sales-by-month', reportEncrypted.seconds, reportPlain.seconds, 1.2, reportEncrypted.rssMb);

// --- start-up: `crm --version` with a key configured opens nothing, so it must not change; a small
// `customer list` shows the price of opening an encrypted file (the key derivation), for the record.
const versionPlain = median(process.execPath, [CRM, '--version'], 15);
const versionKeyed = median(process.execPath, [CRM, '--version'], 15, { env: keyed });
benchLine('encryption-startup-version', versionKeyed.seconds, versionPlain.seconds, 1.1, versionKeyed.rssMb);
const list = (db) => [CRM, '--db', db, 'customer', 'list', '--limit', '20', '--format', 'csv'];
const listPlain = median(process.execPath, list(salesPlain), RUNS);
const listEncrypted = median(process.execPath, list(salesEncrypted), RUNS, { env: keyed });
// The same under a raw key (64 hex characters: no key derivation), the README's recommended key.
const rawKey = `${DATA}bench-raw.key`;
writeFileSync(rawKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
execFileSync(process.execPath, [CRM, '--db', salesEncrypted, 'db', 'rekey', '--new-key-file', rawKey], { stdio: 'ignore', env: { ...process.env, ...keyed } });
const listRaw = median(process.execPath, list(salesEncrypted), RUNS, { env: { CRM_KEY_FILE: rawKey } });
console.log(`# customer list --limit 20: plain ${listPlain.seconds.toFixed(3)} s, encrypted ${listEncrypted.seconds.toFixed(3)} s (passphrase), ${listRaw.seconds.toFixed(3)} s (raw key)`);
fresh(salesEncrypted);
