// The agenda for one local day: open tasks overdue and due that day, open tickets that are past
// their due time or urgent, open deals closing in that ISO week, and customers going quiet.
// Read-only; tickets and deals are read straight from their tables.
import { sql, type Kysely, type Transaction } from 'kysely';
import { columnEqualsIgnoringCase } from '../db/dialect.js';
import { customerLabelSql } from '../db/customer-label.js';
import type { DB, DealStage, Priority, TicketStatus } from '../db/schema.js';
import { addDays, daysBetween, endOfLocalDay, localDay, startOfLocalDay } from '../domain/dates.js';
import { isoWeekOf } from '../domain/tasks.js';
import { ACTIVE_STATUSES } from '../domain/tickets.js';
import { effectiveProbability } from '../domain/deals.js';
import { probabilityDefaults } from './deals.js';
import { listTasks, openTasksBefore, type Task } from './tasks.js';

type Db = Kysely<DB> | Transaction<DB>;

export const OPEN_DEAL_STAGES: readonly DealStage[] = ['lead', 'qualified', 'proposal', 'negotiation'];

export interface AgendaInput {
  /** The local calendar day, `YYYY-MM-DD`. */
  day: string;
  /** Only tasks and tickets assigned to this person (deals and customers have no owner). */
  assignee?: string;
  /** A customer with no activity for more than this many days is going quiet (config quiet_days). */
  quietDays: number;
  /** At most this many quiet customers are listed, the most recently quiet first. */
  quietLimit?: number;
}

export interface AgendaTicket {
  id: number;
  customerId: number;
  customerName: string;
  subject: string;
  priority: Priority;
  status: TicketStatus;
  assignee: string | null;
  dueAt: string | null;
  overdue: boolean;
}

export interface AgendaDeal {
  id: number;
  customerId: number;
  customerName: string;
  title: string;
  stage: DealStage;
  valueCents: number;
  probability: number;
  closeDate: string;
}

export interface AgendaQuietCustomer {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  lastContact: string;
  daysSince: number;
}

export interface Agenda {
  day: string;
  week: { monday: string; sunday: string; label: string };
  assignee: string | null;
  /** The instant tickets are judged overdue at: now for today, else the end of the day. */
  asOf: string;
  overdueTasks: Task[];
  dueTasks: Task[];
  tickets: AgendaTicket[];
  deals: AgendaDeal[];
  quiet: AgendaQuietCustomer[];
  quietTotal: number;
}

export async function buildAgenda(db: Db, input: AgendaInput, now: Date): Promise<Agenda> {
  const { day, assignee } = input;
  const asOf = day === localDay(now) ? now : endOfLocalDay(day);
  const asOfIso = asOf.toISOString();
  const week = isoWeekOf(day);

  const overdueTasks = await openTasksBefore(db, day, assignee);
  const dueTasks = await listTasks(db, { due: { day }, assignee, status: 'open' }, now);

  let ticketQuery = db
    .selectFrom('tickets')
    .innerJoin('customers', 'customers.id', 'tickets.customer_id')
    .select([
      'tickets.id',
      'tickets.customer_id',
      'customers.name as customer_name',
      'tickets.subject',
      'tickets.priority',
      'tickets.status',
      'tickets.assignee',
      'tickets.due_at',
    ])
    .where('tickets.status', 'in', [...ACTIVE_STATUSES])
    .where((eb) => eb.or([eb('tickets.due_at', '<', asOfIso), eb('tickets.priority', '=', 'urgent')]));
  if (assignee !== undefined) ticketQuery = ticketQuery.where(columnEqualsIgnoringCase(db, 'tickets.assignee', assignee));
  const tickets = (await ticketQuery.execute())
    .map((t) => ({
      id: t.id,
      customerId: t.customer_id,
      customerName: t.customer_name,
      subject: t.subject,
      priority: t.priority,
      status: t.status,
      assignee: t.assignee,
      dueAt: t.due_at,
      overdue: t.due_at !== null && t.due_at < asOfIso,
    }))
    // Overdue first (longest overdue on top), then urgent ones by due time.
    .sort((a, b) => Number(b.overdue) - Number(a.overdue) || (a.dueAt ?? '~').localeCompare(b.dueAt ?? '~') || a.id - b.id);

  const probabilities = await probabilityDefaults(db);
  const deals = (
    await db
      .selectFrom('deals')
      .innerJoin('customers', 'customers.id', 'deals.customer_id')
      .select(['deals.id', 'deals.customer_id', 'customers.name as customer_name', 'deals.title', 'deals.stage', 'deals.value_cents', 'deals.probability', 'deals.close_date'])
      .where('deals.stage', 'in', [...OPEN_DEAL_STAGES])
      .where('deals.close_date', '>=', week.monday)
      .where('deals.close_date', '<=', week.sunday)
      .orderBy('deals.close_date')
      .orderBy('deals.value_cents', 'desc')
      .orderBy('deals.id')
      .execute()
  ).map((d) => ({
    id: d.id,
    customerId: d.customer_id,
    customerName: d.customer_name,
    title: d.title,
    stage: d.stage,
    valueCents: d.value_cents,
    // The deal's own probability, else its stage's default: the figure `deal list` shows.
    probability: effectiveProbability(d.stage, d.probability, probabilities),
    closeDate: d.close_date!,
  }));

  // Going quiet: spoke to them before, but not since the cut-off day began. Activities after the
  // agenda's day are ignored, so an agenda for a past day reads as it would have then.
  const cutoff = startOfLocalDay(addDays(day, -input.quietDays)).toISOString();
  const endOfDay = endOfLocalDay(day).toISOString();
  const lastPerCustomer = sql`SELECT customer_id, max(at) AS last FROM activities WHERE at < ${endOfDay} GROUP BY customer_id HAVING max(at) < ${cutoff}`;
  // One pass over activities: the window count is taken before LIMIT, so it is the full total.
  const quietRows = await sql<{ id: number; name: string; email: string | null; phone: string | null; last: string; total: number }>`
    SELECT c.id, ${sql.raw(customerLabelSql('c'))} AS name, c.email, c.phone, q.last, count(*) OVER () AS total
    FROM (${lastPerCustomer}) q JOIN customers c ON c.id = q.customer_id
    ORDER BY q.last DESC, c.id
    LIMIT ${input.quietLimit ?? 25}`.execute(db);
  const quiet = quietRows.rows.map((r) => ({
    id: r.id,
    name: r.name,
    email: r.email,
    phone: r.phone,
    lastContact: r.last,
    daysSince: daysBetween(localDay(new Date(r.last)), day),
  }));

  return {
    day,
    week,
    assignee: assignee ?? null,
    asOf: asOfIso,
    overdueTasks,
    dueTasks,
    tickets,
    deals,
    quiet,
    quietTotal: Number(quietRows.rows[0]?.total ?? 0),
  };
}
