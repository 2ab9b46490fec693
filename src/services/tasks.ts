// Tasks: follow-ups on a customer, due on a day or at a time, optionally recurring. Adding,
// listing, completing (which notes it on the customer's timeline and schedules the next
// occurrence), editing and removing; and "when did we last speak to them", which
// `customer list --not-contacted` and `task add --after-last-contact` rest on.
// Every write records an audit entry in its transaction.
import { sql, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { columnEqualsIgnoringCase } from '../db/dialect.js';
import type { DB, TaskRow } from '../db/schema.js';
import { NotFoundError, UsageError, ValidationError } from '../domain/errors.js';
import { localDay, splitDay, startOfLocalDay } from '../domain/dates.js';
import {
  addInterval,
  dateOnlyDue,
  dueBounds,
  dueDay,
  dueSortKey,
  formatInterval,
  isoWeekOf,
  nextOccurrence,
  parseInterval,
  priorityRank,
  type Due,
  type DueBounds,
  type Interval,
  type TaskPriority,
} from '../domain/tasks.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { describeCustomer, resolveCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface Task {
  id: number;
  customerId: number;
  customerName: string;
  title: string;
  due: Due;
  assignee: string | null;
  priority: TaskPriority;
  dealId: number | null;
  ticketId: number | null;
  every: string | null;
  status: 'open' | 'done';
  doneAt: string | null;
  note: string | null;
  recurredFrom: number | null;
  createdAt: string;
}

type TaskWithCustomer = TaskRow & { customer_name: string };

function toTask(row: TaskWithCustomer): Task {
  return {
    id: row.id,
    customerId: row.customer_id,
    customerName: row.customer_name,
    title: row.title,
    due: { dueAt: row.due_at, hasTime: row.due_has_time === 1 },
    assignee: row.assignee,
    priority: row.priority,
    dealId: row.deal_id,
    ticketId: row.ticket_id,
    every: row.every,
    status: row.status,
    doneAt: row.done_at,
    note: row.note,
    recurredFrom: row.recurred_from,
    createdAt: row.created_at,
  };
}

function selectTasks(db: Db) {
  return db.selectFrom('tasks').innerJoin('customers', 'customers.id', 'tasks.customer_id').selectAll('tasks').select('customers.name as customer_name');
}

/** Earliest due first (date-only tasks at the end of their day), then the most urgent, then oldest. */
export function sortTasks(tasks: Task[]): Task[] {
  // Keys computed once per task: the comparator runs n log n times.
  const keyed = tasks.map((task) => ({ task, due: dueSortKey(task.due), rank: priorityRank(task.priority) }));
  keyed.sort((a, b) => a.due - b.due || b.rank - a.rank || a.task.id - b.task.id);
  return keyed.map((k) => k.task);
}

// ---------------------------------------------------------------------------------------------
// Due windows as SQL. Date-only tasks compare by their day text, timed ones by their instant;
// every value is a bound parameter.

export function dueWithin(b: DueBounds): RawBuilder<SqlBool> {
  return sql<SqlBool>`((tasks.due_has_time = 0 AND tasks.due_at >= ${b.dayFrom} AND tasks.due_at < ${b.dayTo})
    OR (tasks.due_has_time = 1 AND tasks.due_at >= ${b.instantFrom} AND tasks.due_at < ${b.instantTo}))`;
}

/** Due before a local day starts. */
function dueBeforeDay(day: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`((tasks.due_has_time = 0 AND tasks.due_at < ${day})
    OR (tasks.due_has_time = 1 AND tasks.due_at < ${startOfLocalDay(day).toISOString()}))`;
}

/** Overdue at `now`: a timed task whose time has passed, a date-only task whose day has ended. */
function overdueAt(now: Date): RawBuilder<SqlBool> {
  return sql<SqlBool>`((tasks.due_has_time = 0 AND tasks.due_at < ${localDay(now)})
    OR (tasks.due_has_time = 1 AND tasks.due_at < ${now.toISOString()}))`;
}

// ---------------------------------------------------------------------------------------------
// Last contact.

// ---------------------------------------------------------------------------------------------
// Adding.

export interface TaskFields {
  title: string;
  assignee?: string | null;
  priority?: TaskPriority;
  dealId?: number | null;
  ticketId?: number | null;
  every?: Interval | null;
}

export interface AddTasksInput extends TaskFields {
  /**
   * One customer (a reference), every customer with a tag, or a given set of customers (e.g. a
   * segment's members; `label` describes them in the audit summary, e.g. `in segment vip`).
   */
  target: { customer: string } | { tag: string } | { customerIds: readonly number[]; label: string };
  /** A fixed due date, or this long after each customer's last contact (date-only). */
  when: { due: Due } | { afterLastContact: Interval };
}

