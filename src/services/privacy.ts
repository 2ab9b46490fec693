// Privacy: everything stored about one person as one document (`customer export-data`), and
// erasing it everywhere (`customer forget`) — the customer's rows, and every trace of them in the
// audit trail — while keeping their sales as anonymous revenue so reports do not change.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CustomerRow, DB } from '../db/schema.js';
import { purgeSqliteFreePages } from '../db/sqlite-maintenance.js';
import { jsonTextField, zeroFreedContent } from '../db/erase-space.js';
import { eraseAuditChanges, redactAuditChange, redactAuditEntry } from '../db/audit-redaction.js';
import { PartialError } from '../domain/errors.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { ERASED, listAudit, type AuditEntry } from './audit-trail.js';

type Db = Kysely<DB> | Transaction<DB>;
type Values = Record<string, unknown>;

/** Ids of the rows that belong to a customer, per table. */
interface Owned {
  activities: number[];
  sales: number[];
  deals: number[];
  tickets: number[];
  tasks: number[];
  deal_stage_history: number[];
  ticket_events: number[];
  ticket_ratings: number[];
}

async function ownedRows(db: Db, customerId: number): Promise<Owned> {
  const ids = async (table: 'activities' | 'sales' | 'deals' | 'tickets' | 'tasks') =>
    (await db.selectFrom(table).select('id').where('customer_id', '=', customerId).orderBy('id').execute()).map((r) => r.id);
  const owned: Owned = {
    activities: await ids('activities'),
    sales: await ids('sales'),
    deals: await ids('deals'),
    tickets: await ids('tickets'),
    tasks: await ids('tasks'),
    deal_stage_history: [],
    ticket_events: [],
    ticket_ratings: [],
  };
  if (owned.deals.length > 0) {
    owned.deal_stage_history = (await db.selectFrom('deal_stage_history').select('id').where('deal_id', 'in', owned.deals).execute()).map((r) => r.id);
  }
  if (owned.tickets.length > 0) {
    owned.ticket_events = (await db.selectFrom('ticket_events').select('id').where('ticket_id', 'in', owned.tickets).execute()).map((r) => r.id);
    owned.ticket_ratings = (await db.selectFrom('ticket_ratings').select('id').where('ticket_id', 'in', owned.tickets).execute()).map((r) => r.id);
  }
  return owned;
}

/** audit_change rows about this customer: its own row, its tags/fields, and every row it owns. */
async function auditChangeIds(db: Db, customerId: number, owned: Owned): Promise<{ changeIds: number[]; logIds: number[] }> {
  const conditions = [
    sql`(table_name IN ('customers', 'customer_tags', 'customer_fields') AND row_id = ${customerId})`,
    sql`(table_name IN ('customer_tags', 'customer_fields') AND (${jsonTextField(db, 'before', 'customer_id')} = ${customerId} OR ${jsonTextField(db, 'after', 'customer_id')} = ${customerId}))`,
  ];
  for (const [table, ids] of Object.entries(owned) as [string, number[]][]) {
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      conditions.push(sql`(table_name = ${table} AND row_id IN (${sql.join(chunk)}))`);
    }
  }
  const rows = await sql<{ id: number; log_id: number }>`SELECT id, log_id FROM audit_change WHERE ${sql.join(conditions, sql` OR `)}`.execute(db);
  return { changeIds: rows.rows.map((r) => r.id), logIds: [...new Set(rows.rows.map((r) => r.log_id))] };
}

export interface PersonalData {
  customer: CustomerRow;
  fields: Record<string, string>;
  tags: string[];
  activities: Values[];
  activityLinks: Values[];
  sales: Values[];
  deals: (Values & { stage_history: Values[] })[];
  tickets: (Values & { events: Values[]; ratings: Values[] })[];
  tasks: Values[];
  audit: AuditEntry[];
}

