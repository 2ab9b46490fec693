// The import pipeline (`crm import`, through services/imports.ts): turns parsed CSV records into
// customers, sales, activities or tickets in a SQLite database (on PostgreSQL, in a scratch SQLite
// copy that import-space.ts then loads with COPY). The whole import is one SQLite transaction (BEGIN IMMEDIATE … COMMIT), so a crash or kill leaves the database
// as it was and a concurrent reader sees all of it or none. Rows are validated with the same domain
// parsers as the commands and written with raw prepared statements as they stream in; if any row is
// invalid (and --skip-invalid is not given) the transaction is rolled back and the problems listed.
// One audit entry per import records inserted rows as id ranges and updated rows one by one.
import type Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { clearFreshRows, markFreshRows } from './change-log.js';
import { sqliteOf } from './connection.js';
import { highestIdIssued } from './sqlite.js';
import type { DB } from './schema.js';
import { SETTINGS } from '../domain/config.js';
import { parseDuration, type DateFormat } from '../domain/dates.js';
import { ValidationError } from '../domain/errors.js';
import { centsToDecimal } from '../domain/money.js';
import {
  formatProblem,
  planHeader,
  readActivity,
  readCustomer,
  readSale,
  readTicket,
  RowError,
  RowReader,
  type CustomerRecord,
  type CustomerKey,
  type DuplicateMode,
  type HeaderPlan,
  type ImportKind,
  type RecordBatch,
  type RowContext,
  type SaleRecord,
  type BatchKeys,
  type BatchStep,
} from '../domain/imports.js';
import { OccurrenceCounter } from '../domain/occurrences.js';
import { customerResolver, type BatchKey, type CustomerResolver } from './customer-resolver.js';
import { saleContent, saleKey } from './sale-key.js';
import type { SaleKeysData } from './sale-keys-step.js';

export interface ImportInput {
  kind: ImportKind;
  /** File name (or `stdin`) for messages and the audit summary. */
  source: string;
  /** Records, header first; a big file's reader thread may run `step` on each batch. */
  records(step?: BatchStep): AsyncIterable<RecordBatch>;
  maps: ReadonlyArray<{ from: string; to: string }>;
  ignoreUnknown: boolean;
  /** null: rows matching existing records are skipped, duplicates inside the file are invalid. */
  onDuplicate: DuplicateMode | null;
  skipInvalid: boolean;
  dryRun: boolean;
  dateFormat?: DateFormat | undefined;
  /** `--customer-key`: which key the `customer` column holds; undefined: whichever matches. */
  customerKey?: CustomerKey | undefined;
  /** Size of the file in bytes when known: a big import defers secondary indexes. */
  sizeHint?: number | null;
  /**
   * The database is a scratch copy, thrown away once its new rows are copied elsewhere (PostgreSQL's
   * import space, import-space.ts): the deferred indexes that only lookups use are not built again
   * at the end. Unique ones still are, as building them is what finds identical rows.
   */
  scratch?: boolean;
}

export interface ImportCounts {
  /** Data rows read so far. */
  rows: number;
  imported: number;
  updated: number;
  skipped: number;
  rejected: number;
}

export interface ImportResult extends ImportCounts {
  dryRun: boolean;
  /**
   * Activities or tickets written without a time or an external id: they were stamped with the
   * time of the import, so importing the same rows again would write them again.
   */
  stampedNow: number;
  /** The audit entry (null for a dry run or when nothing changed). */
  auditId: number | null;
}

/** The import's audit entry (services/audit.ts's recorder), opened inside the import's transaction. */
export interface ImportAudit {
  readonly logId: number;
  inserted(table: keyof DB & string, rowId: number, after: RowValues): Promise<void>;
  updated(table: keyof DB & string, rowId: number, before: RowValues, after: RowValues): Promise<void>;
  /** Rows firstId..lastId (inclusive) of `table` were inserted by this entry. */
  insertedRange(table: keyof DB & string, firstId: number, lastId: number): Promise<void>;
}

/** Who imports and when, for the rows' timestamps. */
export interface ImportBy {
  now: Date;
  user: string;
}

export interface ImportHooks {
  /** A row left out under --skip-invalid: the header, its line, its cells and why. */
  onReject?(header: readonly string[], line: number, values: readonly string[], reason: string): void;
  /** Called after each batch of rows. */
  onProgress?(counts: Readonly<ImportCounts>): void;
  /** Every row is read: indexes are being built and the transaction committed. */
  onFinishing?(counts: Readonly<ImportCounts>): void;
}

/**
 * SQLite page cache for an import, in KiB. 32 MB imports 1M customers as fast as 64 MB did, with
 * 40 MB less peak RSS. Sales, activities and tickets look every row's customer up by email while
 * they fill a UNIQUE index of their own (external ids): 80 MB holds both for 1M customers and 1M
 * sales (38 + 25 MB), and imports 1M sales in 7.3 s where 48 MB took 7.9 s. (A memory map of the
 * file instead was 0.3 s faster still, but mapped pages all around the index into RSS: 350 MB.)
 */
const CACHE_KIB: Record<ImportKind, number> = { customers: 32768, sales: 81920, activities: 81920, tickets: 81920 };
/** How many problems an aborted import lists. */
const PROBLEMS_SHOWN = 20;

const TABLES: Record<ImportKind, Array<keyof DB & string>> = {
  customers: ['customers', 'tags'],
  sales: ['sales'],
  activities: ['activities'],
  tickets: ['tickets', 'ticket_events', 'ticket_ratings'],
};

/**
 * Secondary indexes that no import lookup uses. A big import drops them inside its transaction and
 * builds them again at the end: one sort beats a million random B-tree inserts, and readers never
 * see them missing (they see the database as it was until the commit).
 */
const DEFERRED_INDEXES: Record<ImportKind, string[]> = {
  customers: ['customers_city_age', 'customer_tags_tag', 'customers_name', 'customers_phone_digits'],
  sales: ['sales_customer_day', 'sales_day', 'sales_import_key'],
  activities: ['activities_at'],
  tickets: ['tickets_customer', 'tickets_status_due'],
};
/**
 * Deferred indexes that matching a customer without an email needs (on phone, then name): they
 * are built again as soon as such a row turns up, which most big files never have.
 */
const LOOKUP_INDEXES = new Set(['customers_name', 'customers_phone_digits']);
/**
 * Unique indexes deferred only while the table has no key they could clash with: a first big import
 * of sales known by their content builds the index of its random keys with one sort at the end
 * instead of a random B-tree insert per row (1M sales without external_id: most of the gap to the
 * import with external ids). Identical rows of the file share a key until then: when building the
 * index finds them, the handler's renumber() gives them their occurrences and it is built again.
 */
