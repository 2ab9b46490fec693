// The read side of the audit trail and `crm undo`. Undo is generic: it reverses the row changes
// (audit_change) and bulk inserts (audit_range) an entry recorded, whatever command wrote them, in
// one transaction, recorded as an entry of its own. It refuses when the entry was undone already,
// when later entries touched the same rows, when rows elsewhere now reference rows it would delete,
// or when a row no longer holds the values the entry left in it.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditLogRow, DB } from '../db/schema.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { deferForeignKeys, isForeignKeyViolation, isStatementError, rowStoreOf, tableColumns, type RowStore } from '../db/row-store.js';
import { beginAudit, type WriteMeta } from './audit.js';

type Db = Kysely<DB> | Transaction<DB>;
type Values = Record<string, unknown>;

/** Marker written over before/after values that `customer forget` erased. */
export const ERASED = '{"erased":true}';

/** Tables keyed by something other than `id`: the columns that identify a row. */
const ROW_KEYS: Readonly<Record<string, readonly string[]>> = {
  config: ['key'],
  customer_tags: ['customer_id', 'tag_id'],
  customer_fields: ['customer_id', 'key'],
  activity_links: ['from_id', 'to_id', 'kind'],
};

/**
 * Who references whom (child table, column). Rows elsewhere referencing rows an undo would delete
 * block it. Profile details that live and die with their parent (tags, fields, stage history,
 * ticket events) are not listed: deleting the parent takes them along, as the original insert
 * brought them.
 */
const REFERENCES: Readonly<Record<string, readonly [string, string][]>> = {
  customers: [['activities', 'customer_id'], ['sales', 'customer_id'], ['deals', 'customer_id'], ['tickets', 'customer_id'], ['tasks', 'customer_id']],
  tags: [['customer_tags', 'tag_id']],
  activities: [['activity_links', 'from_id'], ['activity_links', 'to_id']],
  sales: [['deals', 'won_sale_id'], ['sales', 'refund_of']],
  deals: [['tasks', 'deal_id'], ['sales', 'deal_id']],
  tickets: [['ticket_ratings', 'ticket_id'], ['tasks', 'ticket_id']],
  tasks: [['tasks', 'recurred_from']],
};

const AUDIT_TABLES = new Set(['audit_log', 'audit_change', 'audit_range']);

export interface AuditChange {
  id: number;
  table: string;
  rowId: number;
  op: 'insert' | 'update' | 'delete';
  before: Values | null;
  after: Values | null;
}

export interface AuditRange {
  table: string;
  firstId: number;
  lastId: number;
}

export interface AuditEntry extends AuditLogRow {
  changes?: AuditChange[];
  ranges?: AuditRange[];
}

export interface AuditQuery {
  /** ISO instant: entries at or after it. */
  since?: string;
  entity?: string;
  customerId?: number;
  /** Only these entries. */
  ids?: number[];
  limit?: number;
  withChanges?: boolean;
}

const parse = (text: string | null): Values | null => (text === null ? null : (JSON.parse(text) as Values));

async function changesOf(db: Db, logIds: number[]): Promise<Map<number, { changes: AuditChange[]; ranges: AuditRange[] }>> {
  const out = new Map<number, { changes: AuditChange[]; ranges: AuditRange[] }>();
  for (const id of logIds) out.set(id, { changes: [], ranges: [] });
  for (let i = 0; i < logIds.length; i += 500) {
    const chunk = logIds.slice(i, i + 500);
    const changes = await db.selectFrom('audit_change').selectAll().where('log_id', 'in', chunk).orderBy('id').execute();
    for (const c of changes) {
      out.get(c.log_id)!.changes.push({ id: c.id, table: c.table_name, rowId: c.row_id, op: c.op, before: parse(c.before), after: parse(c.after) });
    }
    const ranges = await db.selectFrom('audit_range').selectAll().where('log_id', 'in', chunk).orderBy('id').execute();
    for (const r of ranges) out.get(r.log_id)!.ranges.push({ table: r.table_name, firstId: r.first_id, lastId: r.last_id });
  }
  return out;
}

