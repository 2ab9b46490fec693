// The pure rules of `crm import`: header matching, --map, and reading one row's cells.
import { describe, expect, it } from 'vitest';
import { UsageError, ValidationError } from '../../src/domain/errors.js';
import {
  parseColumnMap,
  planHeader,
  readCustomer,
  readCustomerRef,
  type CustomerKey,
  readSale,
  readTicket,
  RowError,
  RowReader,
  splitTags,
} from '../../src/domain/imports.js';

const ctx = { now: new Date('2025-06-01T09:00:00Z') };

function reader(kind: 'customers' | 'sales' | 'tickets', header: string[], row: string[]) {
  const r = new RowReader(planHeader(kind, header, [], false));
  r.load(row);
  return r;
}

function rowError(fn: () => unknown): RowError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RowError) return error;
    throw error;
  }
  throw new Error('expected a RowError');
}

describe('planHeader', () => {
  it('matches names in any case after trimming, and ignores a BOM', () => {
    const plan = planHeader('customers', ['\uFEFFName', ' EMAIL ', 'City'], [], false);
    expect([...plan.index]).toEqual([
      ['name', 0],
      ['email', 1],
      ['city', 2],
    ]);
  });

  it('applies --map renames and field.KEY columns', () => {
    const maps = [parseColumnMap('customers', 'Kunde=name'), parseColumnMap('customers', 'Stufe=field.Level')];
    const plan = planHeader('customers', ['kunde', 'stufe', 'field.plan'], maps, false);
    expect(plan.index.get('name')).toBe(0);
    expect(plan.fields).toEqual([
      { key: 'level', index: 1 },
      { key: 'plan', index: 2 },
    ]);
  });

  it('refuses unknown, repeated and missing columns on line 1', () => {
    expect(() => planHeader('customers', ['name', 'colour'], [], false)).toThrow(ValidationError);
    expect(() => planHeader('customers', ['name', 'colour'], [], false)).toThrow(/^line 1: unknown column "colour"$/);
    expect(planHeader('customers', ['name', 'colour'], [], true).names).toEqual(['name', 'colour']);
    expect(() => planHeader('customers', ['name', 'NAME'], [], false)).toThrow(/line 1: column "name" appears twice/);
    expect(() => planHeader('sales', ['customer', 'product'], [], false)).toThrow(/^line 1: a sales file needs an amount or unit_price column$/);
    expect(() => planHeader('sales', ['customer', 'amount'], [], false)).toThrow(/^line 1: a sales file needs a product or sku column$/);
    expect(() => planHeader('sales', ['product', 'amount'], [], false)).toThrow(/^line 1: missing required column customer$/);
    expect(() => planHeader('sales', ['field.x', 'customer', 'product', 'amount'], [], false)).toThrow(/unknown column "field.x"/);
  });

  it('needs a column to know customers by, except in an update-only file', () => {
    expect(planHeader('customers', ['email', 'city'], [], false).index.get('email')).toBe(0);
    expect(() => planHeader('customers', ['age', 'city'], [], false)).toThrow(/^line 1: a customers file needs one of the columns name, email, phone or external_id$/);
    expect(planHeader('customers', ['age', 'city'], [], false, 1, true).index.get('city')).toBe(1);
    expect(planHeader('customers', ['email', 'city'], [], false, 1, true).index.get('city')).toBe(1);
  });
});

describe('parseColumnMap', () => {
  it('is a usage error unless SRC=DST names a real column', () => {
    expect(parseColumnMap('sales', ' Order No = EXTERNAL_ID ')).toEqual({ from: 'order no', to: 'external_id' });
    expect(() => parseColumnMap('sales', 'nothing')).toThrow(UsageError);
    expect(() => parseColumnMap('sales', 'x=colour')).toThrow(/sales have no column "colour"/);
    expect(() => parseColumnMap('sales', 'x=field.a')).toThrow(UsageError);
  });
});

