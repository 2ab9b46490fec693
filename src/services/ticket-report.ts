// `report tickets`: the figures a support desk is judged on, for the tickets opened in a period
// (all tickets without one): volume by kind and priority, first-response and resolution times
// (median and 90th percentile), SLA breaches, CSAT; plus the backlog as it stands now.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/schema.js';
import {
  ACTIVE_STATUSES,
  KINDS,
  PRIORITIES,
  csatOf,
  isActive,
  percentile,
  type CsatFigures,
  type TicketKindName,
  type TicketPriority,
} from '../domain/tickets.js';
import { getSetting } from './config.js';

type Db = Kysely<DB> | Transaction<DB>;

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
  return { count: values.length, medianMs: percentile(values, 0.5), p90Ms: percentile(values, 0.9) };
}

export async function ticketReport(db: Db, range: ReportRange, now: Date): Promise<TicketReport> {
  const end = range.to && range.to.getTime() < now.getTime() ? range.to : now;
  let query = db
    .selectFrom('tickets')
    .select(['id', 'kind', 'priority', 'status', 'opened_at', 'due_at', 'first_response_at', 'resolved_at'])
    .where('opened_at', '<', end.toISOString());
  if (range.from) query = query.where('opened_at', '>=', range.from.toISOString());
  const tickets = await query.execute();

  const ids = new Set(tickets.map((t) => t.id));
  const ratings = await db.selectFrom('ticket_ratings').select(['ticket_id', 'score']).where('superseded_at', 'is', null).execute();
  const scores = ratings.filter((r) => ids.has(r.ticket_id)).map((r) => r.score);

  const backlogRows = await db
    .selectFrom('tickets')
    .select(['status', 'due_at'])
    .where('status', 'in', [...ACTIVE_STATUSES])
    .execute();
  const nowIso = now.toISOString();

  const firstResponse: number[] = [];
  const resolution: number[] = [];
  const byKind = new Map<string, number>(KINDS.map((k) => [k, 0]));
  const byPriority = new Map<string, { tickets: number; decided: number; breached: number }>(PRIORITIES.map((p) => [p, { tickets: 0, decided: 0, breached: 0 }]));
  let resolved = 0;
  let slaDecided = 0;
  let slaBreached = 0;
  for (const t of tickets) {
    const opened = Date.parse(t.opened_at);
    byKind.set(t.kind, (byKind.get(t.kind) ?? 0) + 1);
    const p = byPriority.get(t.priority)!;
    p.tickets += 1;
    if (t.first_response_at) firstResponse.push(Date.parse(t.first_response_at) - opened);
    const done = !isActive(t.status) && t.resolved_at !== null;
    if (done) {
      resolved += 1;
      resolution.push(Date.parse(t.resolved_at!) - opened);
    }
    if (t.due_at) {
      const decided = done || t.due_at < nowIso;
      const breached = done ? t.resolved_at! > t.due_at : t.due_at < nowIso;
      if (decided) {
        slaDecided += 1;
        p.decided += 1;
        if (breached) {
          slaBreached += 1;
          p.breached += 1;
        }
      }
    }
  }

  const slaSettings = await Promise.all(PRIORITIES.map((priority) => getSetting(db, `sla.${priority}`)));
  return {
    opened: tickets.length,
    resolved,
    backlog: backlogRows.length,
    overdue: backlogRows.filter((r) => r.due_at !== null && r.due_at < nowIso).length,
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

/** The two ticket KPIs `report summary` shows: the backlog now and CSAT over current ratings. */
export async function ticketHeadline(db: Db, now: Date): Promise<{ openTickets: number; overdueTickets: number; csat: CsatFigures }> {
  const nowIso = now.toISOString();
  const active = await db.selectFrom('tickets').select('due_at').where('status', 'in', [...ACTIVE_STATUSES]).execute();
  const ratings = await db.selectFrom('ticket_ratings').select('score').where('superseded_at', 'is', null).execute();
  return {
    openTickets: active.length,
    overdueTickets: active.filter((t) => t.due_at !== null && t.due_at < nowIso).length,
    csat: csatOf(ratings.map((r) => r.score)),
  };
}
