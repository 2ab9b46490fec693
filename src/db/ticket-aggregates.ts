// The aggregates behind `report tickets` (services/ticket-report.ts), one SQL text for SQLite and
// PostgreSQL through dialect.ts. Aggregates run in the database, and the duration lists come back
// as plain numbers, so a report over hundreds of thousands of tickets stays quick and small.
import type { Kysely } from 'kysely';
import { ACTIVE_STATUSES_LIST } from '../domain/tickets.js';
import { countIf, engineOf, msBetween, named, rawColumn, rawRow, rawRows } from './dialect.js';
import type { DB } from './schema.js';

// Done: resolved or closed with a resolution time. SLA decided: done, or still unresolved past due.
const DONE = `(status IN ('resolved', 'closed') AND resolved_at IS NOT NULL)`;

const HAS_STATUS_EVENTS = `EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status')`;
/**
 * The tickets as they stood at @now, rebuilt from their history: the status is the last status
 * change before then ('open' if there was none yet), the resolution time the last move to
 * resolved, first responses and ratings only if they came before. Tickets without a status
 * history (imported ones) fall back on their resolved/closed times. Priority changes made later
 * are not rewound: the due time is today's.
 */
const AS_OF_TICKETS = `(SELECT t.id, t.kind, t.priority, t.opened_at, t.due_at,
    CASE WHEN t.first_response_at < @now THEN t.first_response_at END AS first_response_at,
    CASE WHEN ${HAS_STATUS_EVENTS}
      THEN coalesce((SELECT e.to_value FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status' AND e.at < @now
                     ORDER BY e.at DESC, e.id DESC LIMIT 1), 'open')
      ELSE CASE WHEN t.closed_at < @now THEN 'closed' WHEN t.resolved_at < @now THEN 'resolved'
                WHEN t.status = 'pending' THEN 'pending' ELSE 'open' END
    END AS status,
    CASE WHEN ${HAS_STATUS_EVENTS}
      THEN (SELECT max(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status' AND e.to_value = 'resolved' AND e.at < @now)
      ELSE CASE WHEN t.resolved_at < @now THEN t.resolved_at END
    END AS resolved_at
  FROM tickets t WHERE t.opened_at < @now) AS as_of_tickets`;

export interface TicketGroup {
  kind: string;
  priority: string;
  tickets: number;
  resolved: number;
  decided: number;
  breached: number;
}

export interface TicketAggregates {
  /** Tickets opened in the range, by kind and priority. */
  groups: TicketGroup[];
  /** Milliseconds from opening to first response, one per ticket that has one. */
  firstResponse: number[];
  /** Milliseconds from opening to resolution, one per done ticket. */
  resolution: number[];
  /** Current rating scores of the tickets opened in the range. */
  scores: number[];
  /** Tickets open or pending (whatever the range), and how many of them are past due. */
  backlog: { backlog: number; overdue: number };
}

/**
 * Every figure `report tickets` needs for tickets opened in [from, end), as they stand at `now`
 * (`asOf`: rebuilt from their history as they stood then).
 */
export async function ticketAggregates(db: Kysely<DB>, bounds: { from: string; end: string; now: string }, asOf: boolean): Promise<TicketAggregates> {
  const engine = engineOf(db);
  const source = asOf ? AS_OF_TICKETS : 'tickets';
  const ratingNow = asOf ? 'r.rated_at < @now AND (r.superseded_at IS NULL OR r.superseded_at >= @now)' : 'r.superseded_at IS NULL';
  const where = `opened_at >= @from AND opened_at < @end`;
  const q = (text: string) => named(text, bounds);

  const groupsSql = q(
    `SELECT kind, priority, count(*) AS tickets,
            ${countIf(engine, DONE)} AS resolved,
            ${countIf(engine, `due_at IS NOT NULL AND (${DONE} OR due_at < @now)`)} AS decided,
            ${countIf(engine, `due_at IS NOT NULL AND CASE WHEN ${DONE} THEN resolved_at > due_at ELSE due_at < @now END`)} AS breached
     FROM ${source} WHERE ${where} GROUP BY kind, priority`,
  );
  const groups = (await rawRows<TicketGroup>(db, groupsSql.sql, groupsSql.params)).map((g) => ({
    ...g,
    resolved: g.resolved ?? 0,
    decided: g.decided ?? 0,
    breached: g.breached ?? 0,
  }));
  const first = q(`SELECT ${msBetween(engine, 'opened_at', 'first_response_at')} FROM ${source} WHERE ${where} AND first_response_at IS NOT NULL`);
  const firstResponse = await rawColumn<number>(db, first.sql, first.params);
  const done = q(`SELECT ${msBetween(engine, 'opened_at', 'resolved_at')} FROM ${source} WHERE ${where} AND ${DONE}`);
  const resolution = await rawColumn<number>(db, done.sql, done.params);
  const rated = q(
    `SELECT r.score FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id
     WHERE ${ratingNow} AND t.opened_at >= @from AND t.opened_at < @end`,
  );
  const scores = await rawColumn<number>(db, rated.sql, rated.params);
  const active = q(`SELECT count(*) AS backlog, coalesce(${countIf(engine, 'due_at < @now')}, 0) AS overdue FROM ${source} WHERE status IN ${ACTIVE_STATUSES_LIST}`);
  const backlog = (await rawRow<{ backlog: number; overdue: number }>(db, active.sql, active.params))!;
  return { groups, firstResponse, resolution, scores, backlog };
}
