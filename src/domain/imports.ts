// The rules of `crm import`: which columns each kind of file has, how a header is matched to them
// (case-insensitively, `--map` renames, `field.KEY` for custom fields), and how one row's cells
// become typed values with the same parsers the commands use. Pure: no I/O, the clock is passed in.
import { IDENTIFYING_FIELDS } from './customers.js';
import { parseDate, parseDateTime, parseDayAndTime, type DateFormat, type DayAndTime } from './dates.js';
import { UsageError, ValidationError } from './errors.js';
import { MAX_CENTS, centsToDecimal, parseMoney } from './money.js';
import { restoreCell } from './spreadsheet.js';
import { parseAge, parseChoice, parseEmail, parseGender, parseInteger, parsePhoneDigits, type Gender } from './validation.js';

export const IMPORT_KINDS = ['customers', 'sales', 'activities', 'tickets'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];
export const EXPORT_KINDS = ['customers', 'sales', 'activities', 'tickets', 'deals'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
/** The exported kinds whose rows carry an external id (a removed row keeps it beside its id). */
export const EXTERNAL_ID_KINDS: ReadonlySet<ExportKind> = new Set(['sales', 'tickets']);
/** The character encodings an import file may be in (`--encoding`); src/io/csvReader.ts decodes them. */
export const ENCODINGS = ['utf8', 'gbk', 'gb18030', 'latin1'] as const;
export type Encoding = (typeof ENCODINGS)[number];
export const DUPLICATE_MODES = ['skip', 'update', 'error'] as const;
export type DuplicateMode = (typeof DUPLICATE_MODES)[number];

/** The contract's import columns, in the order exports write them. */
export const IMPORT_COLUMNS: Record<ImportKind, readonly string[]> = {
  customers: ['name', 'email', 'phone', 'age', 'gender', 'company', 'city', 'source', 'tags', 'created', 'external_id', 'owner'],
  sales: ['external_id', 'customer', 'product', 'quantity', 'amount', 'date', 'note', 'order_id', 'sku', 'unit_price', 'refund_of'],
  activities: ['customer', 'type', 'at', 'direction', 'summary'],
  tickets: ['external_id', 'customer', 'subject', 'description', 'priority', 'kind', 'status', 'opened', 'resolved', 'score'],
};

const REQUIRED_COLUMNS: Record<ImportKind, readonly string[]> = {
  // Customers need one of name, email, phone or external_id: checked by planHeader and per row.
  customers: [],
  // Sales also need product or sku, and amount or unit_price: checked by planHeader.
  sales: ['customer'],
  activities: ['customer', 'type', 'summary'],
  tickets: ['customer', 'subject'],
};

/** Free text keeps its spaces; every other cell is trimmed. */
const FREE_TEXT = new Set(['note', 'summary', 'description']);

/** The longest cell accepted: a bigger one is almost always a broken quote or the wrong file. */
export const MAX_CELL_CHARS = 1_048_576;

const FIELD_KEY = /^[a-z_][\w.-]{0,63}$/;

export const ACTIVITY_TYPES = ['call', 'email', 'meeting', 'chat', 'note'] as const;
export const DIRECTIONS = ['in', 'out'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const TICKET_KINDS = ['question', 'problem', 'complaint', 'feedback'] as const;
export const TICKET_STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;

const norm = (name: string) => name.replace(/^\uFEFF/, '').trim().toLowerCase();

/** `--map SRC=DST`: the source header (any case) and the column it feeds. */
export function parseColumnMap(kind: ImportKind, text: string): { from: string; to: string } {
  const eq = text.lastIndexOf('=');
  const from = eq < 0 ? '' : norm(text.slice(0, eq));
  const to = eq < 0 ? '' : norm(text.slice(eq + 1));
  if (!from || !to) throw new UsageError(`--map "${text}" is not SRC=DST`, { hint: 'e.g. --map "E-Mail=email" --map "VIP level=field.vip_level"' });
  if (!IMPORT_COLUMNS[kind].includes(to) && !(kind === 'customers' && to.startsWith('field.') && FIELD_KEY.test(to.slice(6)))) {
    const extra = kind === 'customers' ? ', or field.KEY for a custom field' : '';
    throw new UsageError(`--map "${text}": ${kind} have no column "${to}"`, { hint: `columns: ${IMPORT_COLUMNS[kind].join(', ')}${extra}` });
  }
  return { from, to };
}

/** How a file's header feeds the import's columns. */
export interface HeaderPlan {
  /** The header as written in the file (for rejects files). */
  names: string[];
  /** Target column → index in a row, for the columns present. */
  index: Map<string, number>;
  /** Custom fields (customers only): key and index. */
  fields: Array<{ key: string; index: number }>;
}

/** Matches a header row to the columns of `kind`; a problem is a ValidationError naming line 1. */
/** The first few of a list for a message, then how many more: a header may have a million columns. */
function listSome(items: readonly string[], max = 10): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${(items.length - max).toLocaleString('en-US')} more`;
}

export function planHeader(
  kind: ImportKind,
  header: readonly string[],
  maps: ReadonlyArray<{ from: string; to: string }>,
  ignoreUnknown: boolean,
  line = 1,
  updating = false,
): HeaderPlan {
  const known = IMPORT_COLUMNS[kind];
  const mapped = new Map(maps.map((m) => [m.from, m.to]));
  const index = new Map<string, number>();
  const fields: HeaderPlan['fields'] = [];
  const unknown: string[] = [];
  header.forEach((raw, i) => {
    const name = norm(raw);
    const target = mapped.get(name) ?? name;
    if (kind === 'customers' && target.startsWith('field.')) {
      const fieldKey = target.slice(6);
      if (!FIELD_KEY.test(fieldKey)) throw new ValidationError(`line ${line}: column "${raw}" is not a valid custom field name`, { hint: 'use field.KEY with letters, digits, _ . or -' });
      if (fields.some((f) => f.key === fieldKey)) throw new ValidationError(`line ${line}: column "${raw}" appears twice`);
      fields.push({ key: fieldKey, index: i });
      return;
    }
    if (!known.includes(target)) {
      unknown.push(raw.trim() === '' ? `(empty, column ${i + 1})` : `"${raw.trim()}"`);
      return;
    }
    if (index.has(target)) throw new ValidationError(`line ${line}: column "${target}" appears twice`, { hint: 'remove one, or rename it with --map' });
    index.set(target, i);
  });
  if (unknown.length > 0 && !ignoreUnknown) {
    const extra = kind === 'customers' ? `, map it to a custom field with --map "NAME=field.KEY"` : '';
    throw new ValidationError(`line ${line}: ${unknown.length > 1 ? `${unknown.length.toLocaleString('en-US')} unknown columns` : 'unknown column'} ${listSome(unknown)}`, {
      hint: `the ${kind} columns are ${known.join(', ')}; rename with --map "NAME=COLUMN"${extra}, or pass --ignore-unknown`,
    });
  }
  // A file that only updates customers (--on-duplicate update) may leave out their names.
  const required = updating && kind === 'customers' ? [] : REQUIRED_COLUMNS[kind];
  if (kind === 'customers' && !updating && !IDENTIFYING_FIELDS.some((c) => index.has(c))) {
    throw new ValidationError(`line ${line}: a customers file needs one of the columns name, email, phone or external_id`, {
      hint: `the header has: ${header.map((h) => h.trim()).join(', ')}; rename with --map "NAME=COLUMN"`,
    });
  }
  if (kind === 'sales') {
    for (const [a, b, article] of [['product', 'sku', 'a'], ['amount', 'unit_price', 'an']] as const) {
      if (!index.has(a) && !index.has(b)) {
        throw new ValidationError(`line ${line}: a sales file needs ${article} ${a} or ${b} column`, {
          hint: `the header has: ${header.map((h) => h.trim()).join(', ')}; rename with --map "NAME=COLUMN"`,
        });
      }
    }
  }
  const missing = required.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new ValidationError(`line ${line}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
      hint: `the header has ${header.length === 1 ? '1 column' : `${header.length.toLocaleString('en-US')} columns`}: ${listSome(header.map((h) => h.trim()))}; rename with --map "NAME=COLUMN"`,
    });
  }
  return { names: [...header], index, fields };
}

