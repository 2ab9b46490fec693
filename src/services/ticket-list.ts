// `ticket list`: one statement streamed through the raw-SQL seam (a prepared statement on SQLite, a
// cursor on PostgreSQL), like `customer list`: a support desk runs it all day, and a cron job exports
// the overdue ones. Every value is a bound parameter; only fixed SQL written here is spliced in.
import type { Kysely } from 'kysely';
import { engineOf, nullsFirst, rawIterate } from '../db/dialect.js';
import type { DB } from '../db/schema.js';
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
 * finished ones, newest first; streamed from the database.
 */
export async function* listTickets(db: Kysely<DB>, filter: TicketFilter, now: Date): AsyncGenerator<TicketListRow> {
  const engine = engineOf(db);
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
    ? `${nullsFirst(engine, 't.due_at')}, t.id DESC`
    : onlyDone
      ? 't.id DESC'
      : `CASE WHEN t.status IN ${ACTIVE_STATUSES_LIST} THEN 0 ELSE 1 END, ${nullsFirst(engine, `CASE WHEN t.status IN ${ACTIVE_STATUSES_LIST} THEN t.due_at END`)}, t.id DESC`;
  const rows = rawIterate<TicketListRow>(
    db,
    `SELECT t.id, t.customer_id, c.name AS customer, t.subject, t.kind, t.priority, t.status, t.assignee, t.opened_at, t.due_at
       FROM tickets t JOIN customers c ON c.id = t.customer_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${order}`,
    params,
  );
  const nowMs = now.getTime();
  for await (const row of rows) {
    row.overdue = isActive(row.status) && row.due_at !== null && Date.parse(row.due_at) < nowMs;
    yield row;
  }
}
