// Import (issue 7): `crm import customers` and `crm import sales` on 1,000,000 generated rows against
// the sqlite3 shell doing the same work, and the two CSV parsers the design chose between.
// BENCH_ROWS=20000 npm run bench -- import   runs it small; BENCH_IMPORT_ROUNDS (default 2) and
// BENCH_IMPORT_MAX_ROUNDS (default 4) bound the turns each side of the issue 19 comparisons takes
// (the fastest counts; see fastest).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { customersCsv, salesCsv } from './fixtures.mjs';
import { benchLine, cpuLine, crm, DATA, ensureSqlite3, measure, ROOT } from './lib.mjs';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
ensureSqlite3();
const customers = await customersCsv(N);
const tagged = await customersCsv(N, 1, { tags: 'every' });
const sales = await salesCsv(N, N);
const salesWithoutIds = await salesCsv(N, N, 2, { externalId: false });

const fresh = (path) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return path;
};

/**
 * Runs each measurement in turns and keeps the fastest run of each. Other work on this machine only
 * ever adds time: its speed changes over stretches of tens of seconds (the same import took 13 s and
 * 20 s of user CPU), and a slow stretch during one side of a single pair moved the issue 19 ratios by
 * up to 50% from run to run (import-sales-without-external-id: 0.90 to 1.70). So it takes ROUNDS
 * turns, then more (up to MAX_ROUNDS) while any side's fastest run is not yet confirmed by a second
 * one within 10% of it: a rule about the machine's noise, never about the ratio.
 */
const ROUNDS = Number(process.env.BENCH_IMPORT_ROUNDS ?? 2);
const MAX_ROUNDS = Math.max(ROUNDS, Number(process.env.BENCH_IMPORT_MAX_ROUNDS ?? 4));
const AGREE = 1.1;
function fastest(label, ...runs) {
  const seen = runs.map(() => []);
  const confirmed = () => seen.every((times) => {
    const [a, b] = times.map((m) => m.seconds).sort((x, y) => x - y);
    return b !== undefined && b <= a * AGREE;
  });
  let round = 0;
  while (round < ROUNDS || (round < MAX_ROUNDS && !confirmed())) {
    runs.forEach((run, i) => seen[i].push(run()));
    round++;
  }
  const turns = seen.map((times) => times.map((m) => m.seconds.toFixed(2)).join(' ')).join(' | ');
  console.log(`# ${label}: ${round} turns (${turns} s)${confirmed() ? '' : ', the fastest not confirmed within 10%'}`);
  return seen.map((times) => times.reduce((best, m) => (m.seconds < best.seconds ? m : best)));
}
const init = (path) => execFileSync(process.execPath, [`${ROOT}bin/crm.js`, '--db', fresh(path), 'init'], { stdio: 'ignore' });

