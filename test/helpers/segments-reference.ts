// Test-side model of segments: a generated customer set, random `--where` expressions over it, and
// a plain-TypeScript evaluator of those expressions, written from the contract (not from the code
// under test), so members found by crm can be checked against members found here.
import { openDb } from './cli.js';
import { rng } from './random.js';

export const TODAY = '2025-06-01';
export const NOW = `${TODAY}T09:00:00Z`;

export interface RefSale {
  amount_cents: number;
  sold_on: string;
  voided: boolean;
}

export interface RefCustomer {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  age: number | null;
  gender: 'female' | 'male' | 'other' | null;
  company: string | null;
  city: string | null;
  source: string | null;
  created_at: string;
  tags: string[];
  fields: Record<string, string>;
  sales: RefSale[];
  tickets: Array<'open' | 'pending' | 'resolved' | 'closed'>;
  /** Churn-risk scores saved for the customer, oldest first (the last one is their churn_risk). */
  risks: number[];
}

export { rng };

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

export const NAMES = ['Li Wei', 'li wei', 'Anna Schmidt', "Sean O'Brien", 'Zhang "Z" San', 'Emma', 'Back\\Slash', 'Wang Fang', 'Marie Curie', 'Noah'];
export const CITIES = ['Shanghai', 'shanghai', 'Hangzhou', 'Berlin', 'New York', '', null] as const;
export const COMPANIES = ['Acme', 'ACME Tea', 'Tea & Co', null, ''] as const;
export const SOURCES = ['referral', 'web', 'Web', 'fair', null] as const;
export const TAGS = ['vip', 'churned', 'b2b', 'newsletter'];
export const PLANS = ['gold', 'Gold', 'silver', ''];
export const LEVELS = ['1', '3', '10', '2.5', 'n/a'];