/** Everything stored about one customer. */
export async function exportCustomerData(db: Db, customer: CustomerRow): Promise<PersonalData> {
  const id = customer.id;
  const owned = await ownedRows(db, id);
  const fields = Object.fromEntries(
    (await db.selectFrom('customer_fields').select(['key', 'value']).where('customer_id', '=', id).orderBy('key').execute()).map((f) => [f.key, f.value]),
  );
  const tags = (
    await db.selectFrom('customer_tags').innerJoin('tags', 'tags.id', 'customer_tags.tag_id').select('tags.name').where('customer_tags.customer_id', '=', id).orderBy('tags.name').execute()
  ).map((t) => t.name);
  const activities = await db.selectFrom('activities').selectAll().where('customer_id', '=', id).orderBy('at').orderBy('id').execute();
  const activityLinks =
    owned.activities.length === 0
      ? []
      : await db.selectFrom('activity_links').selectAll().where((eb) => eb.or([eb('from_id', 'in', owned.activities), eb('to_id', 'in', owned.activities)])).execute();
  const sales = await db.selectFrom('sales').selectAll().where('customer_id', '=', id).orderBy('sold_on').orderBy('id').execute();
  const deals = [];
  for (const deal of await db.selectFrom('deals').selectAll().where('customer_id', '=', id).orderBy('id').execute()) {
    const history = await db.selectFrom('deal_stage_history').selectAll().where('deal_id', '=', deal.id).orderBy('at').orderBy('id').execute();
    deals.push({ ...deal, stage_history: history });
  }
  const tickets = [];
  for (const ticket of await db.selectFrom('tickets').selectAll().where('customer_id', '=', id).orderBy('id').execute()) {
    const events = await db.selectFrom('ticket_events').selectAll().where('ticket_id', '=', ticket.id).orderBy('at').orderBy('id').execute();
    const ratings = await db.selectFrom('ticket_ratings').selectAll().where('ticket_id', '=', ticket.id).orderBy('rated_at').orderBy('id').execute();
    tickets.push({ ...ticket, events, ratings });
  }
  const tasks = await db.selectFrom('tasks').selectAll().where('customer_id', '=', id).orderBy('due_at').orderBy('id').execute();
  const { logIds } = await auditChangeIds(db, id, owned);
  const byCustomer = await listAudit(db, { customerId: id, withChanges: true });
  const seen = new Set(byCustomer.map((e) => e.id));
  const others = await listAudit(db, { ids: logIds.filter((l) => !seen.has(l)), withChanges: true });
  const audit = [...byCustomer, ...others].sort((a, b) => a.id - b.id);
  return { customer, fields, tags, activities, activityLinks, sales, deals, tickets, tasks, audit };
}

export interface ForgetResult {
  customerId: number;
  erased: Record<string, number>;
  salesKept: number;
  auditChangesErased: number;
  auditEntriesRedacted: number;
  /** Rows elsewhere (other customers' records, audit values) whose mention of the person was redacted. */
  otherRecordsRedacted: number;
  auditId: number;
}

const REDACTED = '[erased]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The strings that identify the person, longest first (so a phone is replaced before its digits). */
function personalStrings(c: CustomerRow, minLength = 3): string[] {
  const values = [c.name, c.email, c.phone, c.phone_digits, c.external_id].filter((v): v is string => typeof v === 'string' && v.trim().length >= minLength);
  return [...new Set(values.map((v) => v.trim()))].sort((a, b) => b.length - a.length);
}

/**
 * The identifiers distinctive enough to redact from other people's records and audit values: email,
 * phone and external id, and the name only as a full name (a single word such as "Rose" may be
 * anything there).
 */
function distinctiveStrings(c: CustomerRow): string[] {
  const name = c.name.trim();
  const values = [
    c.email,
    c.phone !== null && c.phone.replace(/\D/g, '').length >= 6 ? c.phone : null,
    c.phone_digits !== null && c.phone_digits.length >= 6 ? c.phone_digits : null,
    c.external_id !== null && c.external_id.trim().length >= 4 ? c.external_id : null,
    /\S\s+\S/.test(name) && name.length >= 5 ? name : null,
  ].filter((v): v is string => typeof v === 'string' && v.trim().length >= 3);
  return [...new Set(values.map((v) => v.trim()))].sort((a, b) => b.length - a.length);
}

