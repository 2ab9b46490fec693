// Tasks and agenda (issue 9): `crm agenda` and `crm customer list --not-contacted 30d` on 100k
// customers with 1M activities, 100k tasks, 10k tickets and 10k deals, against the sqlite3 shell
// running the same queries (the floor: no start-up, no rendering).
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { benchDatabase, rng } from './fixtures.mjs';
import { benchLine, CRM, DATA, ensureSqlite3, median } from './lib.mjs';

const CUSTOMERS = 100_000;
const NOW = '2025-06-04T09:00:00Z';
const RUNS = 5;

function agendaDatabase() {
  const path = `${DATA}agenda-${CUSTOMERS}c.db`;
  if (existsSync(path)) return path;
  const temp = `${path}.building`;
  copyFileSync(benchDatabase({ customers: CUSTOMERS }), temp);
  const db = new Database(temp);
  db.pragma('synchronous = OFF');
  const random = rng(9);
  const day = (from, span) => new Date(Date.parse(from) + Math.floor(random() * span) * 86_400_000).toISOString();
  const activity = db.prepare('INSERT INTO activities (customer_id, type, at, summary, created_at) VALUES (?, ?, ?, ?, ?)');
  const task = db.prepare(
    'INSERT INTO tasks (customer_id, title, due_at, due_has_time, assignee, priority, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const ticket = db.prepare(
    'INSERT INTO tickets (customer_id, subject, priority, kind, status, assignee, opened_at, due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const deal = db.prepare('INSERT INTO deals (customer_id, title, value_cents, stage, close_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const pick = (list) => list[Math.floor(random() * list.length)];
  const customer = () => 1 + Math.floor(random() * CUSTOMERS);
  db.transaction(() => {
    for (let i = 0; i < 1_000_000; i++) {
      const at = day('2023-01-01T00:00:00Z', 900);
      activity.run(customer(), pick(['call', 'email', 'meeting', 'chat']), at, 'talked', at);
    }
    for (let i = 0; i < 100_000; i++) {
      const timed = random() < 0.3;
      const due = day('2025-01-01T00:00:00Z', 300);
      task.run(customer(), `Task ${i}`, timed ? due : `${due.slice(0, 10)}T00:00:00.000Z`, timed ? 1 : 0, pick(['anna', 'bo', null]), pick(['low', 'normal', 'high', 'urgent']), random() < 0.6 ? 'done' : 'open', NOW, NOW);
    }
    for (let i = 0; i < 10_000; i++) {
      ticket.run(customer(), `Ticket ${i}`, pick(['low', 'normal', 'high', 'urgent']), 'problem', pick(['open', 'pending', 'resolved', 'closed']), pick(['anna', 'bo', null]), NOW, day('2025-05-01T00:00:00Z', 60), NOW);
    }
    for (let i = 0; i < 10_000; i++) {
      deal.run(customer(), `Deal ${i}`, 1000 + Math.floor(random() * 1e7), pick(['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost']), day('2025-01-01T00:00:00Z', 365).slice(0, 10), NOW, NOW);
    }
  })();
  db.exec('ANALYZE');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(temp, path);
  rmSync(`${temp}-wal`, { force: true });
  rmSync(`${temp}-shm`, { force: true });
  return path;
}

ensureSqlite3();
const db = agendaDatabase();
const env = { CRM_NOW: NOW, TZ: 'UTC' };

// The agenda's queries, as the sqlite3 shell would run them.
const agendaSql = `
SELECT t.*, c.name FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.status = 'open'
  AND ((t.due_has_time = 0 AND t.due_at < '2025-06-04') OR (t.due_has_time = 1 AND t.due_at < '2025-06-04T00:00:00.000Z'));
SELECT t.*, c.name FROM tasks t JOIN customers c ON c.id = t.customer_id WHERE t.status = 'open'
  AND ((t.due_has_time = 0 AND t.due_at >= '2025-06-04' AND t.due_at < '2025-06-05')
    OR (t.due_has_time = 1 AND t.due_at >= '2025-06-04T00:00:00.000Z' AND t.due_at < '2025-06-05T00:00:00.000Z'));
SELECT k.*, c.name FROM tickets k JOIN customers c ON c.id = k.customer_id
  WHERE k.status IN ('open', 'pending') AND (k.due_at < '2025-06-04T09:00:00.000Z' OR k.priority = 'urgent');
SELECT d.*, c.name FROM deals d JOIN customers c ON c.id = d.customer_id
  WHERE d.stage IN ('lead', 'qualified', 'proposal', 'negotiation') AND d.close_date BETWEEN '2025-06-02' AND '2025-06-08';
SELECT count(*) FROM (SELECT customer_id, max(at) AS last FROM activities WHERE at < '2025-06-05T00:00:00.000Z' GROUP BY customer_id HAVING max(at) < '2025-05-05T00:00:00.000Z');
SELECT c.id, c.name, q.last FROM (SELECT customer_id, max(at) AS last FROM activities WHERE at < '2025-06-05T00:00:00.000Z' GROUP BY customer_id HAVING max(at) < '2025-05-05T00:00:00.000Z') q
  JOIN customers c ON c.id = q.customer_id ORDER BY q.last DESC LIMIT 25;
`;
const notContactedSql = `SELECT c.id, c.name, c.email, c.phone, c.city, (SELECT max(a.at) FROM activities a WHERE a.customer_id = c.id)
  FROM customers c WHERE coalesce((SELECT max(a.at) FROM activities a WHERE a.customer_id = c.id), c.created_at) < '2025-05-05T00:00:00.000Z';`;

const baseAgenda = median('sqlite3', ['-readonly', db, agendaSql], RUNS);
const agenda = median(process.execPath, [CRM, '--db', db, 'agenda', '--format', 'json'], RUNS, { env });
benchLine('agenda-100k', agenda.seconds, baseAgenda.seconds, 3, agenda.rssMb);

const baseQuiet = median('sqlite3', ['-readonly', '-csv', db, notContactedSql], RUNS);
const quiet = median(process.execPath, [CRM, '--db', db, 'customer', 'list', '--not-contacted', '30d', '--format', 'csv'], RUNS, { env });
benchLine('not-contacted-100k', quiet.seconds, baseQuiet.seconds, 3, quiet.rssMb);