// --- customers: crm vs the sqlite3 shell filling crm's own schema (issue 19's baseline).
const ours = `${DATA}import-ours.db`;
const same = `${DATA}import-same-schema.db`;
const now = new Date().toISOString();
/** The customers file as the shell reads it: every cell text, in the file's columns. */
const CUSTOMERS_STAGING = `CREATE TEMP TABLE staging (name TEXT, email TEXT, phone TEXT, age TEXT, gender TEXT, company TEXT, city TEXT, source TEXT, tags TEXT, created TEXT);
.mode csv
.import --skip 1 ${customers} staging`;
// The sqlite3 shell putting the same rows into crm's own schema, as crm does: its columns, the
// unique email index, each row's tags (split on ';') as links in customer_tags, and the city/age,
// name, phone and tag indexes rebuilt after the rows; the new customers marked fresh for the change
// triggers while it writes (src/db/change-log.ts). Without crm's validation or audit trail.
// Until stop 35 it left out the tag links (751,226 in this file), which crm wrote and the shell did not.
const tagValues = (cell) => `json_each('["' || replace(${cell}, ';', '","') || '"]')`;
const sameSchemaRun = () => {
  init(same);
  return measure('sqlite3', [same], {
    input: `PRAGMA cache_size = -32768;
${CUSTOMERS_STAGING}
BEGIN;
DROP INDEX customers_city_age; DROP INDEX customers_name; DROP INDEX customers_phone_digits; DROP INDEX customer_tags_tag;
CREATE TEMP TABLE first AS SELECT coalesce(max(id), 0) + 1 AS id FROM customers;
INSERT INTO change_fresh_rows (table_name, first_id) SELECT 'customers', id FROM first;
INSERT INTO customers (name, email, phone, phone_digits, age, gender, company, city, source, created_at, updated_at)
  SELECT name, nullif(email, ''), nullif(phone, ''), nullif(replace(replace(replace(phone, '+', ''), ' ', ''), '-', ''), ''),
         CAST(nullif(age, '') AS INTEGER), nullif(gender, ''), nullif(company, ''), nullif(city, ''), nullif(source, ''),
         coalesce(nullif(created, '') || 'T00:00:00.000Z', '${now}'), '${now}' FROM staging ORDER BY rowid;
INSERT OR IGNORE INTO tags (name) SELECT DISTINCT trim(j.value) FROM (SELECT DISTINCT tags FROM staging WHERE tags <> '') s, ${tagValues('s.tags')} j;
INSERT OR IGNORE INTO customer_tags (customer_id, tag_id)
  SELECT s.rowid - 1 + f.id, t.id FROM first f, staging s, ${tagValues('s.tags')} j JOIN tags t ON t.name = trim(j.value)
  WHERE s.tags <> '' ORDER BY s.rowid;
CREATE INDEX customers_city_age ON customers (city COLLATE NOCASE, age);
CREATE INDEX customers_name ON customers (name COLLATE NOCASE);
CREATE INDEX customers_phone_digits ON customers (phone_digits) WHERE phone_digits IS NOT NULL;
CREATE INDEX customer_tags_tag ON customer_tags (tag_id, customer_id);
DELETE FROM change_fresh_rows;
COMMIT;
`,
  });
};
// The same customers with a tag on every row (issue 19 measured +15%) take turns with them.
const taggedDb = `${DATA}import-tagged.db`;
const [crmCustomers, sameSchema, crmTagged] = fastest(
  'customers: crm | sqlite3 into crm\'s schema | crm, tagged',
  () => {
    init(ours);
    return crm(['--db', ours, 'import', 'customers', customers]);
  },
  sameSchemaRun,
  () => {
    init(taggedDb);
    return crm(['--db', taggedDb, 'import', 'customers', tagged]);
  },
);
fresh(taggedDb);
// Both wrote the same customers and the same tag links (a count, and a sum over ids and tag names).
const countsOf = (path) => execFileSync('sqlite3', [path, 'SELECT (SELECT count(*) FROM customers) || \' \' || (SELECT count(*) FROM customer_tags) || \' \' || (SELECT sum(ct.customer_id * (unicode(t.name) + length(t.name))) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id) || \' \' || (SELECT count(*) FROM row_changes)'], { encoding: 'utf8' }).trim();
const [oursCounts, sameCounts] = [countsOf(ours), countsOf(same)];
if (oursCounts !== sameCounts) throw new Error(`customers, tag links, changes: crm wrote ${oursCounts}, the sqlite3 shell ${sameCounts}`);
console.log(`# customers, tag links, their checksum and recorded changes, the same in both databases: ${oursCounts}`);
// The customers as crm imported them, for each sales import to start from.
const withCustomers = `${DATA}import-with-customers.db`;
execFileSync('sqlite3', [ours, `VACUUM INTO '${fresh(withCustomers)}'`]);
// For scale, the issue 7 baseline: `.import` into a bare table with a UNIQUE email index, WAL on.
const base = fresh(`${DATA}import-base.db`);
const baseCustomers = measure('sqlite3', [base], {
  input: `PRAGMA journal_mode = WAL;
CREATE TABLE customers (name TEXT, email TEXT, phone TEXT, age TEXT, gender TEXT, company TEXT, city TEXT, source TEXT, tags TEXT, created TEXT);
CREATE UNIQUE INDEX customers_email ON customers (email);
.mode csv
.import --skip 1 ${customers} customers
`,
});
cpuLine('import-customers', crmCustomers, baseCustomers);

console.log(
  `# sqlite3 into crm's schema (same rows, tag links and indexes, no validation or audit): ${sameSchema.seconds.toFixed(3)} s; crm / that = ${(crmCustomers.seconds / sameSchema.seconds).toFixed(2)}`,
);
// Issue 19: the sqlite3 shell filling crm's own schema is the baseline, target ≤ 1.2×.
benchLine('import-customers', crmCustomers.seconds, sameSchema.seconds, 1.2, crmCustomers.rssMb);
console.log(`# against the sqlite3 shell into a bare table (the issue 7 baseline): ${(crmCustomers.seconds / baseCustomers.seconds).toFixed(2)}`);

// With a tag on every row, against the file as it is.
benchLine('import-customers-tag-every-row', crmTagged.seconds, crmCustomers.seconds, 1.15, crmTagged.rssMb);

// A nightly job importing the same export again: every row is a customer already there, so nothing
// is written. crm looks each one up and skips it; the sqlite3 shell reads the file into a staging
// table and inserts the rows whose email is new (none), as crm's schema refuses a second email.
const crmCustomersAgain = crm(['--db', ours, 'import', 'customers', customers]);
const shellCustomersAgain = measure('sqlite3', [same], {
  input: `PRAGMA cache_size = -32768;
${CUSTOMERS_STAGING}
INSERT INTO customers (name, email, phone, age, gender, company, city, source, created_at, updated_at)
  SELECT name, nullif(email, ''), nullif(phone, ''), CAST(nullif(age, '') AS INTEGER), nullif(gender, ''), nullif(company, ''),
         nullif(city, ''), nullif(source, ''), '${now}', '${now}' FROM staging WHERE true ON CONFLICT DO NOTHING;
`,
});
const againCounts = [countsOf(ours), countsOf(same)];
if (againCounts.some((counts) => counts !== oursCounts)) throw new Error(`an import of the same customers again changed them: ${againCounts.join(', ')} (was ${oursCounts})`);
benchLine('import-customers-again', crmCustomersAgain.seconds, shellCustomersAgain.seconds, 1.5, crmCustomersAgain.rssMb);
fresh(same);