/** Audit entries, newest first. */
export async function listAudit(db: Db, query: AuditQuery = {}): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (query.since) q = q.where('at', '>=', query.since);
  if (query.entity) q = q.where('entity', '=', query.entity);
  if (query.customerId !== undefined) q = q.where('customer_id', '=', query.customerId);
  if (query.ids !== undefined) {
    if (query.ids.length === 0) return [];
    q = q.where('id', 'in', query.ids);
  }
  q = q.orderBy('id', 'desc');
  if (query.limit !== undefined) q = q.limit(query.limit);
  const rows: AuditEntry[] = await q.execute();
  if (query.withChanges) {
    const details = await changesOf(db, rows.map((r) => r.id));
    for (const row of rows) Object.assign(row, details.get(row.id));
  }
  return rows;
}

export async function getAuditEntry(db: Db, id: number): Promise<AuditEntry> {
  const row = await db.selectFrom('audit_log').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError(`no audit entry ${id}`, { hint: 'list entries with `crm audit list`' });
  const details = await changesOf(db, [id]);
  return { ...row, ...details.get(id)! };
}

const keyColumns = (table: string) => ROW_KEYS[table] ?? ['id'];

function rowKey(change: AuditChange): Values {
  const columns = keyColumns(change.table);
  if (columns.length === 1 && columns[0] === 'id') return { id: change.rowId };
  const source = change.op === 'insert' ? change.after : change.before;
  const key: Values = {};
  for (const c of columns) key[c] = source?.[c] ?? null;
  return key;
}

const keyText = (table: string, key: Values) => JSON.stringify([table, ...keyColumns(table).map((c) => key[c])]);
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
function describeKey(table: string, key: Values): string {
  const cols = keyColumns(table);
  return cols.length === 1 && cols[0] === 'id' ? `${table} #${String(key.id)}` : `${table} (${cols.map((c) => `${c}=${String(key[c])}`).join(', ')})`;
}

/** The table's real columns, so values from the trail only ever name columns that exist. */
async function columnsOf(db: Db, table: string, cache: Map<string, Set<string>>): Promise<Set<string>> {
  let cols = cache.get(table);
  if (!cols) {
    const names = await tableColumns(db, table);
    if (names.length === 0 || AUDIT_TABLES.has(table)) throw new ValidationError(`the audit entry names an unknown table ${table}`);
    cols = new Set(names);
    cache.set(table, cols);
  }
  return cols;
}

