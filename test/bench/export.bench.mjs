// Export (issue 7): `crm export customers --format csv` on 1,000,000 customers against `sqlite3 -csv`
// running the same query. BENCH_ROWS=20000 npm run bench -- export   runs it small.
import { benchDatabase } from './fixtures.mjs';
import { benchLine, cpuLine, crm, ensureSqlite3, measure } from './lib.mjs';

const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
ensureSqlite3();
const db = benchDatabase({ customers: N });
// The query src/services/exports.ts runs for customers (no custom fields in the bench data).
const query = `SELECT c.name, c.email, c.phone, c.age, c.gender, c.company, c.city, c.source,
  (SELECT group_concat(name, ';') FROM (SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id ORDER BY t.name)) AS tags,
  strftime('%Y-%m-%dT%H:%M:%SZ', c.created_at) AS created FROM customers c ORDER BY c.id`;
const ours = crm(['--db', db, 'export', 'customers', '--format', 'csv']);
const base = measure('sqlite3', ['-csv', '-header', db, query]);
cpuLine('export-customers', ours, base);
benchLine('export-customers', ours.seconds, base.seconds, 1.5, ours.rssMb);
