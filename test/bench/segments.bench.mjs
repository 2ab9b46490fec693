// Segments (issue 6): `segment show` of a three-condition segment (CSV) and `segment rfm` on 1M
// customers and 1M sales, each against the sqlite3 shell running equivalent hand-written SQL on the
// same file. The segment is created once on a copy of the fixture, so the fixture stays pristine.
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { benchDatabase } from './fixtures.mjs';
import { benchLine, CRM, DATA, ensureSqlite3, median } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
ensureSqlite3();
const fixture = benchDatabase({ customers: 1_000_000, sales: 1_000_000 });
const db = `${DATA}segments-bench.db`;
for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
copyFileSync(fixture, db);
const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
execFileSync(process.execPath, [CRM, '--db', db, 'segment', 'create', 'bench', '--where', 'city in ("Shanghai","Hangzhou") and age between 25 and 40 and total_spent > 1000'], { env: { ...process.env, ...env }, stdio: 'ignore' });

// The same members and columns, written by hand as a person would at the sqlite3 prompt. crm runs
// the same shape (customers joined once to their live sales, grouped, the spend condition in
// HAVING), plus a UNION ALL part for customers without purchases that SQLite skips here because
// its condition (0 > 100000) is constant and false.
const showSql = `
SELECT c.id, c.name, c.email, c.phone, c.city, c.age, printf('%.2f', sum(s.amount_cents) / 100.0) AS total_spent,
       count(*) AS orders, max(s.sold_on) AS last_purchase
FROM customers c JOIN sales s ON s.customer_id = c.id AND s.voided_at IS NULL
WHERE c.city IN ('Shanghai', 'Hangzhou') AND c.age BETWEEN 25 AND 40
GROUP BY c.id HAVING sum(s.amount_cents) > 100000 ORDER BY c.id;`;

const ours = median(process.execPath, [CRM, '--db', db, 'segment', 'show', 'bench', '--format', 'csv'], RUNS, { env });
const base = median('sqlite3', ['-csv', '-header', db, showSql], RUNS);
const oursRows = execFileSync(process.execPath, [CRM, '--db', db, 'segment', 'show', 'bench', '--format', 'csv'], { env: { ...process.env, ...env }, maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n').length;
const baseRows = execFileSync('sqlite3', ['-csv', '-header', db, showSql], { maxBuffer: 1 << 28 }).toString().trim().split('\n').length;
if (oursRows !== baseRows) throw new Error(`segment show printed ${oursRows} lines, sqlite3 ${baseRows}`);
benchLine('segment-show-csv', ours.seconds, base.seconds, 1.5, ours.rssMb);

// RFM: quintile scores by rank and the same group rules, grouped with sizes and revenue, as one
// SQL statement. The primary baseline reads the aggregate from the covering index by customer, as
// crm does (pinned with INDEXED BY); the second line is the same query without the hint, as most people would write it. crm
// itself reads the aggregate into arrays and computes the quintile cut points and groups in
// JavaScript (the three rank() windows cost more than everything else together); a SQL form of
// those cut points (row_number() per measure) was slower in the shell than the rank form.
const rfmSql = (hint) => `
WITH agg AS (
  SELECT customer_id, max(sold_on) AS last_day, count(*) AS orders, sum(amount_cents) AS spent
  FROM sales ${hint} WHERE voided_at IS NULL AND customer_id IS NOT NULL GROUP BY customer_id),
total AS (SELECT count(*) AS n FROM agg),
scored AS (
  SELECT spent,
    1 + (rank() OVER (ORDER BY last_day) - 1) * 5 / total.n AS r,
    1 + (rank() OVER (ORDER BY orders) - 1) * 5 / total.n AS f,
    1 + (rank() OVER (ORDER BY spent) - 1) * 5 / total.n AS m
  FROM agg, total)
SELECT CASE WHEN r >= 4 AND f + m >= 8 THEN 'champions' WHEN r >= 3 AND f + m >= 6 THEN 'loyal'
            WHEN r >= 4 AND f = 1 THEN 'new' WHEN r >= 3 THEN 'potential' WHEN f + m >= 6 THEN 'at-risk'
            WHEN r = 2 THEN 'hibernating' ELSE 'lost' END AS grp,
       count(*) AS customers, printf('%.2f', sum(spent) / 100.0) AS revenue
FROM scored GROUP BY grp;`;
const rfmRuns = Math.max(3, Math.ceil(RUNS / 2));
const oursRfm = median(process.execPath, [CRM, '--db', db, 'segment', 'rfm', '--format', 'csv'], rfmRuns, { env });
const baseRfm = median('sqlite3', ['-csv', '-header', db, rfmSql('INDEXED BY sales_customer_day')], rfmRuns);
// Same groups, sizes and revenue as the SQL.
const groupsOf = (csv, sizeAt, revenueAt) =>
  Object.fromEntries(csv.trim().split('\n').slice(1).map((line) => line.match(/("[^"]*"|[^,]+)/g)).map((cells) => [cells[0], `${cells[sizeAt]} ${cells[revenueAt]}`]));
const oursGroups = groupsOf(execFileSync(process.execPath, [CRM, '--db', db, 'segment', 'rfm', '--format', 'csv'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] }).toString(), 2, 4);
const baseGroups = groupsOf(execFileSync('sqlite3', ['-csv', '-header', db, rfmSql('INDEXED BY sales_customer_day')]).toString(), 1, 2);
if (JSON.stringify(Object.entries(oursGroups).sort()) !== JSON.stringify(Object.entries(baseGroups).sort())) {
  throw new Error(`segment rfm and sqlite3 disagree:\n${JSON.stringify(oursGroups)}\n${JSON.stringify(baseGroups)}`);
}
benchLine('segment-rfm', oursRfm.seconds, baseRfm.seconds, 1.5, oursRfm.rssMb);
const plainRfm = median('sqlite3', ['-csv', '-header', db, rfmSql('')], rfmRuns);
benchLine('segment-rfm-vs-plain-sql', oursRfm.seconds, plainRfm.seconds, 1.5, oursRfm.rssMb);

if (existsSync(db)) for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
