// Customers: the profile, tags and custom fields, and resolving a `<customer>` reference
// (id, email, or a unique name) to a row. Every write records an audit entry in its transaction.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CustomerRow, DB } from '../db/schema.js';
import { forUpdate } from '../db/row-locks.js';
import { customerLabel } from '../domain/customers.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { dueTimelineInstant } from '../domain/tasks.js';
import { phoneDigits, type Gender } from '../domain/validation.js';
import { beginAudit, type AuditRecorder, type WriteMeta } from './audit.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface CustomerInput {
  /** Optional when an email, phone or external id is given. */
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  age?: number | null;
  gender?: Gender | null;
  company?: string | null;
  city?: string | null;
  source?: string | null;
  /** The customer's number in the shop or ERP; unique. */
  externalId?: string | null;
  /** Who looks after the customer; undefined: the database's default (PostgreSQL: the session's user). */
  owner?: string | null;
  tags?: string[];
  fields?: Record<string, string>;
}

/**
 * One line naming a customer, for messages and candidate lists: `#12 Li Wei <li@example.com>`; a
 * customer without a name is shown by the best of its other keys (domain/customers.ts).
 */
export function describeCustomer(c: Pick<CustomerRow, 'id' | 'name' | 'email'> & Partial<Pick<CustomerRow, 'phone' | 'external_id'>>): string {
  if (!c.name) return `#${c.id} ${customerLabel({ name: null, email: c.email, phone: c.phone ?? null, external_id: c.external_id ?? null })}`;
  return `#${c.id} ${c.name}${c.email ? ` <${c.email}>` : ''}`;
}

/**
 * Finds the one customer a reference means: all digits is an id, an `@` is an email (any case),
 * anything else a name that must match exactly one customer (any case).
 */
export async function resolveCustomer(db: Db, reference: string): Promise<CustomerRow> {
  const ref = reference.trim();
  if (/^\d+$/.test(ref)) {
    const row = await db.selectFrom('customers').selectAll().where('id', '=', Number(ref)).executeTakeFirst();
    if (!row) throw new NotFoundError(`no customer with id ${ref}`, { hint: 'find ids with `crm customer list --search TEXT`' });
    return row;
  }
  if (ref.includes('@')) {
    const row = await db.selectFrom('customers').selectAll().where('email', '=', ref).executeTakeFirst();
    if (!row) throw new NotFoundError(`no customer with email ${ref}`, { hint: 'search with `crm customer list --search TEXT`' });
    return row;
  }
  const rows = await db
    .selectFrom('customers')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['name']), '=', ref.toLowerCase()))
    .orderBy('id')
    .limit(11)
    .execute();
  if (rows.length === 0) {
    throw new NotFoundError(`no customer named "${ref}"`, { hint: 'use an id or email, or search with `crm customer list --search TEXT`' });
  }
  if (rows.length > 1) {
    const shown = rows.slice(0, 10).map((r) => `  ${describeCustomer(r)}`);
    if (rows.length > 10) shown.push('  …');
    throw new NotFoundError(`"${ref}" matches ${rows.length > 10 ? 'more than 10' : rows.length} customers`, {
      details: shown,
      hint: 'use the id or email instead',
    });
  }
  return rows[0]!;
}

/** Throws a ValidationError when another customer already has this email. */
export async function assertEmailFree(db: Db, email: string, exceptId?: number): Promise<void> {
  let query = db.selectFrom('customers').select(['id', 'name', 'email']).where('email', '=', email);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const other = await query.executeTakeFirst();
  if (other) {
    throw new ValidationError(`a customer with email ${email} already exists: ${describeCustomer(other)}`, {
      hint: `edit that customer with \`crm customer edit ${other.id}\``,
    });
  }
}

/** Throws a ValidationError when another customer already has this external id. */
export async function assertExternalIdFree(db: Db, externalId: string, exceptId?: number): Promise<void> {
  let query = db.selectFrom('customers').select(['id', 'name', 'email']).where('external_id', '=', externalId);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const other = await query.executeTakeFirst();
  if (other) {
    throw new ValidationError(`a customer with external id ${externalId} already exists: ${describeCustomer(other)}`, {
      hint: `edit that customer with \`crm customer edit ${other.id}\``,
    });
  }
}