/**
 * The free-text columns, per table, that can quote a person (their name, email or phone, or what
 * they said). The forgotten person's identifiers are redacted from these in every row; their own
 * rows' values are also how entries about those rows are recognised in the audit trail.
 */
const TEXT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  customer_fields: ['value'],
  activities: ['summary'],
  sales: ['note', 'void_reason'],
  deals: ['title', 'lost_reason'],
  deal_stage_history: ['reason'],
  tickets: ['subject', 'description', 'solution', 'external_id'],
  ticket_events: ['from_value', 'to_value', 'comment'],
  ticket_ratings: ['comment'],
  tasks: ['title', 'note'],
  segments: ['description'],
  risk_scores: ['reasons', 'action'],
};

/** Columns that identify a row, for tables keyed by something other than `id`. */
const KEY_COLUMNS: Readonly<Record<string, readonly string[]>> = { customer_fields: ['customer_id', 'key'] };

/**
 * Replaces every whole occurrence (any case) of the person's strings in free text: "Ann" goes from
 * "--name Ann" but "Anna" elsewhere stays. A string is also found as a command line quotes it.
 */
export function redactText(text: string, strings: readonly string[]): string {
  let out = text;
  for (const s of strings) {
    const quoted = s.replace(/'/g, `'\\''`);
    const forms = quoted === s ? [s] : [quoted, s];
    for (const form of forms) out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(form)}(?![\\p{L}\\p{N}])`, 'giu'), REDACTED);
  }
  return out;
}

/** `redactText` on every string inside a JSON value (audit before/after), keeping it valid JSON. */
function redactJson(text: string, strings: readonly string[]): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactText(v, strings);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return JSON.stringify(walk(JSON.parse(text)));
}

/** A SQL condition true when any of `columns` contains any of `strings`, ignoring case (a cheap pre-filter). */
function mentionsAny(columns: readonly string[], strings: readonly string[]) {
  const like = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql.join(
    columns.flatMap((c) => strings.map((s) => sql`lower(${sql.ref(c)}) LIKE ${like(s)} ESCAPE '\\'`)),
    sql` OR `,
  );
}

/**
 * Redacts the person's identifiers from every free-text column of every table (other customers'
 * notes that quote their email, say). Returns how many rows changed.
 */
async function redactRecords(db: Db, strings: readonly string[]): Promise<number> {
  if (strings.length === 0) return 0;
  let changed = 0;
  for (const [table, columns] of Object.entries(TEXT_COLUMNS)) {
    const keys = KEY_COLUMNS[table] ?? ['id'];
    const rows = await sql<Values>`SELECT ${sql.join([...keys, ...columns].map((c) => sql.ref(c)))} FROM ${sql.table(table)} WHERE ${mentionsAny(columns, strings)}`.execute(db);
    for (const row of rows.rows) {
      const set: Values = {};
      for (const c of columns) {
        const value = row[c];
        if (typeof value !== 'string') continue;
        const redacted = redactText(value, strings);
        if (redacted !== value) set[c] = redacted;
      }
      if (Object.keys(set).length === 0) continue;
      const assignments = sql.join(Object.entries(set).map(([c, v]) => sql`${sql.ref(c)} = ${v}`));
      const where = sql.join(keys.map((k) => sql`${sql.ref(k)} = ${row[k]}`), sql` AND `);
      await sql`UPDATE ${sql.table(table)} SET ${assignments} WHERE ${where}`.execute(db);
      changed++;
    }
  }
  return changed;
}