/** One invalid cell (or row, when column is null). */
export class RowError extends Error {
  constructor(
    readonly column: string | null,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** `line 7: email: "x" is not a valid email address`. */
export function formatProblem(line: number, error: RowError): string {
  return error.column ? `line ${line}: ${error.column}: ${error.reason}` : `line ${line}: ${error.reason}`;
}

export interface RowContext {
  now: Date;
  dateFormat?: DateFormat | undefined;
  /** `--customer-key`: which key a `customer` cell is; undefined: whichever matches. */
  customerKey?: CustomerKey | undefined;
  /** Parsed timestamps by text: files repeat the same few thousand days a million times. */
  instants?: Map<string, string>;
  /** Parsed dates by text. */
  days?: Map<string, string>;
  /** Parsed sale dates (a day, perhaps with a time) by text. */
  moments?: Map<string, DayAndTime>;
}

const MEMO_LIMIT = 100_000;

function remember(memo: Map<string, string>, text: string, value: string): string {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(text, value);
  return value;
}

/** A timestamp cell as an ISO instant (a plain date is the start of that local day). */
function isoInstant(text: string, ctx: RowContext, label: string): string {
  const memo = (ctx.instants ??= new Map());
  return memo.get(text) ?? remember(memo, text, parseDateTime(text, { now: ctx.now, dateFormat: ctx.dateFormat, label }).toISOString());
}

/** A date cell as `YYYY-MM-DD`. */
function isoDay(text: string, ctx: RowContext, label: string): string {
  const memo = (ctx.days ??= new Map());
  return memo.get(text) ?? remember(memo, text, parseDate(text, { now: ctx.now, dateFormat: ctx.dateFormat, label }));
}

/** A sale's date cell: its day, and its instant when the cell has a time. */
function dayAndTime(text: string, ctx: RowContext, label: string): DayAndTime {
  const memo = (ctx.moments ??= new Map());
  let value = memo.get(text);
  if (value === undefined) {
    value = parseDayAndTime(text, { now: ctx.now, dateFormat: ctx.dateFormat, label });
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(text, value);
  }
  return value;
}

/** Reads the cells of one row by column name: restored (`'=x` → `=x`) and trimmed unless free text. */
export class RowReader {
  /** The column being read, so a parser's error can be pinned on it. */
  column: string | null = null;
  private values: readonly string[] = [];
  /** Column → its index × 2, + 1 for free text (kept untrimmed): one lookup per cell. */
  private readonly slots = new Map<string, number>();

  constructor(readonly plan: HeaderPlan) {
    for (const [column, i] of plan.index) this.slots.set(column, i * 2 + (FREE_TEXT.has(column) ? 1 : 0));
  }

  load(values: readonly string[]): void {
    this.column = null;
    const width = this.plan.names.length;
    if (values.length !== width) {
      throw new RowError(null, `has ${values.length} field${values.length === 1 ? '' : 's'}, the header has ${width}`);
    }
    for (let i = 0; i < values.length; i++) {
      if (values[i]!.length > MAX_CELL_CHARS) {
        throw new RowError(this.plan.names[i]!.trim() || `column ${i + 1}`, `longer than ${MAX_CELL_CHARS.toLocaleString('en-US')} characters (${values[i]!.length.toLocaleString('en-US')})`);
      }
    }
    this.values = values;
  }

  /** The cell, or '' when the column is absent. */
  get(column: string): string {
    this.column = column;
    const slot = this.slots.get(column);
    if (slot === undefined) return '';
    const raw = restoreCell(this.values[slot >> 1]!);
    return slot & 1 ? raw : raw.trim();
  }

  /** The cell, or null when empty or absent. */
  optional(column: string): string | null {
    const value = this.get(column);
    return value === '' ? null : value;
  }

  required(column: string): string {
    const value = this.get(column);
    if (value.trim() === '') throw new RowError(column, 'is required');
    return value;
  }

  fields(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const { key, index } of this.plan.fields) {
      this.column = `field.${key}`;
      const value = restoreCell(this.values[index]!).trim();
      if (value !== '') out.push([key, value]);
    }
    return out;
  }

  /** Turns a parser's UsageError into a RowError on the current column; rethrows anything else. */
  fail(error: unknown): never {
    if (error instanceof RowError) throw error;
    if (error instanceof UsageError) {
      const column = this.column;
      let reason = error.message;
      if (column && reason.startsWith(`${column} `)) reason = reason.slice(column.length + 1);
      throw new RowError(column, reason);
    }
    throw error;
  }
}

export interface CustomerRecord {
  name: string | null;
  email: string | null;
  phone: string | null;
  phoneDigits: string | null;
  age: number | null;
  gender: Gender | null;
  company: string | null;
  city: string | null;
  source: string | null;
  tags: string[];
  created: string | null;
  externalId: string | null;
  /** The team member who looks after the customer (issue 15); empty: none given. */
  owner: string | null;
  fields: Array<[string, string]>;
}

export function readCustomer(r: RowReader, ctx: RowContext): CustomerRecord {
  try {
    const name = r.optional('name');
    const emailText = r.optional('email');
    const email = emailText === null ? null : parseEmail(emailText, 'email');
    const phoneText = r.optional('phone');
    const [phone, digits] = phoneText === null ? [null, null] : parsePhoneDigits(phoneText, 'phone');
    const ageText = r.optional('age');
    const age = ageText === null ? null : parseAge(ageText, 'age');
    const gender = parseGender(r.get('gender'), 'gender');
    const company = r.optional('company');
    const city = r.optional('city');
    const source = r.optional('source');
    const tagsText = r.get('tags');
    const tags = tagsText === '' ? [] : splitTags(tagsText);
    const createdText = r.optional('created');
    const created = createdText === null ? null : isoInstant(createdText, ctx, 'created');
    const externalId = r.optional('external_id');
    const owner = r.optional('owner');
    const fields = r.fields();
    return { name, email, phone, phoneDigits: digits, age, gender, company, city, source, tags, created, externalId, owner, fields };
  } catch (error) {
    return r.fail(error);
  }
}

/** `vip; b2b;vip` → `['vip', 'b2b']` (any case counts once). */
export function splitTags(text: string): string[] {
  if (!text.includes(';')) {
    const tag = text.trim();
    return tag === '' ? [] : [tag];
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const part of text.split(';')) {
    const tag = part.trim();
    if (tag === '' || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

/** `--customer-key`: which of a customer's keys the `customer` cells of a file are. */
export const CUSTOMER_KEYS = ['external_id', 'email', 'phone', 'id'] as const;
export type CustomerKey = (typeof CUSTOMER_KEYS)[number];

/**
 * How a `customer` cell may name a customer: the text (a candidate external id), and the email, phone
 * digits or crm id it reads as, where it reads as one. With `--customer-key` only that key is set.
 */
export interface CustomerRef {
  text: string;
  /** The key pinned by --customer-key, or null: any key that matches (see services/imports). */
  key: CustomerKey | null;
  email: string | null;
  digits: string | null;
  id: number | null;
}

export function readCustomerRef(r: RowReader, key: CustomerKey | undefined): CustomerRef {
  const text = r.required('customer');
  const ref: CustomerRef = { text, key: key ?? null, email: null, digits: null, id: null };
  if (key === 'external_id') return ref;
  if (key === 'email') {
    ref.email = parseEmail(text, 'customer');
    return ref;
  }
  if (key === 'phone') {
    ref.digits = parsePhoneDigits(text, 'customer')[1];
    return ref;
  }
  if (key === 'id') {
    if (!/^\d+$/.test(text)) throw new RowError('customer', `"${text}" is not a customer id (--customer-key id)`);
    ref.id = Number(text);
    return ref;
  }
  if (/^\d+$/.test(text)) {
    ref.id = Number(text);
    if (text.length >= 5) ref.digits = text;
  } else if (text.includes('@')) {
    ref.email = parseEmail(text, 'customer');
  } else {
    try {
      ref.digits = parsePhoneDigits(text, 'customer')[1];
    } catch {
      // Not a phone number: only an external id can match it.
    }
  }
  return ref;
}

export interface SaleRecord {
  externalId: string | null;
  /** Null: a guest sale (the customer cell is empty). */
  customer: CustomerRef | null;
  /** The product's name; the SKU when the file has no name for it. */
  product: string;
  quantity: number;
  amountCents: number;
  /** The local day of the sale. */
  soldOn: string;
  /** The instant of the sale (ISO UTC) when the date cell has a time; null for a plain date. */
  soldAt: string | null;
  note: string | null;
  /** The shop's order (invoice) this line belongs to. */
  orderId: string | null;
  /** The shop's stock code: reports key products by it when present. */
  sku: string | null;
  unitPriceCents: number | null;
  /** A refund (negative amount): the sale it refunds, by that sale's external id or crm id, when the file says. */
  refundOf: string | null;
}

/**
 * A line's amount from its quantity and unit price. Unit prices take at most two decimals (the money
 * parser refuses more), so the product is a whole number of cents: exact, no rounding anywhere.
 */
export function lineAmountCents(quantity: number, unitPriceCents: number): number {
  const cents = quantity * unitPriceCents;
  if (!Number.isSafeInteger(cents) || Math.abs(cents) > MAX_CENTS) throw new RowError('unit_price', 'quantity × unit price is too large');
  return cents;
}

export function readSale(r: RowReader, ctx: RowContext): SaleRecord {
  try {
    const externalId = r.optional('external_id');
    // An empty customer cell is a guest sale (a walk-in, a guest checkout).
    const customer = r.optional('customer') === null ? null : readCustomerRef(r, ctx.customerKey);
    const sku = r.optional('sku');
    const product = sku === null ? r.required('product') : (r.optional('product') ?? sku);
    // A negative quantity or amount is a refund; a zero quantity is no line at all.
    const quantityText = r.optional('quantity');
    let quantity = quantityText === null ? 1 : parseInteger(quantityText, 'quantity', -1_000_000, 1_000_000);
    if (quantity === 0) throw new RowError('quantity', 'must not be 0 (a negative quantity is a refund)');
    const unitPriceText = r.optional('unit_price');
    const unitPriceCents = unitPriceText === null ? null : parseMoney(unitPriceText, { label: 'unit_price' });
    const amountText = unitPriceCents === null ? r.required('amount') : r.optional('amount');
    const lineCents = unitPriceCents === null ? null : lineAmountCents(quantity, unitPriceCents);
    const amountCents = amountText === null ? lineCents! : parseMoney(amountText, { label: 'amount', allowNegative: true });
    if (lineCents !== null && amountCents !== lineCents) {
      throw new RowError('amount', `${centsToDecimal(amountCents)} is not quantity × unit_price (${quantity} × ${centsToDecimal(unitPriceCents!)} = ${centsToDecimal(lineCents)})`);
    }
    if (amountCents < 0 && quantityText === null) quantity = -1;
    if ((amountCents < 0 && quantity > 0) || (quantity < 0 && amountCents >= 0)) {
      throw new RowError('amount', `${centsToDecimal(amountCents)} and quantity ${quantity} disagree: a refund has both negative`);
    }
    const dateText = r.optional('date');
    const { day: soldOn, at: soldAt } = dayAndTime(dateText ?? 'today', ctx, 'date');
    const note = r.optional('note');
    const orderId = r.optional('order_id');
    const refundOf = r.optional('refund_of');
    if (refundOf !== null && amountCents >= 0) throw new RowError('refund_of', 'is given but the row is not a refund (its amount is not negative)');
    return { externalId, customer, product, quantity, amountCents, soldOn, soldAt, note, orderId, sku, unitPriceCents, refundOf };
  } catch (error) {
    return r.fail(error);
  }
}

export interface ActivityRecord {
  customer: CustomerRef;
  type: (typeof ACTIVITY_TYPES)[number];
  /** The `at` cell, or the time of the import when it is empty (`timed` false). */
  at: string;
  timed: boolean;
  direction: (typeof DIRECTIONS)[number] | null;
  summary: string;
}

export function readActivity(r: RowReader, ctx: RowContext): ActivityRecord {
  try {
    const customer = readCustomerRef(r, ctx.customerKey);
    const type = parseChoice(r.required('type'), ACTIVITY_TYPES, 'type');
    const atText = r.optional('at');
    const at = atText === null ? ctx.now.toISOString() : isoInstant(atText, ctx, 'at');
    const directionText = r.optional('direction');
    const direction = directionText === null ? null : parseChoice(directionText, DIRECTIONS, 'direction');
    const summary = r.required('summary');
    return { customer, type, at, timed: atText !== null, direction, summary };
  } catch (error) {
    return r.fail(error);
  }
}

export interface TicketRecord {
  externalId: string | null;
  customer: CustomerRef;
  subject: string;
  description: string | null;
  priority: (typeof PRIORITIES)[number];
  kind: (typeof TICKET_KINDS)[number];
  status: (typeof TICKET_STATUSES)[number];
  /** The `opened` cell, or the time of the import when it is empty (`timed` false). */
  openedAt: string;
  timed: boolean;
  resolvedAt: string | null;
  score: number | null;
}

export function readTicket(r: RowReader, ctx: RowContext): TicketRecord {
  try {
    const externalId = r.optional('external_id');
    const customer = readCustomerRef(r, ctx.customerKey);
    const subject = r.required('subject');
    const description = r.optional('description');
    const priorityText = r.optional('priority');
    const priority = priorityText === null ? 'normal' : parseChoice(priorityText, PRIORITIES, 'priority');
    const kindText = r.optional('kind');
    const kind = kindText === null ? 'question' : parseChoice(kindText, TICKET_KINDS, 'kind');
    const openedText = r.optional('opened');
    const opened = openedText === null ? ctx.now : parseDateTime(openedText, { now: ctx.now, dateFormat: ctx.dateFormat, label: 'opened' });
    const resolvedText = r.optional('resolved');
    const resolved = resolvedText === null ? null : parseDateTime(resolvedText, { now: ctx.now, dateFormat: ctx.dateFormat, label: 'resolved' });
    const statusText = r.optional('status');
    const status = statusText === null ? (resolved ? 'resolved' : 'open') : parseChoice(statusText, TICKET_STATUSES, 'status');
    const done = status === 'resolved' || status === 'closed';
    if (resolved && !done) throw new RowError('resolved', `is given but the status is ${status}`);
    if (done && !resolved) throw new RowError('resolved', `is required when the status is ${status}`);
    if (resolved && resolved.getTime() < opened.getTime()) throw new RowError('resolved', 'is before opened');
    const scoreText = r.optional('score');
    const score = scoreText === null ? null : parseInteger(scoreText, 'score', 1, 5);
    if (score !== null && !done) throw new RowError('score', `cannot rate a ticket that is ${status}`);
    return { externalId, customer, subject, description, priority, kind, status, openedAt: opened.toISOString(), timed: openedText !== null, resolvedAt: resolved ? resolved.toISOString() : null, score };
  } catch (error) {
    return r.fail(error);
  }
}

/** Parsed records of an input file, a chunk at a time: cells and the physical line each record starts on. */
export interface RecordBatch {
  rows: string[][];
  lines: number[];
  /** Bytes of the file read when this batch was cut (for estimating the number of rows). */
  bytes?: number;
  /** What a big file's reader thread worked out for these rows ahead of the import (see BatchStep). */
  keys?: BatchKeys;
}

/**
 * Work a big file's reader thread does on each batch before the import takes it, while the import
 * writes the batches before: `bundle` names a module built beside the reader's own (dist/NAME.js)
 * whose `stepOf(data)` returns the function that fills a batch's `keys`. The reader may not run
 * it at all (a small file, stdin, the module missing or failing): the import then works each key
 * out itself.
 */
export interface BatchStep {
  bundle: string;
  data: unknown;
}

/**
 * Import keys worked out ahead, one per row of the batch: row i's key is `keys` from i × `width`,
 * computed for the customer id `owners[i]` (0: a guest sale; −1: none was computed for the row).
 */
export interface BatchKeys {
  width: number;
  keys: string;
  owners: Float64Array;
}