export interface AddTasksResult {
  tasks: Task[];
  /** Tag or set members skipped because they already have an open task with the same title. */
  skipped: number;
}

async function assertLinks(db: Db, customerId: number, fields: Pick<TaskFields, 'dealId' | 'ticketId'>): Promise<void> {
  if (fields.dealId != null) {
    const deal = await db.selectFrom('deals').select(['id', 'customer_id']).where('id', '=', fields.dealId).executeTakeFirst();
    if (!deal) throw new NotFoundError(`no deal with id ${fields.dealId}`, { hint: 'find ids with `crm deal list`' });
    if (deal.customer_id !== customerId) throw new ValidationError(`deal #${deal.id} belongs to another customer (#${deal.customer_id})`);
  }
  if (fields.ticketId != null) {
    const ticket = await db.selectFrom('tickets').select(['id', 'customer_id']).where('id', '=', fields.ticketId).executeTakeFirst();
    if (!ticket) throw new NotFoundError(`no ticket with id ${fields.ticketId}`, { hint: 'find ticket numbers with `crm ticket list`' });
    if (ticket.customer_id !== customerId) throw new ValidationError(`ticket #${ticket.id} belongs to another customer (#${ticket.customer_id})`);
  }
}

/** Last contact per customer id (latest activity, else when the customer was added). */
async function lastContacts(db: Db, customerIds: readonly number[]): Promise<Map<number, string>> {
  const result = new Map<number, string>();
  for (let i = 0; i < customerIds.length; i += 500) {
    const chunk = customerIds.slice(i, i + 500);
    const rows = await db
      .selectFrom('customers')
      .select('customers.id')
      .select(sql<string>`coalesce((SELECT max(a.at) FROM activities a WHERE a.customer_id = customers.id), customers.created_at)`.as('last'))
      .where('customers.id', 'in', chunk)
      .execute();
    for (const r of rows) result.set(r.id, r.last);
  }
  return result;
}

