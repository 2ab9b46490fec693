// Support tickets: opening, the status lifecycle, priority/assignee changes and comments (each
// kept in ticket_events), resolution, SLA due times from config, and CSAT ratings with history.
// Every write runs in one transaction with its audit entry.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DB, TicketEventsTable, TicketRow, TicketRatingsTable } from '../db/schema.js';
import { forUpdate } from '../db/row-locks.js';
import { parseDuration } from '../domain/dates.js';
import { NotFoundError, UsageError, ValidationError } from '../domain/errors.js';
import {
  countsAsResponse,
  dueAt,
  isOverdue,
  isReopen,
  transitionProblem,
  type TicketKindName,
  type TicketPriority,
  type TicketStatusName,
} from '../domain/tickets.js';
import { beginAudit, type AuditRecorder, type WriteMeta } from './audit.js';
import { getSetting } from './config.js';
import { describeCustomer, resolveCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

export type TicketEventRow = Selectable<TicketEventsTable>;
export type TicketRatingRow = Selectable<TicketRatingsTable>;


/** A ticket with its customer's name, as `ticket show` presents it. */
export interface TicketView extends TicketRow {
  customer_name: string;
  overdue: boolean;
}

/** The SLA allowance of a priority in milliseconds, from config `sla.<priority>`. */
export async function slaAllowance(db: Db, priority: TicketPriority): Promise<number> {
  const key = `sla.${priority}`;
  const value = await getSetting(db, key);
  try {
    return parseDuration(value, key);
  } catch {
    // Only reachable if the config table was edited by hand: `config set` validates.
    throw new ValidationError(`setting ${key} "${value}" is not a duration`, { hint: `fix it with \`crm config set ${key} 8h\`` });
  }
}

/** The ticket; `lock`: under its row lock until commit, for a write that decides on what it read. */
async function findTicket(db: Db, id: number, options: { lock?: boolean } = {}): Promise<TicketRow> {
  const query = db.selectFrom('tickets').selectAll().where('id', '=', id);
  const row = await (options.lock ? forUpdate(db, query) : query).executeTakeFirst();
  if (!row) throw new NotFoundError(`no ticket #${id}`, { hint: 'find ticket numbers with `crm ticket list`' });
  return row;
}

async function addEvent(
  trx: Transaction<DB>,
  audit: AuditRecorder,
  event: { ticketId: number; at: string; kind: string; from?: string | null; to?: string | null; comment?: string | null; actor: string },
): Promise<void> {
  const row = await trx
    .insertInto('ticket_events')
    .values({
      ticket_id: event.ticketId,
      at: event.at,
      kind: event.kind,
      from_value: event.from ?? null,
      to_value: event.to ?? null,
      comment: event.comment ?? null,
      actor: event.actor,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit.inserted('ticket_events', row.id, row);
}

export interface OpenTicketInput {
  /** A customer reference: id, email or unique name. */
  customer: string;
  subject: string;
  description?: string | null;
  priority: TicketPriority;
  kind: TicketKindName;
  /** When the request came in (default: now); must not be in the future. */
  openedAt?: Date;
}

export async function openTicket(db: Kysely<DB>, input: OpenTicketInput, meta: WriteMeta): Promise<TicketRow> {
  const openedAt = input.openedAt ?? meta.now;
  if (openedAt.getTime() > meta.now.getTime()) throw new UsageError('--opened cannot be in the future');
  return db.transaction().execute(async (trx) => {
    const customer = await resolveCustomer(trx, input.customer);
    const due = dueAt(openedAt, await slaAllowance(trx, input.priority));
    const now = meta.now.toISOString();
    const ticket = await trx
      .insertInto('tickets')
      .values({
        customer_id: customer.id,
        subject: input.subject,
        description: input.description ?? null,
        priority: input.priority,
        kind: input.kind,
        status: 'open',
        opened_at: openedAt.toISOString(),
        due_at: due.toISOString(),
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'ticket.open',
      entity: 'ticket',
      entityId: ticket.id,
      customerId: customer.id,
      summary: `#${ticket.id} ${input.subject} (${describeCustomer(customer)})`,
    });
    await audit.inserted('tickets', ticket.id, ticket);
    await addEvent(trx, audit, { ticketId: ticket.id, at: ticket.opened_at, kind: 'opened', to: 'open', actor: meta.actor.user });
    return ticket;
  });
}

export interface TicketChanges {
  status?: TicketStatusName;
  priority?: TicketPriority;
  /** A name, or null to unassign. */
  assignee?: string | null;
  comment?: string;
}

export interface UpdateResult {
  ticket: TicketRow;
  /** One line per change, for the message on stderr. */
  changes: string[];
}

export async function updateTicket(db: Kysely<DB>, id: number, input: TicketChanges, meta: WriteMeta): Promise<UpdateResult> {
  return db.transaction().execute(async (trx) => {
    const before = await findTicket(trx, id, { lock: true });
    const now = meta.now.toISOString();
    const after: TicketRow = { ...before };
    const events: Array<{ kind: string; from?: string | null; to?: string | null; comment?: string | null }> = [];
    const changes: string[] = [];
    const comment = input.comment;

    let statusChanged = false;
    if (input.status !== undefined && input.status !== before.status) {
      const problem = transitionProblem(before.status, input.status, comment !== undefined);
      if (problem) throw new ValidationError(`ticket #${id}: ${problem.message}`, problem.hint ? { hint: problem.hint } : {});
      after.status = input.status;
      statusChanged = true;
      if (input.status === 'closed') after.closed_at = now;
      if (isReopen(before.status, input.status)) {
        // Reopened: it is unresolved again; the earlier solution stays in the history.
        after.resolved_at = null;
        after.closed_at = null;
        after.solution = null;
      }
      events.push({ kind: 'status', from: before.status, to: input.status, comment: comment ?? null });
      changes.push(`status ${before.status} → ${input.status}`);
    } else if (input.status !== undefined && input.status === before.status && input.priority === undefined && input.assignee === undefined && comment === undefined) {
      throw new ValidationError(`ticket #${id} is already ${before.status}; nothing was changed`);
    }

    if (input.priority !== undefined && input.priority !== before.priority) {
      after.priority = input.priority;
      // The SLA is counted from the opening, whatever the priority was then.
      after.due_at = dueAt(new Date(before.opened_at), await slaAllowance(trx, input.priority)).toISOString();
      events.push({ kind: 'priority', from: before.priority, to: input.priority });
      changes.push(`priority ${before.priority} → ${input.priority}`);
    }

    if (input.assignee !== undefined && input.assignee !== before.assignee) {
      after.assignee = input.assignee;
      events.push({ kind: 'assignee', from: before.assignee, to: input.assignee });
      changes.push(input.assignee === null ? 'unassigned' : `assigned to ${input.assignee}`);
    }

    if (comment !== undefined && !statusChanged) {
      events.push({ kind: 'comment', comment });
      changes.push('comment added');
    }

    if (events.length === 0) {
      throw new ValidationError(`ticket #${id} already has those values; nothing was changed`);
    }
    if (after.first_response_at === null && countsAsResponse({ statusChanged, comment: comment !== undefined })) {
      after.first_response_at = now;
    }
    after.updated_at = now;

    await trx
      .updateTable('tickets')
      .set({
        status: after.status,
        priority: after.priority,
        assignee: after.assignee,
        due_at: after.due_at,
        first_response_at: after.first_response_at,
        resolved_at: after.resolved_at,
        closed_at: after.closed_at,
        solution: after.solution,
        updated_at: after.updated_at,
      })
      .where('id', '=', id)
      .execute();
    const audit = await beginAudit(trx, meta, {
      action: 'ticket.update',
      entity: 'ticket',
      entityId: id,
      customerId: before.customer_id,
      summary: `#${id}: ${changes.join(', ')}`,
    });
    await audit.updated('tickets', id, before, after);
    for (const event of events) await addEvent(trx, audit, { ticketId: id, at: now, actor: meta.actor.user, ...event });
    return { ticket: after, changes };
  });
}

export async function resolveTicket(db: Kysely<DB>, id: number, solution: string, meta: WriteMeta): Promise<TicketRow> {
  return db.transaction().execute(async (trx) => {
    const before = await findTicket(trx, id, { lock: true });
    if (before.status === 'resolved' || before.status === 'closed') {
      throw new ValidationError(`ticket #${id} is already ${before.status}`, {
        hint: `to change it, reopen it first: \`crm ticket update ${id} --status open --comment "why"\``,
      });
    }
    const now = meta.now.toISOString();
    const after: TicketRow = {
      ...before,
      status: 'resolved',
      resolved_at: now,
      solution,
      first_response_at: before.first_response_at ?? now,
      updated_at: now,
    };
    await trx
      .updateTable('tickets')
      .set({ status: after.status, resolved_at: after.resolved_at, solution, first_response_at: after.first_response_at, updated_at: now })
      .where('id', '=', id)
      .execute();
    const audit = await beginAudit(trx, meta, {
      action: 'ticket.resolve',
      entity: 'ticket',
      entityId: id,
      customerId: before.customer_id,
      summary: `#${id} resolved`,
    });
    await audit.updated('tickets', id, before, after);
    await addEvent(trx, audit, { ticketId: id, at: now, kind: 'status', from: before.status, to: 'resolved', comment: solution, actor: meta.actor.user });
    return after;
  });
}

export interface RateResult {
  rating: TicketRatingRow;
  /** The rating this one replaces, if the ticket had been rated before. */
  replaced: TicketRatingRow | null;
}

/** Records a CSAT score on a resolved or closed ticket; a new rating supersedes the current one. */
export async function rateTicket(db: Kysely<DB>, id: number, input: { score: number; comment?: string | null }, meta: WriteMeta): Promise<RateResult> {
  return db.transaction().execute(async (trx) => {
    const ticket = await findTicket(trx, id, { lock: true });
    if (ticket.status !== 'resolved' && ticket.status !== 'closed') {
      throw new ValidationError(`ticket #${id} is ${ticket.status}: only a resolved or closed ticket can be rated`, {
        hint: `resolve it first with \`crm ticket resolve ${id} --solution TEXT\``,
      });
    }
    const now = meta.now.toISOString();
    const audit = await beginAudit(trx, meta, {
      action: 'ticket.rate',
      entity: 'ticket',
      entityId: id,
      customerId: ticket.customer_id,
      summary: `#${id} rated ${input.score}`,
    });
    const current = await trx.selectFrom('ticket_ratings').selectAll().where('ticket_id', '=', id).where('superseded_at', 'is', null).executeTakeFirst();
    if (current) {
      await trx.updateTable('ticket_ratings').set({ superseded_at: now }).where('id', '=', current.id).execute();
      await audit.updated('ticket_ratings', current.id, current, { ...current, superseded_at: now });
    }
    const rating = await trx
      .insertInto('ticket_ratings')
      .values({ ticket_id: id, score: input.score, comment: input.comment ?? null, rated_at: now, superseded_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit.inserted('ticket_ratings', rating.id, rating);
    return { rating, replaced: current ?? null };
  });
}

export interface TicketDetail {
  ticket: TicketView;
  events: TicketEventRow[];
  ratings: TicketRatingRow[];
}

export async function showTicket(db: Db, id: number, now: Date): Promise<TicketDetail> {
  const ticket = await findTicket(db, id);
  const customer = await db.selectFrom('customers').select('name').where('id', '=', ticket.customer_id).executeTakeFirstOrThrow();
  const events = await db.selectFrom('ticket_events').selectAll().where('ticket_id', '=', id).orderBy('at').orderBy('id').execute();
  const ratings = await db.selectFrom('ticket_ratings').selectAll().where('ticket_id', '=', id).orderBy('rated_at').orderBy('id').execute();
  return { ticket: { ...ticket, customer_name: customer.name, overdue: isOverdue(ticket, now) }, events, ratings };
}

/** One line of a customer's timeline about their tickets (for `customer show`). */
export interface TicketTimelineEntry {
  at: string;
  ticketId: number;
  /** `opened`, `pending`, `resolved`, `closed`, `reopened`, `rated`. */
  event: string;
  summary: string;
}

/**
 * A customer's tickets as timeline entries: openings, status changes (with the solution or the
 * reason for reopening) and ratings, oldest first. Comments and triage stay in `ticket show`.
 */
export async function ticketTimeline(db: Db, customerId: number): Promise<TicketTimelineEntry[]> {
  const tickets = await db.selectFrom('tickets').select(['id', 'subject', 'kind', 'priority']).where('customer_id', '=', customerId).execute();
  if (tickets.length === 0) return [];
  const byId = new Map(tickets.map((t) => [t.id, t]));
  const ids = [...byId.keys()];
  const events = await db
    .selectFrom('ticket_events')
    .select(['ticket_id', 'at', 'kind', 'from_value', 'to_value', 'comment'])
    .where('ticket_id', 'in', ids)
    .where('kind', 'in', ['opened', 'status'])
    .execute();
  const ratings = await db.selectFrom('ticket_ratings').select(['ticket_id', 'score', 'comment', 'rated_at']).where('ticket_id', 'in', ids).execute();
  const entries: TicketTimelineEntry[] = [];
  for (const e of events) {
    const t = byId.get(e.ticket_id)!;
    if (e.kind === 'opened') {
      entries.push({ at: e.at, ticketId: t.id, event: 'opened', summary: `#${t.id} ${t.subject} (${t.kind}, ${t.priority})` });
      continue;
    }
    const event = e.to_value !== null && isReopen(e.from_value ?? 'open', e.to_value) ? 'reopened' : (e.to_value ?? 'status');
    entries.push({ at: e.at, ticketId: t.id, event, summary: `#${t.id} ${event}${e.comment ? `: ${e.comment}` : ''}` });
  }
  for (const r of ratings) {
    entries.push({ at: r.rated_at, ticketId: r.ticket_id, event: 'rated', summary: `#${r.ticket_id} rated ${r.score}/5${r.comment ? `: ${r.comment}` : ''}` });
  }
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