const UNIQUE_WHEN_EMPTY: Record<string, string> = { sales_import_key: 'SELECT 1 FROM sales WHERE import_key IS NOT NULL LIMIT 1' };
/** Defer indexes only when the file holds at least this many rows and more than the table has. */
const DEFER_INDEXES_FROM_ROWS = 50_000;

/**
 * Whether an import adding `adding` rows to a table holding `existing` is big enough to drop the
 * table's lookup indexes and build them once at the end (here, and on PostgreSQL in import-space.ts).
 */
export function defersIndexes(adding: number, existing: number): boolean {
  return adding >= DEFER_INDEXES_FROM_ROWS && adding > existing;
}
/**
 * Page cache while a deferred index is built, in KiB. SQLite sorts the keys in runs as big as the
 * page cache: an 80 MB run of keys in random order (customers, days, import keys) misses the CPU's
 * caches on most comparisons, where 2 MB runs sort in cache and merge in order. CPU for the
 * deferred indexes of 1M customers: 2.3 s instead of 3.9 s; of 1M sales: 1.9 s instead of 3.3 s
 * (3.3 s instead of 4.3 s with the import keys of sales without external_id), and 30 MB less RSS.
 */
const INDEX_BUILD_CACHE_KIB = 2048;

/**
 * Threads SQLite's sorter may use while it builds a deferred index: it sorts runs of keys on one
 * and merges on the other. The import's other thread (parsing the file) has finished by then.
 * 1M customers: 0.3 to 0.7 s less; 1M sales without external_id: 0.3 s less.
 */
const INDEX_BUILD_THREADS = 2;

/** Builds a deferred index with the small page cache that sorts fastest and a helper thread, then gives the import its cache back. */
function buildIndex(sqlite: Database.Database, sql: string, kind: ImportKind): void {
  sqlite.pragma(`cache_size = -${INDEX_BUILD_CACHE_KIB}`);
  sqlite.pragma(`threads = ${INDEX_BUILD_THREADS}`);
  try {
    sqlite.exec(sql);
  } finally {
    sqlite.pragma('threads = 0');
    sqlite.pragma(`cache_size = -${CACHE_KIB[kind]}`);
  }
}

type RowValues = Record<string, unknown>;
type AuditOp = ['updated', keyof DB & string, number, RowValues, RowValues] | ['inserted', keyof DB & string, number, RowValues];

/** line numbers of the rows this import inserted, by id − first id. */
class LineIndex {
  private lines = new Int32Array(1024);
  constructor(readonly firstId: number) {}
  set(id: number, line: number): void {
    const i = id - this.firstId;
    if (i >= this.lines.length) {
      const grown = new Int32Array(Math.max(this.lines.length * 2, i + 1));
      grown.set(this.lines);
      this.lines = grown;
    }
    this.lines[i] = line;
  }
  /** True when `id` was inserted by this import. */
  has(id: number): boolean {
    return id >= this.firstId;
  }
  get(id: number): number {
    return this.lines[id - this.firstId] ?? 0;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** A multi-row insert failed on a row that the one-row path reports or sorts out. */
function isRowConflict(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: string }).code : undefined;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_NOTNULL';
}

function changed(before: RowValues, after: RowValues): boolean {
  return Object.keys(after).some((k) => before[k] !== after[k]);
}

/** Shared state of one import run. */
interface Run {
  sqlite: Database.Database;
  input: ImportInput;
  counts: ImportCounts;
  nowIso: string;
  /** Who is importing, for the history of imported tickets. */
  actor: string;
  /** See ImportResult.stampedNow. */
  stampedNow: number;
  ctx: RowContext;
  pending: AuditOp[];
  customers: CustomerResolver;
  /** Records an invalid row (a rejected row under --skip-invalid, else a problem). */
  report(line: number, values: readonly string[], error: RowError): void;
  /** Builds again any deferred index that phone and name lookups use (before such a lookup). */
  needLookupIndexes(): void;
  /** Whether the index `name` is deferred (dropped until the end of the import). */
  isDeferred(name: string): boolean;
}

/** Handles the rows of one kind; may hold a few back to insert them with one statement. */
interface RowHandler {
  /** Before the rows of each batch. */
  begin?(batch: RecordBatch): void;
  /** Row `index` of the batch begun last. */
  row(reader: RowReader, line: number, values: readonly string[], index: number): void;
  /** Writes the rows held back (at the end of every batch). */
  flush(): void;
  /** Makes the keys of a deferred unique index (UNIQUE_WHEN_EMPTY) unique, when building it found them not. */
  renumber?(): void;
}

/** Rows per multi-row INSERT: one statement for 16 rows costs far less than 16 statements. */
const INSERT_BATCH = 16;

/** Tag links per multi-row INSERT. */
const LINK_BATCH = 32;

function multiInsertOf(sqlite: Database.Database, head: string, columns: number, rows: number): Database.Statement {
  const one = `(${Array(columns).fill('?').join(', ')})`;
  return sqlite.prepare(`${head} VALUES ${Array(rows).fill(one).join(', ')}`);
}

function multiInsert(sqlite: Database.Database, head: string, columns: number): Database.Statement {
  return multiInsertOf(sqlite, head, columns, INSERT_BATCH);
}

/**
 * Holds rows for a multi-row insert. A full batch goes in with one statement; when that fails
 * on a constraint (a row matches an existing record or another row of the batch, or names a
 * customer who does not exist), or the batch is short, every row takes the one-at-a-time path,
 * in file order, which sorts out duplicates and reports problems exactly as if nothing had been
 * held back. After a batch that failed, the next batches take that path straight away until one
 * has only new rows: a re-import of a file would otherwise pay for a refused statement a batch.
 */
class InsertQueue<T> {
  private items: Array<{ item: T; line: number; values: readonly string[] }> = [];
  private params: unknown[] = [];
  /** The last full batch had a row that was not simply inserted. */
  private conflicted = false;

  constructor(
    private readonly run: Run,
    private readonly statement: Database.Statement,
    private readonly bind: (item: T, params: unknown[]) => void,
    private readonly inserted: (id: number, item: T, line: number) => void,
    private readonly single: (item: T, line: number) => void,
  ) {}