// --- sales: crm resolving each customer by email vs sqlite3 importing into a staging table and joining.
/** The shell's sales import: the file staged, then inserted with each row's customer joined, `tail` after the join. */
const shellSales = (tail) => `CREATE TEMP TABLE staging (external_id TEXT, customer TEXT, product TEXT, quantity TEXT, amount TEXT, date TEXT, note TEXT);
.mode csv
.import --skip 1 ${sales} staging
INSERT INTO sales (customer_id, product, quantity, amount_cents, sold_on, note, external_id)
  SELECT c.rowid, s.product, CAST(s.quantity AS INTEGER), CAST(round(s.amount * 100) AS INTEGER), s.date, nullif(s.note, ''), s.external_id
  FROM staging s JOIN customers c ON c.email = s.customer${tail};
`;
const crmSales = crm(['--db', ours, 'import', 'sales', sales]);
const baseSales = measure('sqlite3', [base], {
  input: `CREATE TABLE sales (id INTEGER PRIMARY KEY, customer_id INTEGER, product TEXT, quantity INTEGER, amount_cents INTEGER, sold_on TEXT, note TEXT, external_id TEXT UNIQUE);
${shellSales('')}`,
});
cpuLine('import-sales', crmSales, baseSales);
benchLine('import-sales', crmSales.seconds, baseSales.seconds, 2, crmSales.rssMb);

// The same sales again: crm finds each by its external id and skips it; the shell stages the file and
// inserts the sales whose external id is new (none), with their customers joined as before. Target 2,
// as for the first import against the same kind of baseline: crm still checks every row's customer.
const salesCount = (path) => execFileSync('sqlite3', [path, 'SELECT count(*) FROM sales'], { encoding: 'utf8' }).trim();
const salesBefore = [salesCount(ours), salesCount(base)];
const crmSalesAgain = crm(['--db', ours, 'import', 'sales', sales]);
const shellSalesAgain = measure('sqlite3', [base], { input: shellSales(' WHERE true ON CONFLICT DO NOTHING') });
const salesAfter = [salesCount(ours), salesCount(base)];
if (salesAfter.join() !== salesBefore.join()) throw new Error(`an import of the same sales again changed them: ${salesAfter.join(', ')} (was ${salesBefore.join(', ')})`);
benchLine('import-sales-again', crmSalesAgain.seconds, shellSalesAgain.seconds, 2, crmSalesAgain.rssMb);

// The same sales without external_id (known by their content), into the same customers: issue 19
// asks for ≤ 1.2× the import with external ids just measured.
// Each run into a fresh copy of the customers, taking turns (see fastest).
const withIds = `${DATA}import-ids.db`;
const noIds = `${DATA}import-no-ids.db`;
const salesInto = (path, file) => {
  copyFileSync(withCustomers, fresh(path));
  return crm(['--db', path, 'import', 'sales', file]);
};
const [crmSalesWithIds, crmSalesNoIds] = fastest(
  'sales: with external ids | without',
  () => salesInto(withIds, sales),
  () => salesInto(noIds, salesWithoutIds),
);
benchLine('import-sales-without-external-id', crmSalesNoIds.seconds, crmSalesWithIds.seconds, 1.2, crmSalesNoIds.rssMb);
for (const path of [withIds, noIds, withCustomers]) fresh(path);

const check = spawnSync('sqlite3', [ours, 'SELECT (SELECT count(*) FROM customers) || \' \' || (SELECT count(*) FROM sales)'], { encoding: 'utf8' });
console.log(`# rows in crm's database (customers sales): ${check.stdout.trim()}`);

// --- the parser decision: parse the customers file alone with each candidate, in-process.
const require = createRequire(`${ROOT}package.json`);
const { createReadStream } = await import('node:fs');
async function timeParse(name, parseFile) {
  const start = process.hrtime.bigint();
  const rows = await parseFile();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`# parser ${name}: ${rows} records in ${seconds.toFixed(2)} s`);
  return seconds;
}
const papa = await timeParse('papaparse (core Parser, as crm drives it)', async () => {
  const Papa = require('papaparse');
  const parser = new Papa.Parser({ delimiter: ',', newline: '\n' });
  let rows = 0;
  let tail = '';
  for await (const chunk of createReadStream(customers, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = tail + chunk;
    const result = parser.parse(text, 0, true);
    rows += result.data.length;
    tail = text.slice(result.meta.cursor);
  }
  return rows + parser.parse(tail, 0, false).data.length;
});
const csvParse = await timeParse('csv-parse (stream)', async () => {
  const { parse } = require('csv-parse');
  let rows = 0;
  for await (const _ of createReadStream(customers).pipe(parse({ relax_column_count: true }))) rows++;
  return rows;
});
console.log(`# csv-parse / papaparse = ${(csvParse / papa).toFixed(1)}x`);