/** Throws a ValidationError saying why `entry` cannot be undone now. */
async function checkUndoable(db: Db, entry: AuditEntry, cache: Map<string, Set<string>>, store: RowStore): Promise<void> {
  const changes = entry.changes ?? [];
  const ranges = entry.ranges ?? [];
  const refuse = (why: string, hint?: string) => {
    throw new ValidationError(`cannot undo entry ${entry.id} (${entry.action}): ${why}`, hint ? { hint } : {});
  };
  if (entry.undone_by !== null) refuse(`it was already undone by entry ${entry.undone_by}`);
  if (entry.undoes !== null) refuse(`it is itself the undo of entry ${entry.undoes}`, `run the original command again instead`);
  if (entry.action === 'customer.forget') {
    refuse('erased personal data cannot be brought back: forgetting a customer is irreversible by design');
  }
  if (entry.action === 'db.restore') {
    refuse('a restore replaced the whole database file, it has no row changes to reverse', 'restore the replaced file named in the entry with `crm db restore FILE`');
  }
  if (changes.length === 0 && ranges.length === 0) refuse('it recorded no row changes to reverse');
  if (changes.some((c) => JSON.stringify(c.before) === ERASED || JSON.stringify(c.after) === ERASED)) {
    refuse('some of the data it changed has since been erased by `customer forget`');
  }
  for (const c of changes) {
    await columnsOf(db, c.table, cache);
    const key = rowKey(c);
    if (Object.values(key).some((v) => v === null || v === undefined)) {
      refuse(`its change to ${c.table} does not say which row it was (no ${keyColumns(c.table).join(', ')} in the values)`);
    }
  }
  for (const r of ranges) await columnsOf(db, r.table, cache);

  // 1. Later entries (not themselves undone) that touched the same rows.
  const laterFilter = sql`ac.log_id > ${entry.id} AND l.undone_by IS NULL AND l.undoes IS NULL`;
  // One indexed join: for each row this entry changed, later changes of a row with the same id
  // (ac.id is selected so DISTINCT may order by it, as PostgreSQL requires).
  const mineByRow = new Map<string, Values>();
  for (const c of changes) mineByRow.set(`${c.table}:${c.rowId}:${keyText(c.table, rowKey(c))}`, rowKey(c));
  const later = await sql<{ log_id: number; action: string; table_name: string; row_id: number; op: string; before: string | null; after: string | null }>`
    SELECT DISTINCT ac.id, ac.log_id, l.action, ac.table_name, ac.row_id, ac.op, ac.before, ac.after
    FROM audit_change mine
    JOIN audit_change ac ON ac.table_name = mine.table_name AND ac.row_id = mine.row_id AND ac.log_id > mine.log_id
    JOIN audit_log l ON l.id = ac.log_id
    WHERE mine.log_id = ${entry.id} AND ${laterFilter}
    ORDER BY ac.log_id, ac.id`.execute(db);
  for (const l of later.rows) {
    const other = rowKey({ id: 0, table: l.table_name, rowId: l.row_id, op: l.op as AuditChange['op'], before: parse(l.before), after: parse(l.after) });
    const key = mineByRow.get(`${l.table_name}:${l.row_id}:${keyText(l.table_name, other)}`);
    if (!key) continue;
    refuse(`later entry ${l.log_id} (${l.action}) changed ${describeKey(l.table_name, key)}`, `undo entry ${l.log_id} first, or leave this one`);
  }
  for (const r of ranges) {
    const later = await sql<{ log_id: number; action: string; row_id: number }>`
      SELECT ac.log_id, l.action, ac.row_id FROM audit_change ac JOIN audit_log l ON l.id = ac.log_id
      WHERE ac.table_name = ${r.table} AND ac.row_id BETWEEN ${r.firstId} AND ${r.lastId} AND ${laterFilter}
      ORDER BY ac.log_id LIMIT 1`.execute(db);
    const l = later.rows[0];
    if (l) refuse(`later entry ${l.log_id} (${l.action}) changed ${r.table} #${l.row_id}, which this entry inserted`, `undo entry ${l.log_id} first, or leave this one`);
  }

  // 2. Each row must still hold what the entry left in it.
  const finalState = new Map<string, { table: string; key: Values; state: Values | 'absent'; inserted: boolean }>();
  for (const c of changes) {
    const key = rowKey(c);
    const text = keyText(c.table, key);
    const current = finalState.get(text);
    if (c.op === 'insert') finalState.set(text, { table: c.table, key, state: { ...(c.after ?? {}) }, inserted: current ? current.inserted : true });
    else if (c.op === 'delete') finalState.set(text, { table: c.table, key, state: 'absent', inserted: current?.inserted ?? false });
    else {
      const base = current && current.state !== 'absent' ? current.state : {};
      finalState.set(text, { table: c.table, key, state: { ...base, ...(c.after ?? {}) }, inserted: current?.inserted ?? false });
    }
  }
  for (const { table, key, state } of finalState.values()) {
    const row = await store.read(table, key);
    if (state === 'absent') {
      if (row) refuse(`${describeKey(table, key)} exists again; putting the deleted row back would clash with it`);
      continue;
    }
    if (!row) refuse(`${describeKey(table, key)} no longer exists`);
    for (const [column, value] of Object.entries(state)) {
      if (column in row! && !same(row![column], value)) {
        refuse(`${describeKey(table, key)} has changed since (${column})`);
      }
    }
  }

  // 3. Rows elsewhere that reference rows the undo would delete.
  const insertedIds = new Map<string, Set<number>>();
  for (const f of finalState.values()) {
    if (!f.inserted || f.state === 'absent' || keyColumns(f.table)[0] !== 'id') continue;
    const set = insertedIds.get(f.table) ?? new Set<number>();
    set.add(Number(f.key.id));
    insertedIds.set(f.table, set);
  }
  const ownRanges = (table: string) => ranges.filter((r) => r.table === table);
  // Update changes this undo reverts: a child whose reference is put back is no obstacle.
  const reverted = new Map<string, Values>();
  for (const c of changes) {
    // The earliest before value is the one the row ends up with.
    if (c.op === 'update' && keyColumns(c.table)[0] === 'id') reverted.set(`${c.table}:${c.rowId}`, { ...(c.before ?? {}), ...(reverted.get(`${c.table}:${c.rowId}`) ?? {}) });
  }
  const isOwn = (table: string, id: number) =>
    (insertedIds.get(table)?.has(id) ?? false) || ownRanges(table).some((r) => id >= r.firstId && id <= r.lastId);
  // Composite-key rows this entry inserted (tag links, fields, activity links): undone with it.
  const ownComposite = new Set<string>();
  for (const f of finalState.values()) {
    if (f.inserted && f.state !== 'absent' && keyColumns(f.table)[0] !== 'id') ownComposite.add(keyText(f.table, f.key));
  }
  const checkRefs = async (parent: string, condition: string, params: number[], describeParent: string) => {
    for (const [child, column] of REFERENCES[parent] ?? []) {
      if (child === 'customer_tags') {
        // A tag link goes with its customer when the customer is this entry's too.
        const rows = await store.query<{ owner: number; ref: number }>(`SELECT customer_id AS owner, tag_id AS ref FROM customer_tags WHERE tag_id ${condition}`, params);
        for (const row of rows) {
          if (isOwn('customers', row.owner) || ownComposite.has(keyText('customer_tags', { customer_id: row.owner, tag_id: row.ref }))) continue;
          refuse(`customer #${row.owner} is tagged with tags #${row.ref}, which ${describeParent}`, 'remove the tag from that customer first');
        }
        continue;
      }
      if (child === 'activity_links') {
        // A link to an older or own activity was made with this one; a link from a later activity is a reply to it.
        const other = column === 'from_id' ? 'to_id' : 'from_id';
        const rows = await store.query<{ other: number; ref: number; kind: string }>(`SELECT ${other} AS other, ${column} AS ref, kind FROM activity_links WHERE ${column} ${condition}`, params);
        for (const row of rows) {
          if (isOwn('activities', row.other) || row.other < row.ref) continue;
          if (ownComposite.has(keyText('activity_links', column === 'from_id' ? { from_id: row.ref, to_id: row.other, kind: row.kind } : { from_id: row.other, to_id: row.ref, kind: row.kind }))) continue;
          refuse(`activity #${row.other} is linked to activities #${row.ref}, which ${describeParent}`, 'undo the later entry that added it first');
        }
        continue;
      }
      const rows = await store.query<{ id: number; ref: number }>(`SELECT id, ${column} AS ref FROM ${child} WHERE ${column} ${condition} ORDER BY id`, params);
      for (const row of rows) {
        if (isOwn(child, row.id)) continue;
        const restored = reverted.get(`${child}:${row.id}`);
        if (restored && column in restored && restored[column] !== row.ref) continue;
        refuse(`${child} #${row.id} refers to ${parent} #${row.ref}, which ${describeParent}`, `undo or change the later entry that added it first`);
      }
    }
  };
  for (const [table, ids] of insertedIds) {
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) {
      const chunk = list.slice(i, i + 500);
      await checkRefs(table, `IN (${chunk.map(() => '?').join(',')})`, chunk, 'this entry added');
    }
  }
  for (const r of ranges) await checkRefs(r.table, 'BETWEEN ? AND ?', [r.firstId, r.lastId], 'this entry imported');
}

