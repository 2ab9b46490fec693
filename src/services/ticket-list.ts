// `ticket list`: one prepared statement on the raw better-sqlite3 handle (no Kysely), like
// `customer list`: a support desk runs it all day, and a cron job exports the overdue ones. Every
// value is a bound parameter; only fixed SQL written here is spliced in.
import type Database from 'better-sqlite3';
import { ACTIVE_STATUSES_LIST, isActive, type TicketKindName, type TicketPriority, type TicketStatusName } from '../domain/tickets.js';

/** A row of `ticket list` (a type, so it is also the plain record the renderers take). */
export type TicketListRow = {
  id: number;
  customer_id: number;
  /** The customer's name. */
  customer: string;
  subject: string;
  kind: TicketKindName;
  priority: TicketPriority;
  status: TicketStatusName;
  assignee: string | null;
  opened_at: string;
  due_at: string | null;
  overdue: boolean;
};

export interface TicketFilter {
  status?: TicketStatusName;
  priority?: TicketPriority;
  /** Open or pending and due before `now`. */
  overdue?: boolean;
  customerId?: number;
}


/**
 * Tickets matching the filter, the ones still being worked on first (soonest due first), then
 * finished ones, newest first; streamed from SQLite.
 */
export function* listTickets(sqlite: Database.Database, filter: TicketFilter, now: Date): Generator<TicketListRow> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.customerId !== undefined) {
    where.push('t.customer_id = ?');
    params.push(filter.customerId);
  }
  if (filter.status) {
    where.push('t.status = ?');
    params.push(filter.status);
  }
  if (filter.priority) {
    where.push('t.priority = ?');
    params.push(filter.priority);
  }
  if (filter.overdue) {
    where.push(`t.status IN ${ACTIVE_STATUSES_LIST} AND t.due_at < ?`);
    params.push(now.toISOString());
  }
  const onlyActive = filter.overdue || (filter.status !== undefined && isActive(filter.status));
  const onlyDone = filter.status !== undefined && !isActive(filter.status);
  const order = onlyActive
    ? 't.due_at, t.id DESC'
    : onlyDone
      ? 't.id DESC'
      : `CASE WHEN t.status IN ${ACTIVE_STATUSES_LIST} THEN 0 ELSE 1 END, CASE WHEN t.status IN ${ACTIVE_STATUSES_LIST} THEN t.due_at END, t.id DESC`;
  const rows = sqlite
    .prepare(
      `SELECT t.id, t.customer_id, c.name AS customer, t.subject, t.kind, t.priority, t.status, t.assignee, t.opened_at, t.due_at
       FROM tickets t JOIN customers c ON c.id = t.customer_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${order}`,
    )
    .iterate(...params) as IterableIterator<TicketListRow>;
  const nowMs = now.getTime();
  for (const row of rows) {
    row.overdue = isActive(row.status) && row.due_at !== null && Date.parse(row.due_at) < nowMs;
    yield row;
  }
}