/** The texts of the person's own rows, now and as earlier audit values recorded them. */
async function recordTexts(db: Db, owned: Owned, changeIds: number[]): Promise<string[]> {
  const texts: string[] = [];
  const take = (row: Values, columns: readonly string[]) => {
    for (const c of columns) if (typeof row[c] === 'string') texts.push(row[c] as string);
  };
  for (const [table, ids] of Object.entries(owned) as [string, number[]][]) {
    const columns = TEXT_COLUMNS[table];
    if (!columns) continue;
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await sql<Values>`SELECT ${sql.join(columns.map((c) => sql.ref(c)))} FROM ${sql.table(table)} WHERE id IN (${sql.join(ids.slice(i, i + 500))})`.execute(db);
      for (const row of rows.rows) take(row, columns);
    }
  }
  for (let i = 0; i < changeIds.length; i += 500) {
    const rows = await db.selectFrom('audit_change').select(['table_name', 'before', 'after']).where('id', 'in', changeIds.slice(i, i + 500)).execute();
    for (const r of rows) {
      const columns = TEXT_COLUMNS[r.table_name];
      if (!columns) continue;
      for (const json of [r.before, r.after]) {
        if (json === null || json === ERASED) continue;
        const value = JSON.parse(json) as unknown;
        if (value !== null && typeof value === 'object') take(value as Values, columns);
      }
    }
  }
  return [...new Set(texts.map((t) => t.trim()).filter((t) => t.length >= 2))];
}

/**
 * Erases a customer in one transaction: the row and everything that cascades from it (fields,
 * tag links, activities, deals, tickets with events and ratings, tasks), their before/after values
 * in the audit trail, and their name, email and phone wherever audit summaries and command lines
 * carry them. Sales stay, without customer or note, so revenue is unchanged. The erase itself is
 * recorded, without personal data.
 */
