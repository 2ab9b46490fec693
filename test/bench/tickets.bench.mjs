// Tickets (issue 5): `ticket list --overdue` and `report tickets` on 200,000 tickets, against the
// sqlite3 shell running the equivalent query (the overdue list as CSV; for the report, reading the
// columns the report needs). The clock is pinned with CRM_NOW so the overdue set is fixed.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { benchDatabase, rng } from './fixtures.mjs';
import { benchLine, CRM, DATA, ensureSqlite3, median } from './lib.mjs';

const CUSTOMERS = 10_000;
const TICKETS = 200_000;
const NOW = '2026-01-01T00:00:00.000Z';
const H = 3_600_000;
const SLA = { low: 72 * H, normal: 24 * H, high: 8 * H, urgent: 4 * H };
const PRIORITIES = ['low', 'normal', 'normal', 'normal', 'high', 'urgent'];
const KINDS = ['question', 'question', 'problem', 'complaint', 'feedback'];

function ticketDatabase() {
  const path = `${DATA}tickets-${CUSTOMERS}c-${TICKETS}t.db`;
  if (existsSync(path)) return path;
  const temp = `${path}.building`;
  rmSync(temp, { force: true });
  execFileSync('cp', [benchDatabase({ customers: CUSTOMERS }), temp]);
  const db = new Database(temp);
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    `INSERT INTO tickets (customer_id, subject, priority, kind, status, assignee, opened_at, due_at, first_response_at, resolved_at, closed_at, solution, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rate = db.prepare('INSERT INTO ticket_ratings (ticket_id, score, rated_at) VALUES (?, ?, ?)');
  const random = rng(5);
  const start = Date.parse('2025-01-01T00:00:00Z');
  const span = Date.parse(NOW) - start;
  db.transaction(() => {
    for (let i = 0; i < TICKETS; i++) {
      const priority = PRIORITIES[Math.floor(random() * PRIORITIES.length)];
      const opened = start + Math.floor(random() * span);
      const r = random();
      const status = r < 0.05 ? 'open' : r < 0.08 ? 'pending' : r < 0.4 ? 'resolved' : 'closed';
      const response = status === 'open' ? null : opened + Math.floor(random() * SLA[priority]);
      const resolved = status === 'resolved' || status === 'closed' ? response + Math.floor(random() * 2 * SLA[priority]) : null;
      const iso = (t) => (t === null ? null : new Date(t).toISOString());
      const { lastInsertRowid } = insert.run(
        1 + Math.floor(random() * CUSTOMERS),
        `Ticket ${i}`,
        priority,
        KINDS[Math.floor(random() * KINDS.length)],
        status,
        random() < 0.5 ? 'mei' : null,
        iso(opened),
        iso(opened + SLA[priority]),
        iso(response),
        iso(resolved),
        status === 'closed' ? iso(resolved + H) : null,
        resolved ? 'fixed' : null,
        iso(resolved ?? opened),
      );
      if (resolved && random() < 0.3) rate.run(lastInsertRowid, 1 + Math.floor(random() * 5), iso(resolved + 2 * H));
    }
  })();
  db.exec('ANALYZE');
  db.close();
  renameSync(temp, path);
  return path;
}

ensureSqlite3();
const db = ticketDatabase();
const RUNS = 5;
const env = { CRM_NOW: NOW, TZ: 'UTC' };

const overdueSql = `SELECT t.id, t.customer_id, c.name, t.subject, t.kind, t.priority, t.status, t.assignee, t.opened_at, t.due_at
  FROM tickets t JOIN customers c ON c.id = t.customer_id
  WHERE t.status IN ('open', 'pending') AND t.due_at < '${NOW}' ORDER BY t.due_at, t.id DESC;`;
const baseList = median('sqlite3', ['-csv', '-header', db, overdueSql], RUNS);
const list = median(process.execPath, [CRM, '--db', db, 'ticket', 'list', '--overdue', '--format', 'csv'], RUNS, { env });
benchLine('tickets-list-overdue', list.seconds, baseList.seconds, 4, list.rssMb);

const reportSql = `SELECT kind, priority, status, opened_at, due_at, first_response_at, resolved_at FROM tickets;
  SELECT ticket_id, score FROM ticket_ratings WHERE superseded_at IS NULL;`;
const baseReport = median('sqlite3', ['-csv', db, reportSql], RUNS);
const report = median(process.execPath, [CRM, '--db', db, 'report', 'tickets', '--format', 'json'], RUNS, { env });
benchLine('tickets-report', report.seconds, baseReport.seconds, 4, report.rssMb);