/** Tag ids for names, creating missing tags (recorded in `audit` when given). */
export async function ensureTags(db: Db, names: readonly string[], audit?: AuditRecorder): Promise<number[]> {
  const ids: number[] = [];
  for (const name of new Set(names.map((n) => n.trim()).filter(Boolean))) {
    const existing = await db.selectFrom('tags').select('id').where('name', '=', name).executeTakeFirst();
    if (existing) ids.push(existing.id);
    else {
      const { id } = await db.insertInto('tags').values({ name }).returning('id').executeTakeFirstOrThrow();
      await audit?.inserted('tags', id, { id, name });
      ids.push(id);
    }
  }
  return ids;
}

/**
 * Tags a customer, creating tags as needed; returns the names newly attached. customer_tags rows
 * have no id of their own: the audit change carries the customer id and the row's key columns.
 */
async function addTags(db: Db, audit: AuditRecorder, customerId: number, names: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (const tagId of await ensureTags(db, names, audit)) {
    const result = await db
      .insertInto('customer_tags')
      .values({ customer_id: customerId, tag_id: tagId })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) {
      const { name } = await db.selectFrom('tags').select('name').where('id', '=', tagId).executeTakeFirstOrThrow();
      await audit.inserted('customer_tags', customerId, { customer_id: customerId, tag_id: tagId, tag: name });
      added.push(name);
    }
  }
  return added;
}