export async function forgetCustomer(db: Kysely<DB>, customer: CustomerRow, meta: WriteMeta): Promise<ForgetResult> {
  // Deleted content is overwritten with zeros as it is freed, before VACUUM rebuilds the file.
  zeroFreedContent(db);
  return db.transaction().execute(async (trx) => {
    const id = customer.id;
    // Records merged into this person earlier are the same person: their strings go too.
    const merged = await sql<{ table_name: string; before: string }>`SELECT ac.table_name, ac.before FROM audit_change ac JOIN audit_log l ON l.id = ac.log_id
      WHERE l.customer_id = ${id} AND l.action = 'customer.merge' AND ac.table_name IN ('customers', 'customer_fields') AND ac.op = 'delete' AND ac.before IS NOT NULL`.execute(trx);
    const mergedRows = merged.rows.filter((r) => r.table_name === 'customers').map((r) => JSON.parse(r.before) as CustomerRow);
    const personIds = new Set([id, ...mergedRows.map((r) => r.id)]);
    const strings = [...new Set([customer, ...mergedRows].flatMap((c) => personalStrings(c)))].sort((a, b) => b.length - a.length);
    const identifiers = [...new Set([customer, ...mergedRows].flatMap((c) => distinctiveStrings(c)))].sort((a, b) => b.length - a.length);
    // Custom field values are personal too, but may be common words ("gold"): they are erased only
    // from entries about this person.
    const fieldValues = [
      ...(await trx.selectFrom('customer_fields').select('value').where('customer_id', '=', id).execute()).map((f) => f.value),
      ...merged.rows.filter((r) => r.table_name === 'customer_fields').map((r) => String((JSON.parse(r.before) as { value: unknown }).value)),
    ].filter((v) => v.trim().length >= 2);
    // In entries about the person, short names and field values go too.
    const shortStrings = [customer, ...mergedRows].flatMap((c) => personalStrings(c, 1));
    const owned = await ownedRows(trx, id);
    const { changeIds, logIds } = await auditChangeIds(trx, id, owned);
    const aboutPerson = new Set(logIds);
    // In entries about the person or their records, what those records said goes too (a task's
    // title in `task add … --title`, a comment in a ticket's history).
    const texts = await recordTexts(trx, owned, changeIds);
    const ownStrings = [...new Set([...strings, ...shortStrings, ...fieldValues.map((v) => v.trim()), ...texts])].sort((a, b) => b.length - a.length);

    // Audit values: structurally the customer's rows and every change of entries about them are
    // erased whole; elsewhere (another customer's note quoting their email) the identifiers are
    // redacted inside the values, as they are in the rows themselves below.
    const byEntry = await sql<{ id: number }>`SELECT ac.id FROM audit_change ac JOIN audit_log l ON l.id = ac.log_id WHERE l.customer_id = ${id}`.execute(trx);
    const toErase = [...new Set([...changeIds, ...byEntry.rows.map((r) => r.id)])];
    for (let i = 0; i < toErase.length; i += 500) {
      const chunk = toErase.slice(i, i + 500);
      await eraseAuditChanges(trx, chunk, ERASED);
    }
    let valuesRedacted = 0;
    if (identifiers.length > 0) {
      const mentions = await sql<{ id: number; before: string | null; after: string | null }>`SELECT id, before, after FROM audit_change WHERE ${mentionsAny(['before', 'after'], identifiers)}`.execute(trx);
      for (const change of mentions.rows) {
        const before = change.before === null ? null : redactJson(change.before, identifiers);
        const after = change.after === null ? null : redactJson(change.after, identifiers);
        if (before === change.before && after === change.after) continue;
        await redactAuditChange(trx, change.id, before, after);
        valuesRedacted++;
      }
    }

    // Audit summaries and command lines.
    let redacted = 0;
    const candidates = await trx.selectFrom('audit_log').select(['id', 'summary', 'command', 'customer_id']).execute();
    for (const entry of candidates) {
      const own = aboutPerson.has(entry.id) || (entry.customer_id !== null && personIds.has(entry.customer_id));
      const summary = entry.summary === null ? null : redactText(entry.summary, own ? ownStrings : strings);
      const command = redactText(entry.command, own ? ownStrings : strings);
      const unlink = entry.customer_id === id;
      if (summary !== entry.summary || command !== entry.command || unlink) {
        await redactAuditEntry(trx, entry.id, summary, command, unlink);
        redacted++;
      }
    }

    // Other records that quote the person (their own rows are deleted below).
    const recordsRedacted = await redactRecords(trx, identifiers);

    // Sales stay for revenue, without the person.
    const sales = await trx.selectFrom('sales').select(['id', 'import_key']).where('customer_id', '=', id).execute();
    for (const sale of sales) {
      const keepKey = sale.import_key !== null && redactText(sale.import_key, strings) === sale.import_key;
      await trx.updateTable('sales').set({ customer_id: null, note: null, ...(keepKey ? {} : { import_key: null }) }).where('id', '=', sale.id).execute();
    }
    if (owned.deals.length > 0) await trx.updateTable('sales').set({ deal_id: null }).where('deal_id', 'in', owned.deals).execute();

    await trx.deleteFrom('customers').where('id', '=', id).execute();

    const erased = {
      customers: 1,
      activities: owned.activities.length,
      deals: owned.deals.length,
      tickets: owned.tickets.length,
      tasks: owned.tasks.length,
    };
    const audit = await beginAudit(
      trx,
      { now: meta.now, actor: { user: meta.actor.user, command: redactText(meta.actor.command, strings) } },
      {
        action: 'customer.forget',
        entity: 'customer',
        entityId: id,
        customerId: null,
        summary: `erased customer #${id} (${erased.activities} activities, ${erased.deals} deals, ${erased.tickets} tickets, ${erased.tasks} tasks); ${sales.length} sales kept without a customer`,
      },
    );
    return { customerId: id, erased, salesKept: sales.length, auditChangesErased: toErase.length, auditEntriesRedacted: redacted, otherRecordsRedacted: recordsRedacted + valuesRedacted, auditId: audit.logId };
  });
}

/**
 * Makes erased bytes unrecoverable from the file: checkpoints the WAL into the database and
 * truncates it, rebuilds the file with VACUUM, and checkpoints again. Returns false when another
 * connection kept the WAL from being emptied. Call it after `forgetCustomer` has committed: when the
 * rebuild fails (a full disk), the erase stands and a PartialError says the space is not reclaimed.
 */
export function purgeFreedPages(db: Kysely<DB>): boolean {
  try {
    return purgeSqliteFreePages(db);
  } catch (error) {
    throw new PartialError(`the erase is done and committed, but the file could not be rebuilt (${(error as Error).message}), so the space is not yet reclaimed`, {
      hint: 'erased text may still sit in the free space of the file: free some space and run `crm db optimize`',
    });
  }
}