  push(item: T, line: number, values: readonly string[]): void {
    this.items.push({ item, line, values });
    this.bind(item, this.params);
    if (this.items.length === INSERT_BATCH) this.flush();
  }

  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    const params = this.params;
    this.items = [];
    this.params = [];
    if (items.length === INSERT_BATCH && !this.conflicted) {
      try {
        // Ids of a multi-row insert are consecutive: each row takes max(id) + 1 under our write lock.
        const last = Number(this.statement.run(params).lastInsertRowid);
        items.forEach((entry, i) => this.inserted(last - INSERT_BATCH + 1 + i, entry.item, entry.line));
        return;
      } catch (error) {
        if (!isRowConflict(error)) throw error;
      }
    }
    const before = this.run.counts.imported;
    for (const entry of items) {
      try {
        this.single(entry.item, entry.line);
      } catch (error) {
        if (!(error instanceof RowError)) throw error;
        this.run.report(entry.line, entry.values, error);
      }
    }
    if (items.length === INSERT_BATCH) this.conflicted = this.run.counts.imported - before < INSERT_BATCH;
  }
}

function customersHandler(run: Run): RowHandler {
  const { sqlite, counts, nowIso, ctx, pending } = run;
  const mode = run.input.onDuplicate;
  const insertHead = 'INSERT INTO customers (name, email, phone, phone_digits, age, gender, company, city, source, created_at, updated_at, external_id, owner)';
  const insert = sqlite.prepare(`${insertHead} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byEmail = sqlite.prepare('SELECT id FROM customers WHERE email = ?').pluck();
  const byExternalId = sqlite.prepare('SELECT id FROM customers WHERE external_id = ?').pluck();
  const externalIdOf = sqlite.prepare('SELECT external_id FROM customers WHERE id = ?').pluck();
  const byPhone = sqlite.prepare('SELECT id FROM customers WHERE phone_digits = ? ORDER BY id LIMIT 3').pluck();
  // Without email or phone, a customer is known by name alone (among others without either).
  const byNameOnly = sqlite
    .prepare('SELECT id FROM customers WHERE name = ? COLLATE NOCASE AND email IS NULL AND phone_digits IS NULL ORDER BY id LIMIT 3')
    .pluck();
  const selectRow = sqlite.prepare('SELECT * FROM customers WHERE id = ?');
  const update = sqlite.prepare(
    `UPDATE customers SET name = ?, email = ?, phone = ?, phone_digits = ?, age = ?, gender = ?, company = ?, city = ?,
     source = ?, created_at = ?, updated_at = ?, external_id = ?, owner = ? WHERE id = ?`,
  );
  const tagByName = sqlite.prepare('SELECT id FROM tags WHERE name = ?').pluck();
  const insertTag = sqlite.prepare('INSERT INTO tags (name) VALUES (?)');
  const linkTag = sqlite.prepare('INSERT OR IGNORE INTO customer_tags (customer_id, tag_id) VALUES (?, ?)');
  const fieldValue = sqlite.prepare('SELECT value FROM customer_fields WHERE customer_id = ? AND key = ?').pluck();
  const insertField = sqlite.prepare('INSERT INTO customer_fields (customer_id, key, value) VALUES (?, ?, ?)');
  const updateField = sqlite.prepare('UPDATE customer_fields SET value = ? WHERE customer_id = ? AND key = ?');
  const lines = new LineIndex(highestIdIssued(sqlite, 'customers') + 1);
  const tagIds = new Map<string, number>();

  const tagId = (name: string): number => {
    const key = name.toLowerCase();
    let id = tagIds.get(key);
    if (id === undefined) {
      id = (tagByName.get(name) as number | undefined) ?? Number(insertTag.run(name).lastInsertRowid);
      tagIds.set(key, id);
    }
    return id;
  };

  const bind = (c: CustomerRecord, params: unknown[]) => {
    params.push(c.name ?? '', c.email, c.phone, c.phoneDigits, c.age, c.gender, c.company, c.city, c.source, c.created ?? nowIso, nowIso, c.externalId, c.owner);
  };
  // Tag links of new customers, written 32 to a statement.
  const links: number[] = [];
  const linkMany = multiInsertOf(sqlite, 'INSERT OR IGNORE INTO customer_tags (customer_id, tag_id)', 2, LINK_BATCH);
  const flushLinks = () => {
    let i = 0;
    for (; i + LINK_BATCH * 2 <= links.length; i += LINK_BATCH * 2) linkMany.run(links.slice(i, i + LINK_BATCH * 2));
    for (; i < links.length; i += 2) linkTag.run(links[i], links[i + 1]);
    links.length = 0;
  };
  const inserted = (id: number, c: CustomerRecord, line: number) => {
    lines.set(id, line);
    for (const tag of c.tags) links.push(id, tagId(tag));
    if (links.length >= LINK_BATCH * 2) flushLinks();
    for (const [key, value] of c.fields) insertField.run(id, key, value);
    counts.imported++;
  };
  const add = (c: CustomerRecord, line: number): void => {
    if (c.name === null && c.email === null && c.phone === null && c.externalId === null) {
      throw new RowError(null, 'needs at least one of name, email, phone or external_id');
    }
    const params: unknown[] = [];
    bind(c, params);
    inserted(Number(insert.run(params).lastInsertRowid), c, line);
  };

  /** Cells given in the row replace the stored ones; empty cells keep them; tags are added. */
  const merge = (id: number, c: CustomerRecord, audited: boolean): void => {
    flushLinks();
    const before = selectRow.get(id) as RowValues;
    const next: RowValues = { ...before };
    const set = (column: string, value: unknown) => {
      if (value !== null) next[column] = value;
    };
    set('name', c.name);
    // The email matched case-insensitively: a different case is not a change.
    if (c.email !== null && String(before.email ?? '').toLowerCase() !== c.email.toLowerCase()) set('email', c.email);
    set('phone', c.phone);
    set('phone_digits', c.phoneDigits);
    set('age', c.age);
    set('gender', c.gender);
    set('company', c.company);
    set('city', c.city);
    set('source', c.source);
    set('created_at', c.created);
    set('external_id', c.externalId);
    set('owner', c.owner);
    let any = false;
    if (changed(before, next)) {
      next.updated_at = nowIso;
      const n = next;
      update.run(n.name, n.email, n.phone, n.phone_digits, n.age, n.gender, n.company, n.city, n.source, n.created_at, n.updated_at, n.external_id, n.owner, id);
      if (audited) pending.push(['updated', 'customers', id, before, next]);
      any = true;
    }
    for (const tag of c.tags) {
      const tag_id = tagId(tag);
      if (linkTag.run(id, tag_id).changes > 0) {
        if (audited) pending.push(['inserted', 'customer_tags', id, { customer_id: id, tag_id }]);
        any = true;
      }
    }
    for (const [key, value] of c.fields) {
      const old = fieldValue.get(id, key) as string | undefined;
      if (old === value) continue;
      if (old === undefined) {
        insertField.run(id, key, value);
        if (audited) pending.push(['inserted', 'customer_fields', id, { customer_id: id, key, value }]);
      } else {
        updateField.run(value, id, key);
        if (audited) pending.push(['updated', 'customer_fields', id, { customer_id: id, key, value: old }, { customer_id: id, key, value }]);
      }
      any = true;
    }
    if (any) counts.updated++;
    else counts.skipped++;
  };

  const single = (c: CustomerRecord, line: number): void => {
    let existing: number | undefined;
    let column = 'external_id';
    // The shop's own number is the surest key; without a match on it, email, then phone, then name.
    if (c.externalId !== null) existing = byExternalId.get(c.externalId) as number | undefined;
    if (existing === undefined && c.email !== null) {
      // A lookup, not an insert for the UNIQUE index to refuse: a refused insert costs far more (an
      // error built in JavaScript), and a re-import of a file takes this path for every row.
      existing = byEmail.get(c.email) as number | undefined;
      column = 'email';
    } else if (existing === undefined && c.phoneDigits !== null) {
      run.needLookupIndexes();
      const ids = byPhone.all(c.phoneDigits) as number[];
      // Several matches only matter when one must be chosen for an update; skipping skips them all.
      if (ids.length > 1 && mode === 'update') throw new RowError('phone', `matches several customers (#${ids.slice(0, 2).join(', #')}…); add an email to tell them apart`);
      existing = ids[0];
      column = 'phone';
    } else if (existing === undefined && c.name !== null && c.externalId === null) {
      run.needLookupIndexes();
      const ids = byNameOnly.all(c.name) as number[];
      if (ids.length > 1 && mode === 'update') throw new RowError('name', `matches several customers without email or phone (#${ids.slice(0, 2).join(', #')}…)`);
      existing = ids[0];
      column = 'name';
    }
    if (existing === undefined) {
      add(c, line);
      return;
    }
    if (column !== 'external_id' && c.externalId !== null) {
      // Matched by email or phone: the same person only when that customer has no other number.
      const theirs = externalIdOf.get(existing) as string | null;
      if (theirs !== null) throw new RowError('external_id', `${c.externalId} differs from ${theirs}, the external id of customer #${existing} with this ${column}`);
    }
    if (lines.has(existing)) {
      if (mode === 'skip') counts.skipped++;
      else if (mode === 'update') merge(existing, c, false);
      else throw new RowError(column, `duplicate of line ${lines.get(existing)}`);
      return;
    }
    if (mode === 'update') merge(existing, c, true);
    else if (mode === 'error') throw new RowError(column, `customer #${existing} already has this ${column.replace('_', ' ')}`);
    else counts.skipped++;
  };

  const queue = new InsertQueue<CustomerRecord>(run, multiInsert(sqlite, insertHead, 13), bind, inserted, single);
  return {
    row(reader, line, values) {
      const c = readCustomer(reader, ctx);
      if (c.email !== null && c.name !== null) {
        queue.push(c, line, values);
        return;
      }
      // Rows matched on phone (or updating without a name) must see every earlier row.
      queue.flush();
      single(c, line);
    },
    flush: () => {
      queue.flush();
      flushLinks();
    },
  };
}