export async function addCustomer(db: Kysely<DB>, input: CustomerInput, meta: WriteMeta): Promise<CustomerRow> {
  return db.transaction().execute(async (trx) => {
    if (!input.name && !input.email && !input.phone && !input.externalId) {
      throw new ValidationError('a customer needs at least one of a name, email, phone or external id');
    }
    if (input.email) await assertEmailFree(trx, input.email);
    if (input.externalId) await assertExternalIdFree(trx, input.externalId);
    const at = meta.now.toISOString();
    const row = await trx
      .insertInto('customers')
      .values({
        name: input.name ?? '',
        email: input.email ?? null,
        phone: input.phone ?? null,
        phone_digits: input.phone ? phoneDigits(input.phone) : null,
        age: input.age ?? null,
        gender: input.gender ?? null,
        company: input.company ?? null,
        city: input.city ?? null,
        source: input.source ?? null,
        external_id: input.externalId ?? null,
        ...(input.owner !== undefined ? { owner: input.owner } : {}),
        created_at: at,
        updated_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'customer.add',
      entity: 'customer',
      entityId: row.id,
      customerId: row.id,
      summary: describeCustomer(row),
    });
    await audit.inserted('customers', row.id, row);
    await addTags(trx, audit, row.id, input.tags ?? []);
    for (const [key, value] of Object.entries(input.fields ?? {})) {
      await trx.insertInto('customer_fields').values({ customer_id: row.id, key, value }).execute();
      await audit.inserted('customer_fields', row.id, { customer_id: row.id, key, value });
    }
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// One customer: profile, timeline, totals

export type TimelineKind = 'activity' | 'sale' | 'ticket' | 'task';

export interface TimelineEntry {
  /** ISO instant; a sale's day and a date-only task's due day are shown at the start of that local day. */
  at: string;
  kind: TimelineKind;
  id: number;
  /** Short qualifier: `call in`, `voided`, `open high`, `done`… */
  detail: string;
  summary: string;
  amountCents: number | null;
  voided: boolean;
}

export interface CustomerTotals {
  orders: number;
  totalSpentCents: number;
  lastPurchase: string | null;
  openTickets: number;
  activities: number;
  lastContact: string | null;
  openTasks: number;
}

export interface CustomerProfile {
  customer: CustomerRow;
  tags: string[];
  fields: { key: string; value: string }[];
  totals: CustomerTotals;
  /** Newest first. */
  timeline: TimelineEntry[];
}

async function tagsOf(db: Db, customerId: number): Promise<{ id: number; name: string }[]> {
  return db
    .selectFrom('customer_tags as ct')
    .innerJoin('tags as t', 't.id', 'ct.tag_id')
    .select(['t.id', 't.name'])
    .where('ct.customer_id', '=', customerId)
    // tags.name is NOCASE on SQLite and citext ("C" folding) on PostgreSQL: ordered ignoring case on both.
    .orderBy('t.name')
    .execute();
}

async function fieldsOf(db: Db, customerId: number): Promise<{ key: string; value: string }[]> {
  return db.selectFrom('customer_fields').select(['key', 'value']).where('customer_id', '=', customerId).orderBy('key').execute();
}

/**
 * Everything `customer show` prints. Sales, tickets and tasks are read straight from their tables.
 * `dayStart` turns a sale's local calendar day into the instant it began (injected so this stays
 * free of time-zone knowledge).
 */
export async function customerProfile(db: Db, customerId: number, dayStart: (day: string) => string): Promise<CustomerProfile> {
  const customer = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
  if (!customer) throw new NotFoundError(`no customer with id ${customerId}`);
  const [tags, fields, activities, sales, tickets, tasks] = await Promise.all([
    tagsOf(db, customerId),
    fieldsOf(db, customerId),
    db.selectFrom('activities').selectAll().where('customer_id', '=', customerId).execute(),
    db.selectFrom('sales').selectAll().where('customer_id', '=', customerId).execute(),
    db.selectFrom('tickets').selectAll().where('customer_id', '=', customerId).execute(),
    db.selectFrom('tasks').selectAll().where('customer_id', '=', customerId).execute(),
  ]);
  const timeline: TimelineEntry[] = [];
  for (const a of activities) {
    timeline.push({ at: a.at, kind: 'activity', id: a.id, detail: [a.type, a.direction].filter(Boolean).join(' '), summary: a.summary, amountCents: null, voided: false });
  }
  for (const s of sales) {
    const voided = s.voided_at !== null;
    const what = s.quantity !== 1 ? `${s.product} ×${s.quantity}` : s.product;
    timeline.push({
      at: dayStart(s.sold_on),
      kind: 'sale',
      id: s.id,
      detail: voided ? 'voided' : '',
      summary: [what, s.note, voided && s.void_reason ? `voided: ${s.void_reason}` : null].filter(Boolean).join(' — '),
      amountCents: s.amount_cents,
      voided,
    });
  }
  for (const t of tickets) {
    timeline.push({ at: t.opened_at, kind: 'ticket', id: t.id, detail: `${t.status} ${t.priority}`, summary: t.subject, amountCents: null, voided: false });
  }
  for (const t of tasks) {
    // A date-only task sits at the start of its own local day (its due_at is that day at 00:00 UTC).
    const at = dueTimelineInstant({ dueAt: t.due_at, hasTime: t.due_has_time === 1 });
    timeline.push({ at, kind: 'task', id: t.id, detail: t.status === 'done' ? 'done' : 'due', summary: t.title, amountCents: null, voided: false });
  }
  const order: Record<TimelineKind, number> = { activity: 0, sale: 1, ticket: 2, task: 3 };
  timeline.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : order[a.kind] - order[b.kind] || b.id - a.id));

  const kept = sales.filter((s) => s.voided_at === null);
  // Orders, not lines: an order_id counts once, a sale without one is its own; refunds (negative
  // amounts) are no order and no purchase, and the spend is net of them.
  const purchases = kept.filter((s) => s.amount_cents >= 0);
  const totals: CustomerTotals = {
    orders: new Set(purchases.map((s) => (s.order_id === null ? `s:${s.id}` : `o:${s.order_id}`))).size,
    totalSpentCents: kept.reduce((sum, s) => sum + s.amount_cents, 0),
    lastPurchase: purchases.reduce<string | null>((last, s) => (last === null || s.sold_on > last ? s.sold_on : last), null),
    openTickets: tickets.filter((t) => t.status === 'open' || t.status === 'pending').length,
    activities: activities.length,
    lastContact: activities.reduce<string | null>((last, a) => (last === null || a.at > last ? a.at : last), null),
    openTasks: tasks.filter((t) => t.status === 'open').length,
  };
  return { customer, tags: tags.map((t) => t.name), fields, totals, timeline };
}

// ---------------------------------------------------------------------------------------------
// Editing and removing

export interface CustomerChanges {
  name?: string;
  /** null clears the value. */
  email?: string | null;
  phone?: string | null;
  age?: number | null;
  gender?: Gender | null;
  company?: string | null;
  city?: string | null;
  source?: string | null;
  externalId?: string | null;
  owner?: string | null;
  addTags?: readonly string[];
  removeTags?: readonly string[];
  setFields?: Record<string, string>;
  removeFields?: readonly string[];
}

export interface EditResult {
  customer: CustomerRow;
  /** What changed, in words (`email`, `+tag vip`, `-field plan`); empty when nothing did. */
  changed: string[];
}

const PROFILE_KEYS = ['name', 'email', 'phone', 'age', 'gender', 'company', 'city', 'source'] as const;

export async function editCustomer(db: Kysely<DB>, customerId: number, changes: CustomerChanges, meta: WriteMeta): Promise<EditResult> {
  return db.transaction().execute(async (trx) => {
    // Read under the row's lock: an edit running at the same moment waits, then compares and records
    // against the values this one left; only the fields given are written, so both changes stay.
    const before = await forUpdate(trx, trx.selectFrom('customers').selectAll().where('id', '=', customerId)).executeTakeFirst();
    if (!before) throw new NotFoundError(`no customer with id ${customerId}`);
    const audit = await beginAudit(trx, meta, {
      action: 'customer.edit',
      entity: 'customer',
      entityId: customerId,
      customerId,
      summary: describeCustomer(before),
    });
    const changed: string[] = [];

    const update: Partial<CustomerRow> = {};
    for (const key of PROFILE_KEYS) {
      const value = changes[key];
      if (value === undefined || value === before[key]) continue;
      (update as Record<string, unknown>)[key] = value;
      changed.push(key);
    }
    if (changes.externalId !== undefined && changes.externalId !== before.external_id) {
      if (changes.externalId !== null) await assertExternalIdFree(trx, changes.externalId, customerId);
      update.external_id = changes.externalId;
      changed.push('external_id');
    }
    if (changes.owner !== undefined && changes.owner !== before.owner) {
      update.owner = changes.owner;
      changed.push('owner');
    }
    if (update.email) await assertEmailFree(trx, update.email, customerId);
    if ('phone' in update) update.phone_digits = update.phone ? phoneDigits(update.phone) : null;

    for (const name of new Set((changes.removeTags ?? []).map((t) => t.trim()).filter(Boolean))) {
      const tag = await trx.selectFrom('tags').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
      if (!tag) continue;
      const removed = await trx.deleteFrom('customer_tags').where('customer_id', '=', customerId).where('tag_id', '=', tag.id).executeTakeFirst();
      if (Number(removed.numDeletedRows) > 0) {
        await audit.deleted('customer_tags', customerId, { customer_id: customerId, tag_id: tag.id, tag: tag.name });
        changed.push(`-tag ${tag.name}`);
      }
    }
    for (const name of await addTags(trx, audit, customerId, changes.addTags ?? [])) changed.push(`+tag ${name}`);

    for (const key of changes.removeFields ?? []) {
      const old = await trx.selectFrom('customer_fields').select('value').where('customer_id', '=', customerId).where('key', '=', key).executeTakeFirst();
      if (!old) continue;
      await trx.deleteFrom('customer_fields').where('customer_id', '=', customerId).where('key', '=', key).execute();
      await audit.deleted('customer_fields', customerId, { customer_id: customerId, key, value: old.value });
      changed.push(`-field ${key}`);
    }
    for (const [key, value] of Object.entries(changes.setFields ?? {})) {
      const old = await trx.selectFrom('customer_fields').select('value').where('customer_id', '=', customerId).where('key', '=', key).executeTakeFirst();
      if (old?.value === value) continue;
      if (old) {
        await trx.updateTable('customer_fields').set({ value }).where('customer_id', '=', customerId).where('key', '=', key).execute();
        await audit.updated('customer_fields', customerId, { customer_id: customerId, key, value: old.value }, { customer_id: customerId, key, value });
      } else {
        await trx.insertInto('customer_fields').values({ customer_id: customerId, key, value }).execute();
        await audit.inserted('customer_fields', customerId, { customer_id: customerId, key, value });
      }
      changed.push(`field ${key}`);
    }

    if (changed.length === 0) {
      // Nothing to record: the audit entry would be empty, so the transaction is abandoned.
      throw new NothingChanged(before);
    }
    update.updated_at = meta.now.toISOString();
    const after = await trx.updateTable('customers').set(update).where('id', '=', customerId).returningAll().executeTakeFirstOrThrow();
    await audit.updated('customers', customerId, before, after);
    return { customer: after, changed };
  }).catch((error: unknown) => {
    if (error instanceof NothingChanged) return { customer: error.customer, changed: [] };
    throw error;
  });
}

/** Internal signal: roll back an edit that changed nothing. */
class NothingChanged extends Error {
  constructor(readonly customer: CustomerRow) {
    super('nothing changed');
  }
}

/** What removing a customer takes with it, for the confirmation question. */
export interface RemovalImpact {
  activities: number;
  tickets: number;
  deals: number;
  tasks: number;
  /** Sales are kept, without a customer. */
  sales: number;
}

export async function removalImpact(db: Db, customerId: number): Promise<RemovalImpact> {
  const count = async (table: 'activities' | 'tickets' | 'deals' | 'tasks' | 'sales') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('customer_id', '=', customerId).executeTakeFirstOrThrow()).n);
  return {
    activities: await count('activities'),
    tickets: await count('tickets'),
    deals: await count('deals'),
    tasks: await count('tasks'),
    sales: await count('sales'),
  };
}