export function generateCustomers(count: number, seed: number): RefCustomer[] {
  const random = rng(seed);
  // Saved risk scores come from a stream of their own, so the rest of the data stays as it was.
  const riskRandom = rng(seed + 1_000_003);
  const customers: RefCustomer[] = [];
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    const day = `${2023 + Math.floor(random() * 3)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    const createdDay = day > TODAY ? TODAY : day;
    const fields: Record<string, string> = {};
    if (random() < 0.5) fields.plan = pick(random, PLANS);
    if (random() < 0.5) fields.level = pick(random, LEVELS);
    const sales: RefSale[] = [];
    const salesCount = random() < 0.3 ? 0 : Math.floor(random() * 5);
    for (let s = 0; s < salesCount; s++) {
      const ago = Math.floor(random() * 400);
      const sold = new Date(Date.UTC(2025, 5, 1 - ago)).toISOString().slice(0, 10);
      sales.push({ amount_cents: 100 * Math.floor(random() * 1500) + (random() < 0.3 ? 50 : 0), sold_on: sold, voided: random() < 0.15 });
    }
    const tickets: RefCustomer['tickets'] = [];
    const ticketCount = random() < 0.6 ? 0 : 1 + Math.floor(random() * 3);
    for (let t = 0; t < ticketCount; t++) tickets.push(pick(random, ['open', 'pending', 'resolved', 'closed'] as const));
    customers.push({
      id,
      name: pick(random, NAMES),
      email: random() < 0.2 ? null : `user${id}@example.com`,
      phone: random() < 0.3 ? null : `+86 138 ${String(1000 + id).padStart(4, '0')} ${String(Math.floor(random() * 10000)).padStart(4, '0')}`,
      age: random() < 0.15 ? null : Math.floor(random() * 80),
      gender: pick(random, ['female', 'male', 'other', null] as const),
      company: pick(random, COMPANIES),
      city: pick(random, CITIES),
      source: pick(random, SOURCES),
      created_at: `${createdDay}T${String(Math.floor(random() * 24)).padStart(2, '0')}:30:00.000Z`,
      tags: TAGS.filter(() => random() < 0.3),
      fields,
      sales,
      tickets,
      risks: riskRandom() < 0.35 ? [] : Array.from({ length: 1 + Math.floor(riskRandom() * 2) }, () => Math.round(riskRandom() * 100) / 100),
    });
  }
  return customers;
}

/** Writes the customers (and their tags, fields, sales, tickets) into a migrated crm database. */
/** Where generated customers go: a SQLite file's path, or a sandbox (either engine). */
export type CustomerTarget = string | { insert(table: string, rows: readonly Record<string, unknown>[]): void };

/** The rows of every table for `customers`, in insertion order (ids implied by order where not given). */
function customerRows(customers: readonly RefCustomer[]): Array<[string, Record<string, unknown>[]]> {
  const tagIds = new Map<string, number>(TAGS.map((tag, i) => [tag, i + 1]));
  const people: Record<string, unknown>[] = [];
  const links: Record<string, unknown>[] = [];
  const fields: Record<string, unknown>[] = [];
  const sales: Record<string, unknown>[] = [];
  const tickets: Record<string, unknown>[] = [];
  const risks: Record<string, unknown>[] = [];
  for (const c of customers) {
    people.push({ id: c.id, name: c.name, email: c.email, phone: c.phone, phone_digits: c.phone ? c.phone.replace(/\D/g, '') : null, age: c.age, gender: c.gender, company: c.company, city: c.city, source: c.source, created_at: c.created_at, updated_at: c.created_at });
    for (const tag of c.tags) links.push({ customer_id: c.id, tag_id: tagIds.get(tag) });
    for (const [key, value] of Object.entries(c.fields)) fields.push({ customer_id: c.id, key, value });
    for (const s of c.sales) sales.push({ customer_id: c.id, product: 'Tea', amount_cents: s.amount_cents, sold_on: s.sold_on, created_at: `${s.sold_on}T10:00:00.000Z`, voided_at: s.voided ? '2025-05-01T00:00:00.000Z' : null });
    for (const status of c.tickets) tickets.push({ customer_id: c.id, subject: 'Help', priority: 'normal', kind: 'question', status, opened_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z' });
  }
  // Saved in rounds, as repeated `customer risk --save` runs would: each customer's last is latest.
  for (let round = 0; round < 2; round++) {
    for (const c of customers) {
      if (c.risks[round] === undefined) continue;
      risks.push({ customer_id: c.id, probability: c.risks[round], spend_12m_cents: 0, revenue_at_risk_cents: 0, reasons: '', action: 'call', as_of: '2025-05-01', horizon_days: 90, saved_at: '2025-05-01T00:00:00.000Z' });
    }
  }
  return [
    ['tags', TAGS.map((name, i) => ({ id: i + 1, name }))],
    ['customers', people],
    ['customer_tags', links],
    ['customer_fields', fields],
    ['sales', sales],
    ['tickets', tickets],
    ['risk_scores', risks],
  ];
}

export function insertCustomers(target: CustomerTarget, customers: readonly RefCustomer[]): void {
  const tables = customerRows(customers);
  if (typeof target !== 'string') {
    for (const [table, rows] of tables) target.insert(table, rows);
    return;
  }
  const db = openDb(target);
  try {
    db.transaction(() => {
      for (const [table, rows] of tables) {
        if (rows.length === 0) continue;
        const columns = Object.keys(rows[0]!);
        const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
        for (const row of rows) insert.run(...columns.map((c) => row[c]));
      }
    })();
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Aggregates, as the contract defines them

const liveSales = (c: RefCustomer) => c.sales.filter((s) => !s.voided);
export const totalSpent = (c: RefCustomer) => liveSales(c).reduce((sum, s) => sum + s.amount_cents, 0);
export const orders = (c: RefCustomer) => liveSales(c).length;
export const lastPurchase = (c: RefCustomer): string | null => liveSales(c).reduce<string | null>((max, s) => (max === null || s.sold_on > max ? s.sold_on : max), null);
export const openTickets = (c: RefCustomer) => c.tickets.filter((t) => t === 'open' || t === 'pending').length;
export const churnRisk = (c: RefCustomer): number | null => c.risks.at(-1) ?? null;

export function daysBefore(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! - n)).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Random expressions: a tree that renders to `--where` text and evaluates in TypeScript

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';
type RefValue = { kind: 'text'; text: string } | { kind: 'number'; n: number; shown: string } | { kind: 'day'; day: string } | { kind: 'age'; days: number };

export type RefExpr =
  | { type: 'and' | 'or'; left: RefExpr; right: RefExpr }
  | { type: 'not'; operand: RefExpr }
  | { type: 'cmp'; field: string; op: Op; value: RefValue }
  | { type: 'in'; field: string; values: RefValue[]; negated: boolean }
  | { type: 'between'; field: string; low: RefValue; high: RefValue; negated: boolean }
  | { type: 'empty'; field: string; negated: boolean };

/** SQLite folds ASCII letters only (NOCASE, lower()); the contract says case-insensitive. */
const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const isEmptyText = (s: string | null | undefined) => s === null || s === undefined || s === '';

function compareOrder(a: string | number, op: Op, b: string | number): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      throw new Error(`op ${op}`);
  }
}

function textMatches(stored: string | null, op: Op, value: string): boolean {
  if (isEmptyText(stored)) return false;
  const a = fold(stored!);
  const b = fold(value);
  if (op === '~') return a.includes(b);
  return compareOrder(a, op, b);
}

type Kind = 'text' | 'int' | 'money' | 'prob' | 'day' | 'created' | 'tag' | 'custom';
const FIELD_KIND: Record<string, Kind> = {
  name: 'text', email: 'text', phone: 'text', city: 'text', company: 'text', source: 'text', gender: 'text',
  age: 'int', orders: 'int', open_tickets: 'int', total_spent: 'money', churn_risk: 'prob',
  last_purchase: 'day', created: 'created', tag: 'tag', 'field.plan': 'custom', 'field.level': 'custom',
};

function textOfField(c: RefCustomer, field: string): string | null {
  switch (field) {
    case 'name': return c.name;
    case 'email': return c.email;
    case 'phone': return c.phone;
    case 'city': return c.city;
    case 'company': return c.company;
    case 'source': return c.source;
    case 'gender': return c.gender;
    default: throw new Error(field);
  }
}

function numberOfField(c: RefCustomer, field: string): number | null {
  switch (field) {
    case 'age': return c.age;
    case 'orders': return orders(c);
    case 'open_tickets': return openTickets(c);
    case 'total_spent': return totalSpent(c);
    case 'churn_risk': return churnRisk(c);
    default: throw new Error(field);
  }
}

function dayOfField(c: RefCustomer, field: string): string | null {
  return field === 'created' ? c.created_at.slice(0, 10) : lastPurchase(c);
}

const AGE_FLIP: Record<string, Op> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const dayValue = (v: RefValue) => (v.kind === 'day' ? v.day : v.kind === 'age' ? daysBefore(TODAY, v.days) : '');

const customNumeric = (s: string) => /^[0-9][0-9.]*$/.test(s);

/** Does `value` (one stored value) satisfy the positive predicate? */
function leaf(c: RefCustomer, node: Exclude<RefExpr, { type: 'and' | 'or' | 'not' }>): boolean {
  const kind = FIELD_KIND[node.field]!;
  const pos = (test: (stored: { text: string | null; num: number | null; day: string | null }) => boolean): boolean => {
    if (kind === 'tag') return c.tags.some((t) => test({ text: t, num: null, day: null }));
    if (kind === 'custom') {
      const key = node.field.slice(6);
      const v = c.fields[key];
      return v !== undefined && test({ text: v, num: customNumeric(v) ? parseFloat(v) : null, day: null });
    }
    if (kind === 'text') return test({ text: textOfField(c, node.field), num: null, day: null });
    if (kind === 'int' || kind === 'money' || kind === 'prob') return test({ text: null, num: numberOfField(c, node.field), day: null });
    return test({ text: null, num: null, day: dayOfField(c, node.field) });
  };
  const single = (op: Op, value: RefValue) =>
    pos((s) => {
      if (kind === 'text' || kind === 'tag') return textMatches(s.text, op, (value as { text: string }).text);
      if (kind === 'custom') {
        if (value.kind === 'number' && op !== '=' && op !== '~') return s.num !== null && compareOrder(s.num, op, value.n);
        return textMatches(s.text, op, value.kind === 'text' ? value.text : (value as { shown: string }).shown);
      }
      if (kind === 'int' || kind === 'money' || kind === 'prob') return s.num !== null && compareOrder(s.num, op, (value as { n: number }).n);
      if (s.day === null) return false;
      return compareOrder(s.day, value.kind === 'age' ? AGE_FLIP[op]! : op, dayValue(value));
    });
  switch (node.type) {
    case 'cmp':
      return node.op === '!=' ? !single('=', node.value) : single(node.op, node.value);
    case 'in': {
      const hit = node.values.some((v) => single('=', v));
      return node.negated ? !hit : hit;
    }
    case 'between': {
      let hit: boolean;
      if (kind === 'day' || kind === 'created') {
        const [from, to] = node.low.kind === 'age' ? [dayValue(node.high), dayValue(node.low)] : [dayValue(node.low), dayValue(node.high)];
        hit = pos((s) => s.day !== null && s.day >= from && s.day <= to);
      } else if (kind === 'int' || kind === 'money' || kind === 'prob' || (kind === 'custom' && node.low.kind === 'number')) {
        const lo = (node.low as { n: number }).n;
        const hi = (node.high as { n: number }).n;
        hit = pos((s) => s.num !== null && s.num >= lo && s.num <= hi);
      } else {
        const lo = fold((node.low as { text: string }).text);
        const hi = fold((node.high as { text: string }).text);
        hit = pos((s) => !isEmptyText(s.text) && fold(s.text!) >= lo && fold(s.text!) <= hi);
      }
      return node.negated ? !hit : hit;
    }
    case 'empty': {
      let empty: boolean;
      if (kind === 'tag') empty = c.tags.length === 0;
      else if (kind === 'custom') empty = isEmptyText(c.fields[node.field.slice(6)]);
      else if (kind === 'text') empty = isEmptyText(textOfField(c, node.field));
      else if (kind === 'int' || kind === 'prob') empty = numberOfField(c, node.field) === null;
      else if (kind === 'created') empty = false;
      else empty = dayOfField(c, node.field) === null;
      return node.negated ? !empty : empty;
    }
  }
}

export function evaluate(c: RefCustomer, node: RefExpr): boolean {
  switch (node.type) {
    case 'and':
      return evaluate(c, node.left) && evaluate(c, node.right);
    case 'or':
      return evaluate(c, node.left) || evaluate(c, node.right);
    case 'not':
      return !evaluate(c, node.operand);
    default:
      return leaf(c, node);
  }
}

// ---- generation

function randomCase(random: () => number, word: string): string {
  if (random() < 0.7) return word;
  return [...word].map((ch) => (random() < 0.5 ? ch.toUpperCase() : ch)).join('');
}

function textValue(random: () => number, field: string): RefValue {
  const pools: Record<string, readonly (string | null)[]> = {
    name: [...NAMES, 'wei', 'ANNA', "o'brien", '"z"', 'slash', 'nobody'],
    email: ['user1@example.com', 'USER2@EXAMPLE.COM', 'example', 'user1'],
    phone: ['138', '+86', '1001', '9'],
    city: ['Shanghai', 'SHANGHAI', 'hang', 'Berlin', 'new york', 'Paris', 'n'],
    company: ['acme', 'Tea & Co', 'tea', 'ACME TEA', 'x'],
    source: ['referral', 'WEB', 'fair', 'e'],
    gender: ['female', 'male', 'other'],
    tag: [...TAGS, 'VIP', 'chur', 'none'],
    'field.plan': ['gold', 'GOLD', 'silver', 'ol', 'bronze'],
    'field.level': ['1', '3', '10', 'n/a', '2.5'],
  };
  const text = pick(random, pools[field]!.filter((v): v is string => v !== null && v !== ''));
  return { kind: 'text', text };
}

function valueFor(random: () => number, field: string, op: Op): RefValue {
  const kind = FIELD_KIND[field]!;
  switch (kind) {
    case 'int': {
      const n = field === 'age' ? Math.floor(random() * 85) : Math.floor(random() * 5);
      return { kind: 'number', n, shown: String(n) };
    }
    case 'prob': {
      // Hundredths, as saved, so equality finds someone; written as 0.35 or 35%.
      const hundredths = Math.floor(random() * 101);
      if (random() < 0.4) return { kind: 'number', n: hundredths / 100, shown: `${hundredths}%` };
      const shown = (hundredths / 100).toFixed(2);
      return { kind: 'number', n: Number(shown), shown };
    }
    case 'money': {
      const yuan = Math.floor(random() * 3000);
      const cents = random() < 0.3 ? 50 : 0;
      const shown = pick(random, [`${yuan}`, `${yuan}.${String(cents).padStart(2, '0')}`, `¥${yuan}`]);
      return { kind: 'number', n: yuan * 100 + (shown.includes('.') ? cents : 0), shown };
    }
    case 'day':
    case 'created': {
      if (random() < 0.5) return { kind: 'age', days: Math.floor(random() * 400) };
      return { kind: 'day', day: daysBefore(TODAY, Math.floor(random() * 900)) };
    }
    case 'custom':
      if (field === 'field.level' && op !== '=' && op !== '~' && op !== '!=' && random() < 0.8) {
        const n = pick(random, [1, 2, 3, 5, 10]);
        return { kind: 'number', n, shown: String(n) };
      }
      return textValue(random, field);
    default:
      return textValue(random, field);
  }
}

const ALL_FIELDS = Object.keys(FIELD_KIND);

function randomLeaf(random: () => number): RefExpr {
  const field = pick(random, ALL_FIELDS);
  const kind = FIELD_KIND[field]!;
  const roll = random();
  if (roll < 0.12 && kind !== 'money' && !(kind === 'int' && field !== 'age')) return { type: 'empty', field, negated: random() < 0.4 };
  if (roll < 0.27) {
    const n = 1 + Math.floor(random() * 3);
    return { type: 'in', field, values: Array.from({ length: n }, () => valueFor(random, field, '=')), negated: random() < 0.3 };
  }
  if (roll < 0.4 && kind !== 'tag' && field !== 'gender') {
    let low = valueFor(random, field, '<');
    let high = valueFor(random, field, '<');
    if ((kind === 'day' || kind === 'created') && low.kind !== high.kind) high = low.kind === 'age' ? { kind: 'age', days: Math.floor(random() * 400) } : { kind: 'day', day: daysBefore(TODAY, Math.floor(random() * 900)) };
    if (kind === 'custom' && low.kind !== high.kind) high = low;
    if (random() < 0.7) {
      // mostly ordered bounds, so between finds something
      const key = (v: RefValue) => (v.kind === 'number' ? v.n : v.kind === 'text' ? fold(v.text) : v.kind === 'age' ? v.days : v.day);
      if (key(low) > key(high)) [low, high] = [high, low];
    }
    return { type: 'between', field, low, high, negated: random() < 0.3 };
  }
  const ops: Op[] =
    kind === 'tag' || field === 'gender' ? ['=', '!=', '~'] : kind === 'int' || kind === 'money' || kind === 'prob' || kind === 'day' || kind === 'created' ? ['=', '!=', '<', '<=', '>', '>='] : ['=', '!=', '<', '<=', '>', '>=', '~'];
  const op = pick(random, ops);
  return { type: 'cmp', field, op, value: valueFor(random, field, op) };
}

export function randomExpr(random: () => number, depth = 3): RefExpr {
  const roll = random();
  if (depth <= 0 || roll < 0.35) return randomLeaf(random);
  if (roll < 0.5) return { type: 'not', operand: randomExpr(random, depth - 1) };
  return { type: random() < 0.5 ? 'and' : 'or', left: randomExpr(random, depth - 1), right: randomExpr(random, depth - 1) };
}

function quote(random: () => number, text: string): string {
  const q = random() < 0.5 ? '"' : "'";
  return q + text.replace(/\\/g, '\\\\').replace(new RegExp(q, 'g'), `\\${q}`) + q;
}

function renderValue(random: () => number, _field: string, v: RefValue): string {
  switch (v.kind) {
    case 'text':
      return quote(random, v.text);
    case 'number':
      return v.shown;
    case 'day':
      return v.day;
    case 'age':
      return v.days % 7 === 0 && v.days > 0 && random() < 0.5 ? `${v.days / 7}w` : `${v.days}d`;
  }
}

const PREC = { or: 1, and: 2, not: 3 } as const;
const precOf = (e: RefExpr) => (e.type === 'or' ? 1 : e.type === 'and' ? 2 : e.type === 'not' ? 3 : 4);
const space = (random: () => number) => (random() < 0.8 ? ' ' : '  ');

/** Renders with as few parentheses as precedence allows (plus a few spare ones). */
export function render(random: () => number, e: RefExpr): string {
  const kw = (word: string) => randomCase(random, word);
  const wrap = (child: RefExpr, min: number) => {
    const text = render(random, child);
    return precOf(child) < min || random() < 0.1 ? `(${text})` : text;
  };
  switch (e.type) {
    case 'and':
    case 'or':
      return `${wrap(e.left, PREC[e.type])}${space(random)}${kw(e.type)}${space(random)}${wrap(e.right, PREC[e.type])}`;
    case 'not':
      return `${kw('not')} ${wrap(e.operand, PREC.not)}`;
    case 'cmp': {
      const sep = random() < 0.3 ? '' : ' ';
      return `${e.field}${sep}${e.op}${sep}${renderValue(random, e.field, e.value)}`;
    }
    case 'in':
      return `${e.field} ${e.negated ? `${kw('not')} ` : ''}${kw('in')} (${e.values.map((v) => renderValue(random, e.field, v)).join(random() < 0.5 ? ', ' : ',')})`;
    case 'between':
      return `${e.field} ${e.negated ? `${kw('not')} ` : ''}${kw('between')} ${renderValue(random, e.field, e.low)} ${kw('and')} ${renderValue(random, e.field, e.high)}`;
    case 'empty':
      return `${e.field} ${kw('is')} ${e.negated ? `${kw('not')} ` : ''}${kw('empty')}`;
  }
}