describe('reading rows', () => {
  it('trims cells except free text, restores neutralised formulas, and checks the field count', () => {
    const r = reader('sales', ['customer', 'product', 'amount', 'note'], ['  a@example.com ', " '=Tea ", '5', "  '-note  "]);
    expect(r.get('customer')).toBe('a@example.com');
    expect(r.get('product')).toBe("'=Tea");
    expect(r.get('note')).toBe("  '-note  ");
    const plain = reader('sales', ['customer', 'product', 'amount', 'note'], ['a@example.com', "'=Tea", '5', "'-5 apples"]);
    expect(plain.get('product')).toBe('=Tea');
    expect(plain.get('note')).toBe('-5 apples');
    expect(rowError(() => reader('sales', ['customer', 'product', 'amount'], ['a', 'b'])).reason).toBe('has 2 fields, the header has 3');
  });

  it('reads a customer with the command parsers and names the failing column', () => {
    const header = ['name', 'email', 'phone', 'age', 'gender', 'tags', 'created', 'field.plan'];
    const c = readCustomer(reader('customers', header, ['Li', 'li@example.com', '+86 138-0013', '34', '女', 'vip; b2b ;VIP', '2024-01-02', ' gold ']), ctx);
    expect(c).toMatchObject({ name: 'Li', phoneDigits: '861380013', age: 34, gender: 'female', tags: ['vip', 'b2b'], created: '2024-01-02T00:00:00.000Z', fields: [['plan', 'gold']] });
    const bad = rowError(() => readCustomer(reader('customers', header, ['Li', 'li@', '', '', '', '', '', '']), ctx));
    expect([bad.column, bad.reason]).toEqual(['email', '"li@" is not a valid email address']);
    const age = rowError(() => readCustomer(reader('customers', header, ['Li', '', '', '151', '', '', '', '']), ctx));
    expect([age.column, age.reason]).toEqual(['age', '"151" is not a whole number from 0 to 150']);
  });

  it('reads sales money and dates like `sale record` does', () => {
    const header = ['customer', 'product', 'quantity', 'amount', 'date'];
    expect(readSale(reader('sales', header, ['7', 'Tea', '', '¥1,234.5', '']), ctx)).toMatchObject({ customer: { key: null, id: 7 }, quantity: 1, amountCents: 123450, soldOn: '2025-06-01' });
    expect(rowError(() => readSale(reader('sales', header, ['7', 'Tea', '', '12,34', '']), ctx)).column).toBe('amount');
    expect(rowError(() => readSale(reader('sales', header, ['7', 'Tea', '0', '1', '']), ctx)).column).toBe('quantity');
    expect(rowError(() => readSale(reader('sales', header, ['7', 'Tea', '', '1', '2021-02-30']), ctx)).reason).toBe('"2021-02-30" is not a real calendar day');
  });

  it('knows customer references: id, email, phone, or an external id, and --customer-key pins one', () => {
    const ref = (text: string, key?: CustomerKey) => readCustomerRef(reader('sales', ['customer', 'product', 'amount'], [text, 'x', '1']), key);
    expect(ref('12')).toEqual({ text: '12', key: null, id: 12, digits: null, email: null });
    expect(ref('12345')).toEqual({ text: '12345', key: null, id: 12345, digits: '12345', email: null });
    expect(ref('A@Example.com')).toEqual({ text: 'A@Example.com', key: null, id: null, digits: null, email: 'A@Example.com' });
    expect(ref('+86 138 0013 8000')).toEqual({ text: '+86 138 0013 8000', key: null, id: null, digits: '8613800138000', email: null });
    expect(ref('C-1001')).toEqual({ text: 'C-1001', key: null, id: null, digits: null, email: null });
    expect(ref('12', 'external_id')).toEqual({ text: '12', key: 'external_id', id: null, digits: null, email: null });
    expect(rowError(() => ref('C-1001', 'id')).reason).toBe('"C-1001" is not a customer id (--customer-key id)');
    expect(() => ref('x', 'email')).toThrow('customer "x" is not a valid email address');
  });

  it('checks ticket statuses against resolved times and scores', () => {
    const header = ['customer', 'subject', 'status', 'opened', 'resolved', 'score'];
    const t = (row: string[]) => readTicket(reader('tickets', header, row), ctx);
    expect(t(['1', 'Help', '', '2025-05-01T08:00:00Z', '2025-05-02T08:00:00Z', '5'])).toMatchObject({ status: 'resolved', priority: 'normal', kind: 'question', score: 5 });
    expect(rowError(() => t(['1', 'Help', 'closed', '2025-05-01T08:00:00Z', '', ''])).reason).toBe('is required when the status is closed');
    expect(rowError(() => t(['1', 'Help', 'open', '2025-05-01T08:00:00Z', '2025-05-02T08:00:00Z', ''])).reason).toBe('is given but the status is open');
    expect(rowError(() => t(['1', 'Help', 'resolved', '2025-05-03T08:00:00Z', '2025-05-02T08:00:00Z', ''])).reason).toBe('is before opened');
    expect(rowError(() => t(['1', 'Help', 'resolved', '2025-05-01T08:00:00Z', '2025-05-02T08:00:00Z', '6'])).column).toBe('score');
  });

  it('splits tags on ; and keeps each once', () => {
    expect(splitTags(' vip;;B2B ; vip ;b2b')).toEqual(['vip', 'B2B']);
  });
});