/**
 * Deletes a customer and everything that cascades with it (tags, fields, activities and their
 * links, tickets with their events and ratings, deals with their history, tasks); sales stay, with
 * no customer. Every affected row is recorded in the audit entry so it can be restored.
 */
export async function removeCustomer(db: Kysely<DB>, customerId: number, meta: WriteMeta): Promise<CustomerRow> {
  return db.transaction().execute(async (trx) => {
    const customer = await trx.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
    if (!customer) throw new NotFoundError(`no customer with id ${customerId}`);
    const audit = await beginAudit(trx, meta, {
      action: 'customer.rm',
      entity: 'customer',
      entityId: customerId,
      customerId,
      summary: describeCustomer(customer),
    });
    const keyed = async (table: 'customer_tags' | 'customer_fields', rows: Record<string, unknown>[]) => {
      for (const row of rows) await audit.deleted(table, customerId, row);
    };
    await keyed('customer_tags', await trx.selectFrom('customer_tags').selectAll().where('customer_id', '=', customerId).execute());
    await keyed('customer_fields', await trx.selectFrom('customer_fields').selectAll().where('customer_id', '=', customerId).execute());

    const activityIds = trx.selectFrom('activities').select('id').where('customer_id', '=', customerId);
    const links = await trx
      .selectFrom('activity_links')
      .selectAll()
      .where((eb) => eb.or([eb('from_id', 'in', activityIds), eb('to_id', 'in', activityIds)]))
      .execute();
    for (const link of links) await audit.deleted('activity_links', link.from_id, link);
    for (const row of await trx.selectFrom('activities').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('activities', row.id, row);
    }

    const ticketIds = trx.selectFrom('tickets').select('id').where('customer_id', '=', customerId);
    for (const row of await trx.selectFrom('ticket_events').selectAll().where('ticket_id', 'in', ticketIds).execute()) {
      await audit.deleted('ticket_events', row.id, row);
    }
    for (const row of await trx.selectFrom('ticket_ratings').selectAll().where('ticket_id', 'in', ticketIds).execute()) {
      await audit.deleted('ticket_ratings', row.id, row);
    }
    for (const row of await trx.selectFrom('tickets').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('tickets', row.id, row);
    }

    const dealIds = trx.selectFrom('deals').select('id').where('customer_id', '=', customerId);
    for (const row of await trx.selectFrom('deal_stage_history').selectAll().where('deal_id', 'in', dealIds).execute()) {
      await audit.deleted('deal_stage_history', row.id, row);
    }
    const ownDeals = new Set((await dealIds.execute()).map((r) => r.id));
    const ownTickets = new Set((await ticketIds.execute()).map((r) => r.id));
    // Other customers' tasks pointing at these deals or tickets lose the pointer (ON DELETE SET NULL).
    for (const row of await trx
      .selectFrom('tasks')
      .selectAll()
      .where('customer_id', '!=', customerId)
      .where((eb) => eb.or([eb('deal_id', 'in', dealIds), eb('ticket_id', 'in', ticketIds)]))
      .execute()) {
      const after = { ...row };
      if (row.deal_id !== null && ownDeals.has(row.deal_id)) after.deal_id = null;
      if (row.ticket_id !== null && ownTickets.has(row.ticket_id)) after.ticket_id = null;
      await audit.updated('tasks', row.id, row, after);
    }
    for (const row of await trx.selectFrom('deals').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('deals', row.id, row);
    }
    for (const row of await trx.selectFrom('tasks').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('tasks', row.id, row);
    }
    for (const row of await trx.selectFrom('sales').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.updated('sales', row.id, row, { ...row, customer_id: null });
    }
    // Stored RFM memberships go with the customer (the foreign key cascades them; undo needs them recorded).
    for (const row of await trx.selectFrom('segment_members').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('segment_members', row.id, row);
    }
    // So do saved churn-risk scores.
    for (const row of await trx.selectFrom('risk_scores').selectAll().where('customer_id', '=', customerId).execute()) {
      await audit.deleted('risk_scores', row.id, row);
    }
    await audit.deleted('customers', customerId, customer);
    // Foreign keys cascade the rest.
    await trx.deleteFrom('customers').where('id', '=', customerId).execute();
    return customer;
  });
}