/** Checks, without writing, that an entry can be undone; throws the reason when not. */
export async function assertUndoable(db: Kysely<DB>, entryId: number): Promise<AuditEntry> {
  const entry = await getAuditEntry(db, entryId);
  await checkUndoable(db, entry, new Map(), rowStoreOf(db));
  return entry;
}

export interface UndoResult {
  entry: AuditEntry;
  auditId: number;
  restored: number;
  deleted: number;
}

/** Reverses an audit entry exactly, in one transaction, and records the undo as its own entry. */
export async function undoEntry(db: Kysely<DB>, entryId: number, meta: WriteMeta): Promise<UndoResult> {
  try {
    return await reverseEntry(db, entryId, meta);
  } catch (error) {
    // A foreign key still unsatisfied at commit (deferred, see below): nothing was changed.
    if (isForeignKeyViolation(error)) {
      const entry = await getAuditEntry(db, entryId);
      throw new ValidationError(`cannot undo entry ${entryId} (${entry.action}): rows it would put back refer to rows that no longer exist (removed or erased since)`);
    }
    throw error;
  }
}

async function reverseEntry(db: Kysely<DB>, entryId: number, meta: WriteMeta): Promise<UndoResult> {
  return db.transaction().execute(async (trx) => {
    // Rows come back in the reverse order they were recorded in, which need not be the order
    // their references need (a task restored before the deal it points at, a recurring task
    // before the one it came from): foreign keys are checked at commit instead. SQLite switches
    // this off again at the end of the transaction.
    await deferForeignKeys(trx);
    const entry = await getAuditEntry(trx, entryId);
    const cache = new Map<string, Set<string>>();
    const store = rowStoreOf(db, trx);
    await checkUndoable(trx, entry, cache, store);
    const audit = await beginAudit(trx, meta, {
      action: 'undo',
      entity: entry.entity,
      entityId: entry.entity_id,
      customerId: entry.customer_id,
      summary: `undo of entry ${entry.id} (${entry.action}${entry.summary ? `: ${entry.summary}` : ''})`,
    });
    let restored = 0;
    let deleted = 0;
    try {
      // Bulk-inserted rows go first: they may have replaced rows the changes put back (an RFM
      // snapshot replacing the previous one would otherwise clash on its unique key).
      for (const r of [...(entry.ranges ?? [])].reverse()) deleted += await store.removeRange(r.table, r.firstId, r.lastId);
      for (const c of [...(entry.changes ?? [])].reverse()) {
        const table = c.table;
        const columns = cache.get(table)!;
        const key = rowKey(c);
        const pick = (values: Values | null) => Object.fromEntries(Object.entries(values ?? {}).filter(([k]) => columns.has(k)));
        if (c.op === 'insert') {
          const current = await store.read(table, key);
          await store.remove(table, key);
          await store.record(audit.logId, table, c.rowId, 'delete', current ?? key, null);
          deleted++;
        } else if (c.op === 'delete') {
          const values = { ...pick(c.before), ...key };
          await store.insert(table, values);
          await store.record(audit.logId, table, c.rowId, 'insert', null, values);
          restored++;
        } else if (table === 'config' && c.before?.value === null) {
          // config.set on a key that had no row: the row goes again.
          const current = await store.read(table, key);
          await store.remove(table, key);
          await store.record(audit.logId, table, c.rowId, 'update', current ?? key, { ...key, value: null });
          restored++;
        } else {
          const before = pick(c.before);
          for (const k of Object.keys(key)) delete before[k];
          const current = (await store.read(table, key)) ?? {};
          const was: Values = {};
          for (const k of Object.keys(before)) was[k] = current[k];
          if (Object.keys(before).length > 0) await store.update(table, key, before);
          await store.record(audit.logId, table, c.rowId, 'update', { ...key, ...was }, { ...key, ...before });
          restored++;
        }
      }
    } catch (error) {
      if (isForeignKeyViolation(error)) {
        throw new ValidationError(`cannot undo entry ${entry.id} (${entry.action}): rows it would put back refer to rows that no longer exist (removed or erased since)`);
      }
      if (isStatementError(error)) {
        throw new ValidationError(`cannot undo entry ${entry.id} (${entry.action}): ${error.message}`);
      }
      throw error;
    }
    await trx.updateTable('audit_log').set({ undoes: entry.id }).where('id', '=', audit.logId).execute();
    await trx.updateTable('audit_log').set({ undone_by: audit.logId }).where('id', '=', entry.id).execute();
    return { entry, auditId: audit.logId, restored, deleted };
  });
}
