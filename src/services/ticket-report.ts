// `report tickets`: the figures a support desk is judged on, for the tickets opened in a period
// (all tickets without one): volume by kind and priority, first-response and resolution times
// (median and 90th percentile), SLA breaches, CSAT; plus the backlog as it stands now.
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { ticketAggregates } from '../db/ticket-aggregates.js';
import {
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

/**
 * The aggregates run in the database (src/db/ticket-aggregates.ts).
 * With `asOf`, `now` is the end of the as-of day and every figure is computed as it stood then.
 */
export async function ticketReport(db: Kysely<DB>, range: ReportRange, now: Date, options: { asOf?: boolean } = {}): Promise<TicketReport> {
  const end = range.to && range.to.getTime() < now.getTime() ? range.to : now;
  const bounds = { from: range.from ? range.from.toISOString() : '', end: end.toISOString(), now: now.toISOString() };
  const { groups, firstResponse, resolution, scores, backlog } = await ticketAggregates(db, bounds, options.asOf === true);

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

