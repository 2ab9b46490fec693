// `report tickets`: the figures a support desk is judged on, for the tickets opened in a period
// (all tickets without one): volume by kind and priority, first-response and resolution times
// (median and 90th percentile), SLA breaches, CSAT; plus the backlog as it stands now.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { sqliteOf } from '../db/connection.js';
import {
  ACTIVE_STATUSES_LIST,
  KINDS,
  PRIORITIES,
  csatOf,
  percentiles,
  type CsatFigures,
  type TicketKindName,
  type TicketPriority,
} from '../domain/tickets.js';
import { getSetting } from './config.js';

export interface ReportRange {
  /** Inclusive start; none means from the beginning. */
  from?: Date;
  /** Exclusive end; none means up to now. */
  to?: Date;
}

export interface DurationStats {
  /** How many tickets have this measure. */
  count: number;
  medianMs: number | null;
  p90Ms: number | null;
}

export interface TicketReport {
  /** Tickets opened in the period. */
  opened: number;
  /** Of those, how many are resolved or closed now. */
  resolved: number;
  /** Every ticket open or pending now, whatever the period. */
  backlog: number;
  /** Of the backlog, how many are past their due time now. */
  overdue: number;
  firstResponse: DurationStats;
  resolution: DurationStats;
  /** Tickets whose SLA outcome is known: resolved, or still unresolved past their due time. */
  slaDecided: number;
  /** Of those, resolved after the due time or unresolved past it. */
  slaBreached: number;
  /** slaBreached / slaDecided, or null when nothing is decided yet. */
  slaBreachRate: number | null;
  csat: CsatFigures;
  byKind: Array<{ kind: TicketKindName; tickets: number }>;
  byPriority: Array<{ priority: TicketPriority; sla: string; tickets: number; decided: number; breached: number }>;
}

function stats(values: number[]): DurationStats {
  const [medianMs, p90Ms] = percentiles(values, [0.5, 0.9]);
  return { count: values.length, medianMs: medianMs ?? null, p90Ms: p90Ms ?? null };
}

// Done: resolved or closed with a resolution time. SLA decided: done, or still unresolved past due.
const DONE = `(status IN ('resolved', 'closed') AND resolved_at IS NOT NULL)`;
const MS = (later: string) => `CAST(ROUND((julianday(${later}) - julianday(opened_at)) * 86400000.0) AS INTEGER)`;

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
  FROM tickets t WHERE t.opened_at < @now)`;

/**
 * Aggregates run in SQLite, and the duration lists come back as plain numbers (prepared
 * statements, `pluck`), so a report over hundreds of thousands of tickets stays quick and small.
 * With `asOf`, `now` is the end of the as-of day and every figure is computed as it stood then.
 */
export async function ticketReport(db: Kysely<DB>, range: ReportRange, now: Date, options: { asOf?: boolean } = {}): Promise<TicketReport> {
  const sqlite = sqliteOf(db);
  const source = options.asOf ? AS_OF_TICKETS : 'tickets';
  const ratingNow = options.asOf ? 'r.rated_at < @now AND (r.superseded_at IS NULL OR r.superseded_at >= @now)' : 'r.superseded_at IS NULL';
  const end = range.to && range.to.getTime() < now.getTime() ? range.to : now;
  const where = `opened_at >= @from AND opened_at < @end`;
  const params = { from: range.from ? range.from.toISOString() : '', end: end.toISOString(), now: now.toISOString() };

  const groups = sqlite
    .prepare(
      `SELECT kind, priority, count(*) AS tickets,
              sum(${DONE}) AS resolved,
              sum(due_at IS NOT NULL AND (${DONE} OR due_at < @now)) AS decided,
              sum(due_at IS NOT NULL AND CASE WHEN ${DONE} THEN resolved_at > due_at ELSE due_at < @now END) AS breached
       FROM ${source} WHERE ${where} GROUP BY kind, priority`,
    )
    .all(params) as Array<{ kind: string; priority: string; tickets: number; resolved: number; decided: number; breached: number }>;
  const firstResponse = sqlite
    .prepare(`SELECT ${MS('first_response_at')} FROM ${source} WHERE ${where} AND first_response_at IS NOT NULL`)
    .pluck()
    .all(params) as number[];
  const resolution = sqlite
    .prepare(`SELECT ${MS('resolved_at')} FROM ${source} WHERE ${where} AND ${DONE}`)
    .pluck()
    .all(params) as number[];
  const scores = sqlite
    .prepare(
      `SELECT r.score FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id
       WHERE ${ratingNow} AND t.opened_at >= @from AND t.opened_at < @end`,
    )
    .pluck()
    .all(params) as number[];
  const backlog = sqlite
    .prepare(`SELECT count(*) AS backlog, coalesce(sum(due_at < @now), 0) AS overdue FROM ${source} WHERE status IN ${ACTIVE_STATUSES_LIST}`)
    .get(params) as { backlog: number; overdue: number };

  const byKind = new Map<string, number>();
  const byPriority = new Map<string, { tickets: number; decided: number; breached: number }>(PRIORITIES.map((p) => [p, { tickets: 0, decided: 0, breached: 0 }]));
  let opened = 0;
  let resolved = 0;
  let slaDecided = 0;
  let slaBreached = 0;
  for (const g of groups) {
    opened += g.tickets;
    resolved += g.resolved;
    slaDecided += g.decided;
    slaBreached += g.breached;
    byKind.set(g.kind, (byKind.get(g.kind) ?? 0) + g.tickets);
    const p = byPriority.get(g.priority);
    if (p) {
      p.tickets += g.tickets;
      p.decided += g.decided;
      p.breached += g.breached;
    }
  }

  const slaSettings = await Promise.all(PRIORITIES.map((priority) => getSetting(db, `sla.${priority}`)));
  return {
    opened,
    resolved,
    backlog: backlog.backlog,
    overdue: backlog.overdue,
    firstResponse: stats(firstResponse),
    resolution: stats(resolution),
    slaDecided,
    slaBreached,
    slaBreachRate: slaDecided ? slaBreached / slaDecided : null,
    csat: csatOf(scores),
    byKind: KINDS.map((kind) => ({ kind, tickets: byKind.get(kind) ?? 0 })),
    byPriority: PRIORITIES.map((priority, i) => ({ priority, sla: slaSettings[i]!, ...byPriority.get(priority)! })),
  };
}

