// PostgreSQL (issue 14): `crm report sales --by month` and `crm segment show` over 1,000,000 sales
// of 100,000 customers against the same SQL in psql (target ≤ 1.3×), then a mixed load: 8 concurrent
// clients, each running crm commands one after another for 60 s (BENCH_PG_LOAD_SECONDS), with
// operations per second and p95 latency per command. The data is made with generate_series straight
// into crm's schema (import on PostgreSQL is not needed for it). Needs a server: CRM_TEST_PG_URL
// (scripts/pg-test-server.sh) or PG* variables; without one it says so and exits 0.
import { execFileSync, spawn } from 'node:child_process';
import { benchLine, crm, median, pgServer, CRM } from './lib.mjs';
import { leastPgProgram } from './pg-least.mjs';

const RUNS = 3;
const TARGET = 1.3;
const LOAD_SECONDS = Number(process.env.BENCH_PG_LOAD_SECONDS ?? 60);
const CLIENTS = 8;

const { urlFor, psql } = pgServer('postgres-load');

const name = `crm_bench_${process.pid}`;
psql('postgres', `CREATE DATABASE ${name}`);
const db = urlFor(name);
try {
  crm(['--db', db, 'init']);
  const started = Date.now();
  psql(
    name,
    `SET search_path = crm, public;
     INSERT INTO customers (name, email, city, created_at, updated_at)
       SELECT 'Customer ' || i, 'c' || i || '@example.com', (ARRAY['Lyon','Paris','Oslo','Rome','Porto','Graz','Bern','Gent'])[1 + i % 8],
              '2019-12-01T00:00:00.000Z', '2019-12-01T00:00:00.000Z'
       FROM generate_series(1, 100000) i;
     INSERT INTO sales (customer_id, product, quantity, amount_cents, sold_on, created_at)
       SELECT 1 + (i * 7919) % 100000, 'Product ' || (i % 50), 1, 100 + (i * 31) % 20000,
              to_char(date '2020-01-01' + (i % 2191)::int, 'YYYY-MM-DD'), '2020-01-01T00:00:00.000Z'
       FROM generate_series(1::bigint, 1000000) i;
     ANALYZE;`,
  );
  console.log(`# made 100,000 customers and 1,000,000 sales with generate_series in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // report sales --by month: the same grouping as the SQLite bench's baseline.
  const range = ['--from', '2020-01-01', '--to', '2025-12-31'];
  const monthSql = `SET search_path = crm, public; SELECT substr(s.sold_on, 1, 7) AS month, count(*) AS count, sum(s.amount_cents) AS revenue, round(avg(s.amount_cents)) AS average_order
    FROM sales s WHERE s.voided_at IS NULL AND s.sold_on >= '2020-01-01' AND s.sold_on < '2026-01-01' GROUP BY month ORDER BY month`;
  const expected = new Map(psql(name, monthSql).trim().split('\n').map((l) => l.split('|')).map((c) => [c[0], Number(c[2])]));
  const reportArgs = ['--db', db, 'report', 'sales', '--by', 'month', ...range, '--format', 'csv'];
  const [table] = crm(reportArgs, { stdout: 'pipe' }).stdout.toString().split('\r\n\r\n');
  const ours = new Map(table.trim().split('\r\n').slice(1).map((l) => l.split(',')).map((c) => [c[0].replace(/^"|"$/g, ''), Math.round(Number(c[2]) * 100)]));
  for (const [key, revenue] of expected) if (ours.get(key) !== revenue) throw new Error(`report sales --by month: ${key} is ${ours.get(key)}, psql says ${revenue}`);
  const psqlArgs = (sql) => ['-X', '-q', '-At', '-d', db, '-c', sql];
  // The baselines run crm's own statements, as the server logs them (log_min_duration_statement = 0)
  // with the parameters written in: the issue asks for "the same SQL in psql". The report's adds the
  // previous period (2014-2019) and refunds, which crm prints beside the months (src/db/sales-aggregates.ts);
  // the segment's counts orders and last purchases as crm does since order lines and refunds
  // (src/db/sale-orders.ts). Until stop 35 both baselines ran simpler SQL. Each is checked against
  // the plain SQL the bench checks crm with, so a copy that drifts from what crm prints fails here.
  const crmMonthSql = `SET search_path = crm, public; SELECT 1 AS one FROM sales WHERE order_id IS NOT NULL LIMIT 1;
    SELECT sold_on AS d, sum(CASE WHEN amount_cents >= 0 THEN 1 ELSE 0 END) AS n, sum(amount_cents) AS t, sum(CASE WHEN amount_cents < 0 THEN -amount_cents ELSE 0 END) AS r, sum(CASE WHEN amount_cents >= 0 THEN 1 ELSE 0 END) AS o FROM sales
    WHERE voided_at IS NULL AND sold_on >= '2014-01-01' AND sold_on < '2026-01-01' GROUP BY sold_on`;
  const crmMonthRows = psql(name, crmMonthSql).trim().split('\n');
  const byMonth = new Map();
  for (const [day, , total] of crmMonthRows.map((l) => l.split('|'))) byMonth.set(day.slice(0, 7), (byMonth.get(day.slice(0, 7)) ?? 0) + Number(total));
  for (const [key, revenue] of expected) if (byMonth.get(key) !== revenue) throw new Error(`crm's report SQL: ${key} is ${byMonth.get(key)}, the plain SQL says ${revenue}`);
  // The least any Node program doing psql's work could take: Node's own start-up (an empty script)
  // plus what psql spends beyond its own start-up (psql --version) connecting and querying.
  const nodeStart = median(process.execPath, ['-e', ''], RUNS).seconds;
  const psqlStart = median('psql', ['--version'], RUNS).seconds;
  const floor = (name, psqlSeconds) => {
    const least = nodeStart + psqlSeconds - psqlStart;
    console.log(`# ${name} floor for a Node program: node start ${nodeStart.toFixed(3)} s + psql's work ${(psqlSeconds - psqlStart).toFixed(3)} s = ${least.toFixed(3)} s, ${(least / psqlSeconds).toFixed(2)}× psql`);
  };
  // A real Node program at that floor: pg bundled, connect, the same SQL, the rows printed (pg-least.mjs).
  const leastProgram = await leastPgProgram();
  // `rows`: how many rows psql printed for the same SQL.
  const leastNode = (label, sql, rows, psqlSeconds) => {
    const printed = execFileSync(process.execPath, [leastProgram, db, sql], { encoding: 'utf8' }).trim().split('\n').length;
    if (printed !== rows) throw new Error(`${label}: the least Node program printed ${printed} rows, psql ${rows}`);
    const m = median(process.execPath, [leastProgram, db, sql], RUNS);
    console.log(`# ${label} the least Node program with pg (connect, the same SQL, print the rows): ${m.seconds.toFixed(3)} s, ${(m.seconds / psqlSeconds).toFixed(2)}× psql`);
  };
  let baseline = median('psql', psqlArgs(crmMonthSql), RUNS);
  let measured = median(process.execPath, [CRM, ...reportArgs], RUNS);
  floor('pg-sales-report-by-month', baseline.seconds);
  leastNode('pg-sales-report-by-month', crmMonthSql, crmMonthRows.length, baseline.seconds);
  benchLine('pg-sales-report-by-month', measured.seconds, baseline.seconds, TARGET, measured.rssMb);

  // segment show: the members of a saved segment (12,500 customers of one city), as CSV.
  crm(['--db', db, 'segment', 'create', 'lyon', '--where', 'city = "Lyon"']);
  const showArgs = ['--db', db, 'segment', 'show', 'lyon', '--format', 'csv'];
  const shownLines = crm(showArgs, { stdout: 'pipe' }).stdout.toString().trim().split('\r\n');
  const shown = shownLines.length - 1;
  const spentAt = shownLines[0].split(',').indexOf('total_spent');
  const shownSpent = shownLines.slice(1).reduce((sum, line) => sum + Math.round(Number(line.split(',')[spentAt]) * 100), 0);
  // The baseline computes what `segment show` prints: each member with their spend, orders and last
  // purchase (an earlier baseline read the customers alone, leaving out the million sales).
  const segmentSql = `SET search_path = crm, public;
    SELECT c.id, c.name, c.email, c.phone, c.city, c.age, coalesce(g.spent, 0) AS spent, coalesce(g.orders, 0) AS orders, g.last AS last_purchase
    FROM customers c LEFT JOIN (
      SELECT customer_id, sum(amount_cents) AS spent, count(*) AS orders, max(sold_on) AS last FROM sales
      WHERE voided_at IS NULL AND customer_id IN (SELECT id FROM customers WHERE lower(city) = 'lyon') GROUP BY customer_id) g ON g.customer_id = c.id
    WHERE lower(c.city) = 'lyon' ORDER BY c.id`;
  const memberRows = psql(name, segmentSql).trim().split('\n');
  const members = memberRows.length;
  if (shown !== members) throw new Error(`segment show printed ${shown} rows, psql finds ${members}`);
  const spent = memberRows.reduce((sum, line) => sum + Number(line.split('|')[6]), 0);
  if (shownSpent !== spent) throw new Error(`segment show's members spent ${shownSpent} cents in all, psql says ${spent}`);
  const crmSegmentSql = `SET search_path = crm, public;
    SELECT c.id AS id, coalesce(nullif(c.name, ''), c.email, c.phone, 'ext:' || c.external_id) AS name, c.email AS email, c.phone AS phone, c.city AS city, c.age AS age, coalesce(g.total_spent, 0) AS total_spent, coalesce(g.orders, 0) AS orders, g.last_purchase AS last_purchase
    FROM customers c LEFT JOIN (
      SELECT sl.customer_id AS id, sum(sl.amount_cents) AS total_spent, (count(DISTINCT CASE WHEN sl.amount_cents >= 0 THEN sl.order_id END) + coalesce(sum(CASE WHEN sl.order_id IS NULL AND sl.amount_cents >= 0 THEN 1 ELSE 0 END), 0)) AS orders, max(CASE WHEN sl.amount_cents >= 0 THEN sl.sold_on END) AS last_purchase
      FROM sales sl
      WHERE sl.voided_at IS NULL AND sl.customer_id IN (SELECT m.id FROM customers m WHERE lower("m"."city") = 'lyon' AND TRUE)
      GROUP BY sl.customer_id) g ON g.id = c.id
    WHERE lower("c"."city") = 'lyon' AND TRUE ORDER BY c.id`;
  const crmSegmentRows = psql(name, crmSegmentSql).trim().split('\n');
  if (crmSegmentRows.join('\n') !== memberRows.join('\n')) throw new Error("crm's segment SQL prints other rows than the plain SQL");
  baseline = median('psql', ['--csv', ...psqlArgs(crmSegmentSql)], RUNS);
  measured = median(process.execPath, [CRM, ...showArgs], RUNS);
  floor('pg-segment-show', baseline.seconds);
  leastNode('pg-segment-show', crmSegmentSql, crmSegmentRows.length, baseline.seconds);
  benchLine('pg-segment-show', measured.seconds, baseline.seconds, TARGET, measured.rssMb);

  // Mixed load: 8 clients, each one crm process after another.
  crm(['--db', db, 'customer', 'add', '--name', 'Load Shared', '--email', 'load@example.com']);
  const ticket = crm(['--db', db, 'ticket', 'open', '--customer', 'load@example.com', '--subject', 'Load'], { stdout: 'pipe' }).stdout.toString().trim();
  psql(name, `SET search_path = crm, public; INSERT INTO deals (customer_id, title, value_cents, stage, created_at, updated_at)
    SELECT 1 + i % 100000, 'Deal ' || i, 1000, 'proposal', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z' FROM generate_series(1, 5000) i`);
  const deadline = Date.now() + LOAD_SECONDS * 1000;
  const latencies = new Map();
  let failures = 0;
  let dealNext = 1;
  const commands = [
    ['customer add', (c, i) => ['customer', 'add', '--name', `L${c}-${i}`, '--email', `l${c}-${i}@example.com`]],
    ['sale record', (c, i) => ['sale', 'record', '--customer', 'load@example.com', '--amount', '12.50', '--product', `L${c}-${i}`]],
    ['deal move', () => ['deal', 'move', String(dealNext++), 'won']],
    ['ticket update', (c, i) => ['ticket', 'update', ticket, '--comment', `L${c}-${i}`]],
    ['customer edit', (c, i) => ['customer', 'edit', '1', c % 2 ? '--city' : '--company', `L${c}-${i}`]],
    ['report sales', () => ['report', 'sales', '--by', 'month', ...range, '--format', 'csv']],
  ];
  const run = (args) =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(process.execPath, [CRM, '--db', db, ...args], { stdio: 'ignore' });
      child.on('close', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
  const client = async (c) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const [command, args] = commands[(c + i) % commands.length];
      const { code, ms } = await run(args(c, i));
      if (code !== 0) failures++;
      else latencies.set(command, [...(latencies.get(command) ?? []), ms]);
    }
  };
  const loadStart = Date.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  const elapsed = (Date.now() - loadStart) / 1000;
  let total = 0;
  for (const [command, times] of latencies) {
    times.sort((a, b) => a - b);
    total += times.length;
    const p95 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)];
    console.log(`LOAD pg-mixed ${command.replace(' ', '-')} ops=${times.length} ops_per_s=${(times.length / elapsed).toFixed(2)} p50_ms=${times[Math.floor(times.length / 2)].toFixed(0)} p95_ms=${p95.toFixed(0)}`);
  }
  console.log(`LOAD pg-mixed all clients=${CLIENTS} seconds=${elapsed.toFixed(1)} ops=${total} ops_per_s=${(total / elapsed).toFixed(2)} failures=${failures}`);
  if (failures > 0) process.exitCode = 1;
} finally {
  psql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