function salesHandler(run: Run): RowHandler {
  const { sqlite, counts, nowIso, ctx, pending } = run;
  const mode = run.input.onDuplicate;
  const insertHead =
    'INSERT INTO sales (customer_id, product, quantity, amount_cents, sold_on, note, external_id, import_key, created_at, order_id, sku, unit_price_cents, refund_of, sold_at)';
  const insert = sqlite.prepare(`${insertHead} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  // A refund naming the sale it refunds: by the sale's external id, else by its crm id; never more
  // than remains refundable (refunds earlier in this file count, written by then), never of a voided sale or a refund.
  const saleByExternalId = sqlite.prepare('SELECT id, amount_cents, voided_at, refund_of FROM sales WHERE external_id = ?');
  const saleById = sqlite.prepare('SELECT id, amount_cents, voided_at, refund_of FROM sales WHERE id = ?');
  const refundedBefore = sqlite.prepare('SELECT -coalesce(sum(amount_cents), 0) FROM sales WHERE refund_of = ? AND voided_at IS NULL').pluck();
  const salesBefore = highestIdIssued(sqlite, 'sales');
  const sameRefundBefore = sqlite.prepare('SELECT 1 FROM sales WHERE refund_of = ? AND amount_cents = ? AND sold_on = ? AND id <= ? LIMIT 1').pluck();
  type Refunded = { id: number; amount_cents: number; voided_at: string | null; refund_of: number | null };
  const refundTarget = (s: SaleRecord): number | null => {
    if (s.refundOf === null) return null;
    const byExternal = saleByExternalId.get(s.refundOf) as Refunded | undefined;
    const byId = /^\d+$/.test(s.refundOf) ? (saleById.get(Number(s.refundOf)) as Refunded | undefined) : undefined;
    if (byExternal && byId && byExternal.id !== byId.id) {
      throw new RowError('refund_of', `${s.refundOf} names sale #${byExternal.id} by external id and sale #${byId.id} by id`);
    }
    const sale = byExternal ?? byId;
    if (!sale) throw new RowError('refund_of', `no sale with external id or id ${s.refundOf}`);
    if (sale.voided_at !== null) throw new RowError('refund_of', `sale #${sale.id} is voided`);
    if (sale.refund_of !== null || sale.amount_cents < 0) throw new RowError('refund_of', `sale #${sale.id} is itself a refund`);
    // The same refund imported before (a re-import of the file): the duplicate check skips it, so it adds nothing.
    if (sameRefundBefore.get(sale.id, s.amountCents, s.soldOn, salesBefore) !== undefined) return sale.id;
    // Earlier refunds in this file are written by now (the queue is flushed before a refund is looked up).
    const done = refundedBefore.get(sale.id) as number;
    if (-s.amountCents > sale.amount_cents - done) {
      throw new RowError('amount', `a refund of ${centsToDecimal(-s.amountCents)} is more than the ${centsToDecimal(sale.amount_cents - done)} that remains refundable of sale #${sale.id}`);
    }
    return sale.id;
  };
  // An order belongs to one customer: orders already in the database are checked when there are any.
  const hasOrders = sqlite.prepare('SELECT 1 FROM sales WHERE order_id IS NOT NULL LIMIT 1').pluck().get() !== undefined;
  const orderCustomer = sqlite.prepare('SELECT customer_id FROM sales WHERE order_id = ? LIMIT 1').pluck();
  /** The customer cell and line of each order's first line in this file. */
  const orders = new Map<string, { text: string | null; line: number }>();
  const byExternalId = sqlite.prepare('SELECT id FROM sales WHERE external_id = ?').pluck();
  const byImportKey = sqlite.prepare('SELECT id FROM sales WHERE import_key = ?').pluck();
  const selectRow = sqlite.prepare('SELECT * FROM sales WHERE id = ?');
  const update = sqlite.prepare('UPDATE sales SET customer_id = ?, product = ?, quantity = ?, amount_cents = ?, sold_on = ?, sold_at = ?, note = ? WHERE id = ?');
  const lines = new LineIndex(highestIdIssued(sqlite, 'sales') + 1);
  // Occurrences of identical order lines without external_id, so the 2nd identical line is a 2nd sale.
  const occurrences = new OccurrenceCounter();
  const contentKey = (content: string): string => saleKey(content, occurrences.count(content));
  // A plain sale (no external_id, no order) is known by its content and its occurrence in the file
  // too, but counted only once its key has clashed: every such row first takes occurrence 1, and a
  // clash with a row this import added means an identical row came earlier in the file, so it takes
  // the next occurrence. `clashed` counts the contents that have clashed (with this import or an
  // earlier one), so a third identical row goes straight to occurrence 3, and a content an earlier
  // import had is counted from its first row. Most files have no identical rows: remembering every
  // row's content cost 1M sales ~2.8 s of CPU and 100 MB. When the key index is deferred (a first
  // big import) nothing clashes during the import; renumber() gives identical rows their
  // occurrences before the index is built.
  const clashed = new OccurrenceCounter();
  // A plain sale's key needs its customer's id, which a batch looks up itself: the batch computes the
  // key (occurrence 1) with this function once it has the id, as the one-row path does, unless a big
  // file's reader thread worked the key out ahead for the customer the batch finds (1M sales: the
  // hashes cost the import ~1 s, see sale-keys-step.ts); renumber()
  // computes the later occurrences' keys with it too. The statement builds the content (contentSql)
  // and hands the function one string: a call from SQLite into JavaScript costs for every argument
  // (1M sales: 0.2 s less than passing the six values).
  sqlite.function('crm_sale_key', { deterministic: true }, (content, occurrence) => saleKey(content as string, occurrence as number));
  /**
   * saleContent in SQL, from the SQL expressions of its values. Numbers bound from JavaScript arrive as
   * REAL, which SQL prints as 3.0: cast to INTEGER they print as JavaScript prints them (all are whole,
   * within 2^53). A guest's id is blank.
   */
  const contentSql = (customerId: string, product: string, quantity: string, amount: string, when: string, note: string): string =>
    `coalesce(CAST(${customerId} AS INTEGER), '') || char(31) || ${product} || char(31) || CAST(${quantity} AS INTEGER) || char(31) || CAST(${amount} AS INTEGER) || char(31) || ${when} || char(31) || coalesce(${note}, '')`;

  /**
   * customerId null: the customer is named by email or external id (`via`), and the batch insert looks
   * it up itself; then a plain sale's key (occurrence 1) is computed by the batch, unless the reader
   * thread worked it out for the customer the batch finds (`owner`). `plain`: a sale known by its
   * content alone, whose occurrence is settled when its key clashes (see `clashed`).
   */
  type Pending = { s: SaleRecord; customerId: number | null; key: string | null; via: BatchKey; plain: boolean; refundOf: number | null; owner: number | null };
  /** The keys the reader thread worked out for the current batch (see sale-keys-step.ts), if it did. */
  let ahead: BatchKeys | undefined;
  /** Row `index`'s key worked out ahead, when it was for this customer id (0: a guest). */
  const keyAhead = (index: number, owner: number): string | null =>
    ahead !== undefined && ahead.owners[index] === owner ? ahead.keys.slice(index * ahead.width, (index + 1) * ahead.width) : null;
  /** The columns the file has. */
  let present: ReadonlySet<string> | undefined;
  const bind = ({ s, customerId, key, refundOf }: Pending, params: unknown[]) => {
    params.push(customerId, s.product, s.quantity, s.amountCents, s.soldOn, s.note, s.externalId, key, nowIso, s.orderId, s.sku, s.unitPriceCents, refundOf, s.soldAt);
  };
  // A batch finds the customers its rows name by email or external id in the same statement that inserts them,
  // which saves a statement per row (1M sales: 1.8 s of lookups). A row whose customer is not found
  // gets a NULL product, which the NOT NULL constraint refuses: the statement fails as a whole and
  // the batch takes the one-row path, which reports the row. The row number (a constant of the
  // statement, not data) keeps the file's order.
  // A guest sale (column18) has no customer to find. column19 is the sale's instant (null: a day only).
  // column20 is the customer a key worked out ahead was for: the key is taken when it is the one found.
  const batchRow = (i: number) => `(${i}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
  const batchInsert = sqlite.prepare(
    `${insertHead}
     SELECT coalesce(v.column2, c.id, e.id), iif(coalesce(v.column2, c.id, e.id) IS NULL AND v.column18 IS NULL, NULL, v.column5),
            v.column6, v.column7, v.column8, v.column9, v.column10,
            iif(v.column16 IS NULL OR v.column20 = coalesce(v.column2, c.id, e.id), v.column11, crm_sale_key(${contentSql('coalesce(v.column2, c.id, e.id)', 'v.column5', 'v.column6', 'v.column7', 'coalesce(v.column19, v.column8)', 'v.column9')}, v.column16)),
            v.column12, v.column13, v.column14, v.column15, v.column17, v.column19
     FROM (VALUES ${Array.from({ length: INSERT_BATCH }, (_, i) => batchRow(i)).join(', ')}) AS v
     LEFT JOIN customers AS c ON c.email = v.column3
     LEFT JOIN customers AS e ON e.external_id = v.column4
     ORDER BY v.column1`,
  );
  const bindBatch = ({ s, customerId, key, via, plain, refundOf, owner }: Pending, params: unknown[]) => {
    params.push(customerId, via?.email ?? null, via?.externalId ?? null, s.product, s.quantity, s.amountCents, s.soldOn, s.note, s.externalId, key, nowIso);
    params.push(s.orderId, s.sku, s.unitPriceCents, plain && customerId === null ? 1 : null, refundOf, s.customer === null ? 1 : null, s.soldAt, owner);
  };
  const inserted = (id: number, { s }: Pending, line: number) => {
    if (s.externalId !== null) lines.set(id, line);
    counts.imported++;
  };
  const single = (p: Pending, line: number): void => {
    const { s } = p;
    const customerId = p.customerId ?? (s.customer === null ? null : run.customers.resolve(s.customer));
    const content = p.plain ? saleContent(customerId, s) : null;
    let occurrence = content !== null && clashed.has(content) ? clashed.count(content) : 1;
    let key = content !== null ? saleKey(content, occurrence) : p.key;
    let taken: number | undefined;
    for (;;) {
      // Looked up first, as a customer is (see customersHandler). A deferred key index has no keys
      // but this import's, which renumber() sorts out.
      if (s.externalId !== null) taken = byExternalId.get(s.externalId) as number | undefined;
      else if (!run.isDeferred('sales_import_key')) taken = byImportKey.get(key) as number | undefined;
      if (taken === undefined) {
        const params: unknown[] = [];
        bind({ s, customerId, key, via: null, plain: false, refundOf: p.refundOf, owner: null }, params);
        inserted(Number(insert.run(params).lastInsertRowid), p, line);
        return;
      }
      if (s.externalId !== null) break;
      if (content !== null && occurrence === 1 && !clashed.has(content)) {
        // The first clash of this content: from now on it is counted.
        clashed.count(content);
        if (lines.has(taken)) {
          // An identical row earlier in this file took occurrence 1: this is the 2nd.
          occurrence = clashed.count(content);
          key = saleKey(content, occurrence);
          continue;
        }
      }
      if (mode === 'error') throw new RowError(null, `already imported as sale #${taken}`);
      counts.skipped++;
      return;
    }
    const existing = taken;
    const inFile = lines.has(existing);
    if (mode === 'update') {
      // The row's values replace the sale's; a column the file does not have keeps its value.
      const before = selectRow.get(existing) as RowValues;
      const has = (column: string) => present?.has(column) ?? true;
      const after: RowValues = {
        ...before,
        customer_id: customerId,
        product: s.product,
        quantity: has('quantity') ? s.quantity : before.quantity,
        amount_cents: s.amountCents,
        sold_on: has('date') ? s.soldOn : before.sold_on,
        sold_at: has('date') ? s.soldAt : before.sold_at,
        note: has('note') ? s.note : before.note,
      };
      if (!changed(before, after)) {
        counts.skipped++;
        return;
      }
      update.run(after.customer_id, after.product, after.quantity, after.amount_cents, after.sold_on, after.sold_at, after.note, existing);
      if (!inFile) pending.push(['updated', 'sales', existing, before, after]);
      counts.updated++;
    } else if (inFile && mode !== 'skip') {
      throw new RowError('external_id', `duplicate of line ${lines.get(existing)}`);
    } else if (mode === 'error') {
      throw new RowError('external_id', `sale #${existing} already has external id ${s.externalId}`);
    } else {
      counts.skipped++;
    }
  };

  const queue = new InsertQueue<Pending>(run, batchInsert, bindBatch, inserted, single);
  return {
    begin(batch) {
      ahead = batch.keys;
    },
    row(reader, line, values, index) {
      present ??= new Set(reader.plan.index.keys());
      const s = readSale(reader, ctx);
      const customerText = s.customer?.text ?? null;
      if (s.orderId !== null) {
        // The lines of one order name one customer, or are all guest lines (compared as written in the file).
        const first = orders.get(s.orderId);
        if (first === undefined) orders.set(s.orderId, { text: customerText, line });
        else if (first.text !== customerText) {
          const whose = first.text === null ? 'a guest' : `customer ${first.text}`;
          throw new RowError('order_id', `order ${s.orderId} is for ${whose} (line ${first.line}), not ${customerText ?? 'a guest'}`);
        }
      }
      // A refund may name a sale earlier in this file: those rows are written before it is looked up.
      if (s.refundOf !== null) queue.flush();
      const refundOf = refundTarget(s);
      // A line of an order without external_id is known by its order and its content.
      let key = s.externalId === null && s.orderId !== null ? contentKey(`o\u001f${s.orderId}\u001f${s.sku ?? s.product}\u001f${s.quantity}\u001f${s.unitPriceCents ?? s.amountCents}`) : null;
      const checkOrder = hasOrders && s.orderId !== null;
      const via = checkOrder || s.customer === null ? null : run.customers.batchKey(s.customer);
      // A plain sale: no external_id, no order.
      const plain = s.externalId === null && key === null;
      if (via !== null) {
        // A plain sale's key is the one worked out ahead, when the batch finds that customer; else the
        // batch computes it (see crm_sale_key).
        const owner = plain && ahead !== undefined && ahead.owners[index]! > 0 ? ahead.owners[index]! : null;
        if (owner !== null) key = keyAhead(index, owner);
        queue.push({ s, customerId: null, key, via, plain, refundOf, owner }, line, values);
        return;
      }
      const customerId = s.customer === null ? null : run.customers.resolve(s.customer);
      if (checkOrder) {
        const owner = orderCustomer.get(s.orderId) as number | null | undefined;
        const whose = owner === null ? 'a guest' : `customer #${owner}`;
        if (owner !== undefined && owner !== customerId) throw new RowError('order_id', `order ${s.orderId} belongs to ${whose}, not ${customerId === null ? 'a guest' : `#${customerId}`}`);
      }
      // Identical rows are distinct sales: the identity is the values plus the occurrence number.
      if (plain) key = keyAhead(index, customerId ?? 0) ?? saleKey(saleContent(customerId, s), 1);
      queue.push({ s, customerId, key, via: null, plain, refundOf, owner: null }, line, values);
    },
    flush: () => queue.flush(),
    renumber() {
      // Only this import's rows have keys (the index is deferred only then): identical plain
      // sales share occurrence 1's key; the 2nd, 3rd… in file (id) order take the next occurrences.
      sqlite
        .prepare(
          `UPDATE sales SET import_key = crm_sale_key(${contentSql('customer_id', 'product', 'quantity', 'amount_cents', 'coalesce(sold_at, sold_on)', 'note')}, d.occurrence)
           FROM (SELECT id, row_number() OVER (PARTITION BY import_key ORDER BY id) AS occurrence FROM sales
                 WHERE import_key IN (SELECT import_key FROM sales WHERE import_key IS NOT NULL GROUP BY import_key HAVING count(*) > 1)) AS d
           WHERE sales.id = d.id AND d.occurrence > 1`,
        )
        .run();
    },
  };
}