export async function addTasks(db: Kysely<DB>, input: AddTasksInput, meta: WriteMeta): Promise<AddTasksResult> {
  return db.transaction().execute(async (trx) => {
    let customers: { id: number; name: string; email: string | null }[];
    let skipped = 0;
    if ('customer' in input.target) {
      const customer = await resolveCustomer(trx, input.target.customer);
      await assertLinks(trx, customer.id, input);
      customers = [customer];
    } else {
      let members: { id: number; name: string; email: string | null }[];
      if ('tag' in input.target) {
        const tag = await trx.selectFrom('tags').select(['id', 'name']).where('name', '=', input.target.tag).executeTakeFirst();
        if (!tag) throw new NotFoundError(`no tag named "${input.target.tag}"`, { hint: 'see the tags in use with `crm segment breakdown --by tag`' });
        members = await trx
          .selectFrom('customers')
          .innerJoin('customer_tags', 'customer_tags.customer_id', 'customers.id')
          .select(['customers.id', 'customers.name', 'customers.email'])
          .where('customer_tags.tag_id', '=', tag.id)
          .orderBy('customers.id')
          .execute();
      } else {
        members = [];
        const ids = [...new Set(input.target.customerIds)].sort((a, b) => a - b);
        for (let i = 0; i < ids.length; i += 500) {
          members.push(
            ...(await trx
              .selectFrom('customers')
              .select(['id', 'name', 'email'])
              .where('id', 'in', ids.slice(i, i + 500))
              .orderBy('id')
              .execute()),
          );
        }
      }
      // Re-running the same follow-up (e.g. from cron) must not pile up duplicates.
      const busy = new Set<number>();
      const memberIds = members.map((m) => m.id);
      for (let i = 0; i < memberIds.length; i += 500) {
        const rows = await trx
          .selectFrom('tasks')
          .select('customer_id')
          .where('customer_id', 'in', memberIds.slice(i, i + 500))
          .where('status', '=', 'open')
          .where('title', '=', input.title)
          .execute();
        for (const r of rows) busy.add(r.customer_id);
      }
      customers = members.filter((m) => !busy.has(m.id));
      skipped = members.length - customers.length;
    }

    // Nothing to add (every tag member already has the task): no write, no audit entry.
    if (customers.length === 0) return { tasks: [], skipped };
    const contacts = 'afterLastContact' in input.when ? await lastContacts(trx, customers.map((c) => c.id)) : undefined;
    const at = meta.now.toISOString();
    const single = customers.length === 1 && 'customer' in input.target;
    const audit = await beginAudit(trx, meta, {
      action: 'task.add',
      entity: 'task',
      customerId: single ? customers[0]!.id : null,
      summary: single
        ? `"${input.title}" for ${describeCustomer(customers[0]!)}`
        : `"${input.title}" for ${customers.length} customer${customers.length === 1 ? '' : 's'} ${
            'tag' in input.target ? `tagged ${input.target.tag}` : 'label' in input.target ? input.target.label : ''
          }`,
    });
    const tasks: Task[] = [];
    for (const customer of customers) {
      const due =
        'due' in input.when
          ? input.when.due
          : dateOnlyDue(addInterval(localDay(new Date(contacts!.get(customer.id)!)), input.when.afterLastContact));
      const row = await trx
        .insertInto('tasks')
        .values({
          customer_id: customer.id,
          title: input.title,
          due_at: due.dueAt,
          due_has_time: due.hasTime ? 1 : 0,
          assignee: input.assignee ?? null,
          priority: input.priority ?? 'normal',
          deal_id: input.dealId ?? null,
          ticket_id: input.ticketId ?? null,
          every: input.every ? formatInterval(input.every) : null,
          recurred_from: null,
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit.inserted('tasks', row.id, row);
      tasks.push(toTask({ ...row, customer_name: customer.name }));
    }
    if (single) await audit.setEntity(tasks[0]!.id, customers[0]!.id);
    return { tasks, skipped };
  });
}

// ---------------------------------------------------------------------------------------------
// Reading.

export type DueFilter = 'today' | 'overdue' | 'this-week' | { day: string };

export interface TaskFilter {
  due?: DueFilter;
  assignee?: string;
  customerId?: number;
  status?: 'open' | 'done' | 'all';
}

/** Tasks matching the filter, earliest due first. `overdue` implies open tasks. */
export async function listTasks(db: Db, filter: TaskFilter, now: Date): Promise<Task[]> {
  let query = selectTasks(db);
  const status = filter.due === 'overdue' ? 'open' : (filter.status ?? 'open');
  if (status !== 'all') query = query.where('tasks.status', '=', status);
  if (filter.assignee !== undefined) query = query.where(columnEqualsIgnoringCase(db, 'tasks.assignee', filter.assignee));
  if (filter.customerId !== undefined) query = query.where('tasks.customer_id', '=', filter.customerId);
  const today = localDay(now);
  if (filter.due === 'overdue') query = query.where(overdueAt(now));
  else if (filter.due === 'today') query = query.where(dueWithin(dueBounds(today, today)));
  else if (filter.due === 'this-week') {
    const week = isoWeekOf(today);
    query = query.where(dueWithin(dueBounds(week.monday, week.sunday)));
  } else if (filter.due) query = query.where(dueWithin(dueBounds(filter.due.day, filter.due.day)));
  return sortTasks((await query.execute()).map(toTask));
}

export async function getTask(db: Db, id: number): Promise<Task> {
  const row = await selectTasks(db).where('tasks.id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(`no task with id ${id}`, { hint: 'list tasks with `crm task list --status all`' });
  return toTask(row);
}

/** Open tasks due before a local day starts (the agenda's "overdue"). */
export async function openTasksBefore(db: Db, day: string, assignee?: string): Promise<Task[]> {
  let query = selectTasks(db).where('tasks.status', '=', 'open').where(dueBeforeDay(day));
  if (assignee !== undefined) query = query.where(columnEqualsIgnoringCase(db, 'tasks.assignee', assignee));
  return sortTasks((await query.execute()).map(toTask));
}

// ---------------------------------------------------------------------------------------------
// Completing.

export interface CompleteResult {
  task: Task;
  activityId: number;
  next: Task | null;
}

/** The day of month a monthly series aims for: the first task of the series' due day. */
async function seriesAnchorDay(db: Db, task: Task): Promise<number> {
  let current: Pick<TaskRow, 'due_at' | 'due_has_time' | 'recurred_from' | 'every'> = {
    due_at: task.due.dueAt,
    due_has_time: task.due.hasTime ? 1 : 0,
    recurred_from: task.recurredFrom,
    every: task.every,
  };
  const seen = new Set<number>([task.id]);
  while (current.recurred_from !== null && !seen.has(current.recurred_from)) {
    seen.add(current.recurred_from);
    const parent = await db.selectFrom('tasks').select(['due_at', 'due_has_time', 'recurred_from', 'every']).where('id', '=', current.recurred_from).executeTakeFirst();
    if (!parent || parent.every !== task.every) break;
    current = parent;
  }
  return splitDay(dueDay({ dueAt: current.due_at, hasTime: current.due_has_time === 1 }))[2];
}

export async function completeTask(db: Kysely<DB>, input: { id: number; note?: string | null }, meta: WriteMeta): Promise<CompleteResult> {
  return db.transaction().execute(async (trx) => {
    const task = await getTask(trx, input.id);
    if (task.status === 'done') {
      throw new ValidationError(`task #${task.id} is already done (${localDay(new Date(task.doneAt ?? task.createdAt))})`, {
        hint: task.every ? 'its next occurrence was created when it was done: see `crm task list`' : undefined,
      });
    }
    const at = meta.now.toISOString();
    const before = await trx.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    const after = await trx
      .updateTable('tasks')
      .set({ status: 'done', done_at: at, note: input.note ?? before.note, updated_at: at })
      .where('id', '=', task.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'task.done',
      entity: 'task',
      entityId: task.id,
      customerId: task.customerId,
      summary: `#${task.id} "${task.title}"`,
    });
    await audit.updated('tasks', task.id, before, after);

    const activity = await trx
      .insertInto('activities')
      .values({
        customer_id: task.customerId,
        type: 'note',
        direction: null,
        at,
        summary: `Task #${task.id} done: ${task.title}${input.note ? ` — ${input.note}` : ''}`,
        created_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit.inserted('activities', activity.id, activity);

    let next: Task | null = null;
    const existing = await trx.selectFrom('tasks').select('id').where('recurred_from', '=', task.id).executeTakeFirst();
    if (task.every && !existing) {
      const interval = parseInterval(task.every);
      const anchor = interval.unit === 'm' || interval.unit === 'y' ? await seriesAnchorDay(trx, task) : undefined;
      const due = nextOccurrence(task.due, interval, meta.now, anchor);
      const row = await trx
        .insertInto('tasks')
        .values({
          customer_id: task.customerId,
          title: task.title,
          due_at: due.dueAt,
          due_has_time: due.hasTime ? 1 : 0,
          assignee: task.assignee,
          priority: task.priority,
          deal_id: task.dealId,
          ticket_id: task.ticketId,
          every: task.every,
          recurred_from: task.id,
          created_at: at,
          updated_at: at,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit.inserted('tasks', row.id, row);
      next = toTask({ ...row, customer_name: task.customerName });
    }
    return { task: toTask({ ...after, customer_name: task.customerName }), activityId: activity.id, next };
  });
}

// ---------------------------------------------------------------------------------------------
// Editing and removing.

export interface TaskChanges {
  title?: string;
  due?: Due;
  assignee?: string | null;
  priority?: TaskPriority;
  every?: Interval | null;
  dealId?: number | null;
  ticketId?: number | null;
}

export async function editTask(db: Kysely<DB>, input: { id: number; changes: TaskChanges }, meta: WriteMeta): Promise<Task> {
  const { changes } = input;
  if (Object.keys(changes).length === 0) {
    throw new UsageError('nothing to change', { hint: 'give at least one of --title, --due, --assignee, --priority, --every, --deal, --ticket' });
  }
  return db.transaction().execute(async (trx) => {
    const task = await getTask(trx, input.id);
    await assertLinks(trx, task.customerId, changes);
    const before = await trx.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    const after = await trx
      .updateTable('tasks')
      .set({
        ...(changes.title !== undefined ? { title: changes.title } : {}),
        ...(changes.due !== undefined ? { due_at: changes.due.dueAt, due_has_time: changes.due.hasTime ? 1 : 0 } : {}),
        ...(changes.assignee !== undefined ? { assignee: changes.assignee } : {}),
        ...(changes.priority !== undefined ? { priority: changes.priority } : {}),
        ...(changes.every !== undefined ? { every: changes.every ? formatInterval(changes.every) : null } : {}),
        ...(changes.dealId !== undefined ? { deal_id: changes.dealId } : {}),
        ...(changes.ticketId !== undefined ? { ticket_id: changes.ticketId } : {}),
        updated_at: meta.now.toISOString(),
      })
      .where('id', '=', task.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'task.edit',
      entity: 'task',
      entityId: task.id,
      customerId: task.customerId,
      summary: `#${task.id} "${after.title}"`,
    });
    await audit.updated('tasks', task.id, before, after);
    return toTask({ ...after, customer_name: task.customerName });
  });
}

export async function removeTask(db: Kysely<DB>, id: number, meta: WriteMeta): Promise<Task> {
  return db.transaction().execute(async (trx) => {
    const task = await getTask(trx, id);
    const audit = await beginAudit(trx, meta, {
      action: 'task.rm',
      entity: 'task',
      entityId: task.id,
      customerId: task.customerId,
      summary: `#${task.id} "${task.title}"`,
    });
    // Later occurrences lose their link (the foreign key would do it silently; undo needs it recorded).
    const children = await trx.selectFrom('tasks').selectAll().where('recurred_from', '=', task.id).execute();
    for (const child of children) {
      const after = await trx.updateTable('tasks').set({ recurred_from: null }).where('id', '=', child.id).returningAll().executeTakeFirstOrThrow();
      await audit.updated('tasks', child.id, child, after);
    }
    const before = await trx.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    await trx.deleteFrom('tasks').where('id', '=', task.id).execute();
    await audit.deleted('tasks', task.id, before);
    return task;
  });
}

