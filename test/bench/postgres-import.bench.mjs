// PostgreSQL (issue 14): `crm import customers` and `crm import sales` into a PostgreSQL database
// against psql doing the same load: `\copy` into crm's own schema (indexes and the change log's
// triggers in place) for customers, and `\copy` into a staging table plus `INSERT … SELECT` joining
// customers by email for sales. Targets ≤ 1.5×, peak RSS ≤ 300 MB. Rows: BENCH_PG_IMPORT_ROWS
// (default 1,000,000). Each side loads into a database of its own, freshly made by `crm init`.
// Needs a server: CRM_TEST_PG_URL (scripts/pg-test-server.sh); without one it says so and exits 0.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { benchLine, cpuLine, crm, DATA, measure, pgServer } from './lib.mjs';

const ROWS = Number(process.env.BENCH_PG_IMPORT_ROWS ?? 1_000_000);
const TARGET = 1.5;
const { urlFor, psql } = pgServer('postgres-import');

async function write(path, header, line) {
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 1; i <= ROWS; i++) {
    if (!out.write(`${line(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const CITIES = ['Lyon', 'Paris', 'Oslo', 'Rome', 'Porto', 'Graz', 'Bern', 'Gent'];
const STAMP = '2025-01-01T00:00:00.000Z';
const files = {
  customers: join(DATA, `pg-customers-${ROWS}.csv`),
  customersPlain: join(DATA, `pg-customers-${ROWS}-psql.csv`),
  sales: join(DATA, `pg-sales-${ROWS}.csv`),
};
await write(files.customers, 'name,email,city', (i) => `Customer ${i},c${i}@example.com,${CITIES[i % 8]}`);
await write(files.customersPlain, 'name,email,city,created_at,updated_at', (i) => `Customer ${i},c${i}@example.com,${CITIES[i % 8]},${STAMP},${STAMP}`);
await write(files.sales, 'customer,product,amount,date', (i) => `c${1 + ((i * 7919) % ROWS)}@example.com,Product ${i % 50},${(100 + ((i * 31) % 20000)) / 100},2024-${String(1 + (i % 12)).padStart(2, '0')}-15`);

const made = [];
function database(label) {
  const name = `crm_bench_${label}_${process.pid}`;
  psql('postgres', `CREATE DATABASE ${name}`);
  made.push(name);
  crm(['--db', urlFor(name), 'init']);
  return name;
}
const count = (name, table) => Number(psql(name, `SELECT count(*) FROM crm.${table}`).trim());
const env = { CRM_NOW: STAMP };

try {
  // Customers.
  const ours = database('ours');
  const oursRun = crm(['--db', urlFor(ours), 'import', 'customers', files.customers], { env });
  if (count(ours, 'customers') !== ROWS) throw new Error(`crm imported ${count(ours, 'customers')} customers, not ${ROWS}`);
  const theirs = database('psql');
  const copy = `\\copy crm.customers (name, email, city, created_at, updated_at) FROM '${files.customersPlain}' CSV HEADER`;
  const baseRun = measure('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', urlFor(theirs), '-c', copy]);
  if (count(theirs, 'customers') !== ROWS) throw new Error('psql loaded the wrong number of customers');
  cpuLine('pg-import-customers', oursRun, baseRun);

  // Sales, each naming its customer by email (into the databases that hold those customers).
  const oursSales = crm(['--db', urlFor(ours), 'import', 'sales', files.sales], { env });
  if (count(ours, 'sales') !== ROWS) throw new Error(`crm imported ${count(ours, 'sales')} sales, not ${ROWS}`);
  const staged = `CREATE TEMP TABLE staging (customer text, product text, amount numeric, date text);
\\copy staging FROM '${files.sales}' CSV HEADER
INSERT INTO crm.sales (customer_id, product, quantity, amount_cents, sold_on, created_at)
  SELECT c.id, s.product, 1, round(s.amount * 100), s.date, '${STAMP}' FROM staging s JOIN crm.customers c ON c.email = s.customer;
`;
  const baseSales = measure('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', urlFor(theirs)], { input: staged });
  if (count(theirs, 'sales') !== ROWS) throw new Error('psql loaded the wrong number of sales');
  const money = (name) => psql(name, 'SELECT sum(amount_cents) FROM crm.sales').trim();
  if (money(ours) !== money(theirs)) throw new Error(`sales total: crm ${money(ours)}, psql ${money(theirs)}`);
  cpuLine('pg-import-sales', oursSales, baseSales);

  benchLine('pg-import-customers', oursRun.seconds, baseRun.seconds, TARGET, oursRun.rssMb);
  benchLine('pg-import-sales', oursSales.seconds, baseSales.seconds, TARGET, oursSales.rssMb);
} finally {
  for (const name of made) psql('postgres', `DROP DATABASE IF EXISTS ${name}`);
}
