// Sales reports (issue 4): `crm report sales --by month` and `--by city` over 1,000,000 sales of
// 100,000 customers, against the sqlite3 shell running the equivalent SQL on the same file.
// Each crm run is checked against the shell's figures before it is timed.
import { spawnSync } from 'node:child_process';
import { benchDatabase } from './fixtures.mjs';
import { benchLine, crm, ensureSqlite3, median, CRM } from './lib.mjs';

const RUNS = 5;
const TARGET = 1.3;
ensureSqlite3();
const db = benchDatabase({ customers: 100_000, sales: 1_000_000 });
const range = ['--from', '2020-01-01', '--to', '2025-12-31'];
const live = `s.voided_at IS NULL AND s.sold_on >= '2020-01-01' AND s.sold_on < '2026-01-01'`;

// The shell gets the same covering index crm uses (INDEXED BY), so it is timed on its best plan
// rather than on the plain index its planner picks by itself.
const QUERIES = {
  month: `SELECT substr(s.sold_on, 1, 7) AS month, count(*) AS count, sum(s.amount_cents) AS revenue, round(avg(s.amount_cents)) AS average_order
          FROM sales s INDEXED BY sales_day WHERE ${live} GROUP BY month ORDER BY month;`,
  city: `SELECT c.city AS city, count(*) AS count, sum(s.amount_cents) AS revenue, round(avg(s.amount_cents)) AS average_order
         FROM sales s INDEXED BY sales_day LEFT JOIN customers c ON c.id = s.customer_id WHERE ${live} GROUP BY c.city ORDER BY revenue DESC;`,
};

/** `key -> revenue cents` from the first CSV section crm printed. */
function crmFigures(stdout) {
  const [table] = stdout.split('\r\n\r\n');
  const lines = table.trim().split('\r\n').slice(1);
  return new Map(lines.map((l) => {
    const cells = l.split(',');
    return [cells[0].replace(/^"|"$/g, ''), Math.round(Number(cells[2]) * 100)];
  }));
}

for (const [by, query] of Object.entries(QUERIES)) {
  const args = ['--db', db, 'report', 'sales', '--by', by, ...range, '--format', 'csv'];
  const shell = spawnSync('sqlite3', ['-csv', db, query], { encoding: 'utf8' });
  if (shell.status !== 0) throw new Error(shell.stderr);
  const expected = new Map(shell.stdout.trim().split('\n').map((l) => {
    const cells = l.split(',');
    return [cells[0].replace(/^"|"$/g, ''), Number(cells[2])];
  }));
  const ours = crmFigures(crm(args, { stdout: 'pipe' }).stdout.toString());
  for (const [key, revenue] of expected) {
    if (ours.get(key) !== revenue) throw new Error(`report sales --by ${by}: ${key} is ${ours.get(key)}, sqlite3 says ${revenue}`);
  }
  const baseline = median('sqlite3', ['-csv', '-header', db, query], RUNS);
  const measured = median(process.execPath, [CRM, ...args], RUNS);
  benchLine(`sales-report-by-${by}`, measured.seconds, baseline.seconds, TARGET, measured.rssMb);
}

// For the record: crm answers --by month from per-day totals (no sort of a million rows); the shell
// running that same per-day query shows how much of the gap is the query and how much node start-up.
const perDay = `SELECT sold_on, count(*), sum(amount_cents) FROM sales INDEXED BY sales_day
                WHERE voided_at IS NULL AND sold_on >= '2020-01-01' AND sold_on < '2026-01-01' GROUP BY sold_on;`;
const same = median('sqlite3', ['-csv', db, perDay], RUNS);
const bare = median(process.execPath, ['-e', ''], RUNS);
console.log(`# sqlite3 running crm's per-day query: ${same.seconds.toFixed(3)} s; bare node start-up: ${bare.seconds.toFixed(3)} s`);