function activitiesHandler(run: Run): RowHandler {
  const { sqlite, counts, nowIso, ctx } = run;
  const mode = run.input.onDuplicate;
  const insert = sqlite.prepare('INSERT INTO activities (customer_id, type, direction, at, summary, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const lastBefore = highestIdIssued(sqlite, 'activities');
  // The same activity (customer, type, time, summary) recorded before this import: re-imports add nothing.
  const same = sqlite.prepare('SELECT id FROM activities WHERE customer_id = ? AND at = ? AND type = ? AND summary = ? AND id <= ? LIMIT 1').pluck();
  return {
    flush: () => {},
    row: (reader) => {
      const a = readActivity(reader, ctx);
      const customerId = run.customers.resolve(a.customer);
      const existing = same.get(customerId, a.at, a.type, a.summary, lastBefore) as number | undefined;
      if (existing !== undefined) {
        if (mode === 'error') throw new RowError(null, `already recorded as activity #${existing}`);
        counts.skipped++;
        return;
      }
      insert.run(customerId, a.type, a.direction, a.at, a.summary, nowIso);
      if (!a.timed) run.stampedNow++;
      counts.imported++;
    },
  };
}

function ticketsHandler(run: Run): RowHandler {
  const { sqlite, counts, nowIso, ctx, pending } = run;
  const mode = run.input.onDuplicate;
  const setting = sqlite.prepare('SELECT value FROM config WHERE key = ?').pluck();
  const sla = new Map<string, number>();
  for (const s of SETTINGS.filter((x) => x.key.startsWith('sla.'))) {
    sla.set(s.key.slice(4), parseDuration((setting.get(s.key) as string | undefined) ?? s.default, s.key));
  }
  const insert = sqlite.prepare(
    `INSERT INTO tickets (customer_id, external_id, subject, description, priority, kind, status, opened_at, due_at, resolved_at, closed_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = sqlite.prepare(
    `UPDATE tickets SET customer_id = ?, subject = ?, description = ?, priority = ?, kind = ?, status = ?, opened_at = ?, due_at = ?,
     resolved_at = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
  );
  const selectRow = sqlite.prepare('SELECT * FROM tickets WHERE id = ?');
  const byExternalId = sqlite.prepare('SELECT id FROM tickets WHERE external_id = ?').pluck();
  const lastBefore = highestIdIssued(sqlite, 'tickets');
  const same = sqlite.prepare('SELECT id FROM tickets WHERE customer_id = ? AND subject = ? AND opened_at = ? AND id <= ? LIMIT 1').pluck();
  const rate = sqlite.prepare('INSERT INTO ticket_ratings (ticket_id, score, comment, rated_at) VALUES (?, ?, NULL, ?)');
  // An imported ticket's history starts with its opening, as one opened with `ticket open` does.
  const opened = sqlite.prepare("INSERT INTO ticket_events (ticket_id, at, kind, to_value, comment, actor) VALUES (?, ?, 'opened', 'open', ?, ?)");
  const openedComment = `imported from ${run.input.source}`;
  const currentRating = sqlite.prepare('SELECT * FROM ticket_ratings WHERE ticket_id = ? AND superseded_at IS NULL ORDER BY id DESC LIMIT 1');
  const supersede = sqlite.prepare('UPDATE ticket_ratings SET superseded_at = ? WHERE id = ?');
  const lines = new LineIndex(lastBefore + 1);
  /** The columns the file has. */
  let present: ReadonlySet<string> | undefined;

  return {
    flush: () => {},
    row: (reader, line) => {
      present ??= new Set(reader.plan.index.keys());
      const t = readTicket(reader, ctx);
      const customerId = run.customers.resolve(t.customer);
      const dueAt = new Date(Date.parse(t.openedAt) + sla.get(t.priority)!).toISOString();
      const closedAt = t.status === 'closed' ? t.resolvedAt : null;
      // Looked up first, as a customer is (see customersHandler).
      const existing = (t.externalId === null ? same.get(customerId, t.subject, t.openedAt, lastBefore) : byExternalId.get(t.externalId)) as number | undefined;
      if (existing === undefined) {
        const values = [customerId, t.externalId, t.subject, t.description, t.priority, t.kind, t.status, t.openedAt, dueAt, t.resolvedAt, closedAt, nowIso];
        const id = Number(insert.run(...values).lastInsertRowid);
        lines.set(id, line);
        opened.run(id, t.openedAt, openedComment, run.actor);
        if (t.score !== null) rate.run(id, t.score, t.resolvedAt);
        if (!t.timed && t.externalId === null) run.stampedNow++;
        counts.imported++;
        return;
      }
      if (t.externalId === null) {
        if (mode === 'error') throw new RowError(null, `already recorded as ticket #${existing}`);
        counts.skipped++;
        return;
      }
      const inFile = lines.has(existing);
      if (mode === 'update') {
        // The row's values replace the ticket's; a column the file does not have keeps its value.
        const before = selectRow.get(existing) as RowValues;
        const has = (column: string) => present?.has(column) ?? true;
        const priority = has('priority') ? t.priority : (before.priority as string);
        const openedAt = has('opened') ? t.openedAt : (before.opened_at as string);
        const after: RowValues = {
          ...before,
          customer_id: customerId,
          subject: t.subject,
          description: has('description') ? t.description : before.description,
          priority,
          kind: has('kind') ? t.kind : before.kind,
          status: t.status,
          opened_at: openedAt,
          due_at: new Date(Date.parse(openedAt) + sla.get(priority)!).toISOString(),
          resolved_at: t.resolvedAt,
          closed_at: closedAt,
        };
        let any = false;
        if (changed(before, after)) {
          after.updated_at = nowIso;
          const a = after;
          update.run(a.customer_id, a.subject, a.description, a.priority, a.kind, a.status, a.opened_at, a.due_at, a.resolved_at, a.closed_at, nowIso, existing);
          if (!inFile) pending.push(['updated', 'tickets', existing, before, after]);
          any = true;
        }
        const rating = currentRating.get(existing) as RowValues | undefined;
        if (t.score !== null && rating?.score !== t.score) {
          if (rating) {
            supersede.run(nowIso, rating.id);
            if (!inFile) pending.push(['updated', 'ticket_ratings', Number(rating.id), rating, { ...rating, superseded_at: nowIso }]);
          }
          rate.run(existing, t.score, t.resolvedAt);
          any = true;
        }
        if (any) counts.updated++;
        else counts.skipped++;
      } else if (inFile && mode !== 'skip') {
        throw new RowError('external_id', `duplicate of line ${lines.get(existing)}`);
      } else if (mode === 'error') {
        throw new RowError('external_id', `ticket #${existing} already has external id ${t.externalId}`);
      } else {
        counts.skipped++;
      }
    },
  };
}

const HANDLERS: Record<ImportKind, (run: Run) => RowHandler> = {
  customers: customersHandler,
  sales: salesHandler,
  activities: activitiesHandler,
  tickets: ticketsHandler,
};

/**
 * The step that works out sale keys on a big file's reader thread (sale-keys-step.ts), for an import
 * of sales into a database file it can read beside the import's own transaction: a write-ahead log
 * lets a reader run beside a writer (with a rollback journal it could make the import wait).
 */
function keysAhead(sqlite: Database.Database, input: ImportInput, ctx: RowContext): BatchStep | undefined {
  if (input.kind !== 'sales' || sqlite.memory || sqlite.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  const data: SaleKeysData = {
    path: sqlite.name,
    ctx: { now: ctx.now, dateFormat: ctx.dateFormat, customerKey: ctx.customerKey },
    maps: input.maps,
    ignoreUnknown: input.ignoreUnknown,
    update: input.onDuplicate === 'update',
  };
  return { bundle: 'sale-keys', data };
}

async function flushAudit(audit: ImportAudit | null, pending: AuditOp[]): Promise<void> {
  if (audit) {
    for (const op of pending) {
      if (op[0] === 'updated') await audit.updated(op[1], op[2], op[3], op[4]);
      else await audit.inserted(op[1], op[2], op[3]);
    }
  }
  pending.length = 0;
}

/**
 * Imports the records of one file in one transaction on a SQLite database, with the audit entry
 * `openAudit` opens in it. Throws a ValidationError listing the first problems when a row is invalid
 * (unless skipInvalid), and rolls back for a dry run.
 */
export async function importIntoSqlite(db: Kysely<DB>, input: ImportInput, by: ImportBy, openAudit: () => Promise<ImportAudit>, hooks: ImportHooks = {}): Promise<ImportResult> {
  const sqlite = sqliteOf(db);
  const counts: ImportCounts = { rows: 0, imported: 0, updated: 0, skipped: 0, rejected: 0 };
  const problems: Array<{ line: number; text: string }> = [];
  let problemCount = 0;
  // A bigger page cache than the default 2 MB keeps the hot index pages of a big import in memory.
  sqlite.pragma(`cache_size = -${CACHE_KIB[input.kind]}`);
  // Every reference an import writes was just looked up or inserted by it, so the foreign key
  // checks would only repeat those lookups. (The pragma is a no-op inside a transaction.)
  sqlite.pragma('foreign_keys = OFF');
  const deferred = new Map<string, string>(); // name → CREATE INDEX statement
  try {
    sqlite.exec('BEGIN IMMEDIATE');
    const firstIds = new Map(TABLES[input.kind].map((t) => [t, highestIdIssued(sqlite, t) + 1]));
    markFreshRows(sqlite, TABLES[input.kind][0]!, firstIds.get(TABLES[input.kind][0]!)!);
    // The audit entry shares the transaction: Kysely runs on the same connection.
    const audit = await openAudit();
    let plan: HeaderPlan | undefined;
    const run: Run = {
      sqlite,
      input,
      counts,
      nowIso: by.now.toISOString(),
      actor: by.user,
      stampedNow: 0,
      ctx: { now: by.now, dateFormat: input.dateFormat, customerKey: input.customerKey },
      pending: [],
      customers: customerResolver(sqlite),
      report(line, values, error) {
        if (input.skipInvalid) {
          counts.rejected++;
          hooks.onReject?.(plan!.names, line, values, formatProblem(line, error).replace(/^line \d+: /, ''));
        } else {
          problemCount++;
          if (problems.length < PROBLEMS_SHOWN) problems.push({ line, text: formatProblem(line, error) });
        }
      },
      needLookupIndexes() {
        for (const [name, sql] of deferred) {
          if (!LOOKUP_INDEXES.has(name)) continue;
          buildIndex(sqlite, sql, input.kind);
          deferred.delete(name);
        }
      },
      isDeferred: (name) => deferred.has(name),
    };
    const handle = HANDLERS[input.kind](run);
    let reader: RowReader | undefined;
    for await (const batch of input.records(keysAhead(sqlite, input, run.ctx))) {
      const { rows, lines } = batch;
      let start = 0;
      if (!plan) {
        plan = planHeader(input.kind, rows[0]!, input.maps, input.ignoreUnknown, lines[0], input.onDuplicate === 'update');
        reader = new RowReader(plan);
        start = 1;
        if (input.sizeHint && batch.bytes) {
          const expected = (input.sizeHint / batch.bytes) * rows.length;
          const existing = firstIds.get(TABLES[input.kind][0]!)! - 1;
          if (defersIndexes(expected, existing)) {
            const find = sqlite.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ? AND sql IS NOT NULL").pluck();
            for (const name of DEFERRED_INDEXES[input.kind]) {
              const sql = find.get(name) as string | undefined;
              if (!sql) continue;
              const clash = UNIQUE_WHEN_EMPTY[name];
              if (clash !== undefined && sqlite.prepare(clash).get() !== undefined) continue;
              sqlite.exec(`DROP INDEX "${name}"`);
              deferred.set(name, sql);
            }
          }
        }
      }
      handle.begin?.(batch);
      for (let i = start; i < rows.length; i++) {
        const values = rows[i]!;
        const line = lines[i]!;
        counts.rows++;
        try {
          reader!.load(values);
          handle.row(reader!, line, values, i);
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          // Rows held back for a batch come first: problems and rejects stay in the file's order.
          handle.flush();
          run.report(line, values, error);
        }
      }
      handle.flush();
      await flushAudit(audit, run.pending);
      hooks.onProgress?.(counts);
    }
    if (!plan) throw new ValidationError(`${input.source} has no header line (only blank lines)`);
    if (problemCount > 0) {
      const more = problemCount - problems.length;
      throw new ValidationError(`${problemCount} invalid row${problemCount === 1 ? '' : 's'} in ${input.source}; nothing was imported`, {
        details: [...problems.sort((a, b) => a.line - b.line).map((p) => p.text), ...(more > 0 ? [`… and ${more} more`] : [])],
        hint: 'fix them and run again, or import the valid rows with --skip-invalid --rejects FILE',
      });
    }
    hooks.onFinishing?.(counts);
    for (const [name, sql] of deferred) {
      if (input.scratch && !(name in UNIQUE_WHEN_EMPTY)) continue;
      try {
        buildIndex(sqlite, sql, input.kind);
      } catch (error) {
        if (!(name in UNIQUE_WHEN_EMPTY && isUniqueViolation(error) && handle.renumber)) throw error;
        handle.renumber();
        buildIndex(sqlite, sql, input.kind);
      }
    }
    for (const [table, firstId] of firstIds) await audit.insertedRange(table, firstId, highestIdIssued(sqlite, table));
    const wrote = counts.imported + counts.updated > 0;
    const summary = `import ${input.kind} from ${input.source}: imported ${counts.imported}, updated ${counts.updated}, skipped ${counts.skipped}, rejected ${counts.rejected}`;
    if (wrote) sqlite.prepare('UPDATE audit_log SET summary = ? WHERE id = ?').run(summary, audit.logId);
    else sqlite.prepare('DELETE FROM audit_log WHERE id = ?').run(audit.logId);
    clearFreshRows(sqlite);
    sqlite.exec(input.dryRun ? 'ROLLBACK' : 'COMMIT');
    return { ...counts, dryRun: input.dryRun, stampedNow: run.stampedNow, auditId: wrote && !input.dryRun ? audit.logId : null };
  } finally {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    sqlite.pragma('foreign_keys = ON');
  }
}
