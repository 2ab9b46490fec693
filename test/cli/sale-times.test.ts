// Sale times (issue 16 item 6): a sale's date may carry a time — local wall-clock time or ISO 8601
// with an offset — in `sale record --date` and in `import sales`. The instant is kept (sales.sold_at)
// and shown by `sale list`, `sale show` and `export sales`; sold_on stays the local day reports use.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2011-12-01T09:00:00Z' };
const shanghai = { ...env, TZ: 'Asia/Shanghai' };

let boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes) box.cleanup();
  boxes = [];
});

function fresh(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  box.ok(['init'], { env });
  box.ok(['customer', 'add', '--name', 'Ann', '--email', 'ann@example.com', '--external-id', '17850'], { env });
  return box;
}

function file(box: Sandbox, name: string, lines: string[]): string {
  const path = join(box.dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

const times = (box: Sandbox) => box.query('SELECT id, sold_on, sold_at FROM sales ORDER BY id');

describe('sale record --date with a time', () => {
  it('keeps a local time as its instant, an offset as given, and a plain date as a day only', () => {
    const box = fresh();
    // 16:20 in Shanghai (UTC+8) is 08:20 UTC, on the same local day.
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '10', '--date', '2011-10-06 16:20:00'], { env: shanghai });
    // 23:30 at -05:00 is 12:30 the next day in Shanghai: the local day is the 7th.
    box.ok(['sale', 'record', '--product', 'Cup', '--amount', '3', '--date', '2011-10-06T23:30:00-05:00'], { env: shanghai });
    box.ok(['sale', 'record', '--product', 'Pot', '--amount', '7', '--date', '2011-10-05'], { env: shanghai });
    box.ok(['sale', 'record', '--product', 'Mat', '--amount', '2', '--date', '2011-10-06T16:20+0800'], { env });
    expect(times(box)).toEqual([
      { id: 1, sold_on: '2011-10-06', sold_at: '2011-10-06T08:20:00.000Z' },
      { id: 2, sold_on: '2011-10-07', sold_at: '2011-10-07T04:30:00.000Z' },
      { id: 3, sold_on: '2011-10-05', sold_at: null },
      // TZ=UTC: 16:20 at +08:00 is 08:20 UTC, on the 6th.
      { id: 4, sold_on: '2011-10-06', sold_at: '2011-10-06T08:20:00.000Z' },
    ]);
  });

  it('sale list shows the time: local in a table, ISO 8601 UTC in CSV and JSON', () => {
    const box = fresh();
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '10', '--date', '2011-10-06 16:20'], { env: shanghai });
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Pot', '--amount', '7', '--date', '2011-10-05'], { env: shanghai });
    expect(box.ok(['sale', 'list', '--format', 'csv'], { env: shanghai })).toBe(
      'id,sold_on,sold_at,customer_id,customer,product,quantity,amount,note,deal_id,voided_at,void_reason\r\n' +
        '2,2011-10-05,,1,Ann,Pot,1,7.00,,,,\r\n' +
        '1,2011-10-06,2011-10-06T08:20:00Z,1,Ann,Tea,1,10.00,,,,\r\n',
    );
    const table = box.ok(['sale', 'list', '--format', 'table'], { env: shanghai });
    expect(table).toContain('│ ID │ Date       │ Time             │ Cust │');
    expect(table).toContain('│  1 │ 2011-10-06 │ 2011-10-06 16:20 │    1 │');
    expect(table).toContain('│  2 │ 2011-10-05 │                  │    1 │');
    const json = JSON.parse(box.ok(['sale', 'list', '--format', 'json'], { env: shanghai })) as { id: number; sold_at: string | null }[];
    expect(json.map((s) => [s.id, s.sold_at])).toEqual([[2, null], [1, '2011-10-06T08:20:00Z']]);
  });

  it('sale show gives every field of one sale with its refunds', () => {
    const box = fresh();
    box.ok(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '10', '--quantity', '2', '--date', '2011-10-06 16:20', '--note', 'gift'], { env });
    box.ok(['sale', 'refund', '1', '--amount', '4', '--date', '2011-10-09'], { env });
    const shown = JSON.parse(box.ok(['sale', 'show', '1', '--format', 'json'], { env })) as { sale: Record<string, unknown>; refunds: Record<string, unknown>[] };
    expect(shown.sale).toMatchObject({ id: 1, sold_on: '2011-10-06', sold_at: '2011-10-06T16:20:00Z', customer_id: 1, customer: 'Ann', product: 'Tea', quantity: 2, amount: '10.00', note: 'gift', refund_of: null, voided_at: null });
    expect(shown.refunds).toEqual([expect.objectContaining({ id: 2, sold_on: '2011-10-09', sold_at: null, amount: '-4.00', quantity: 0 })]);
    const table = box.ok(['sale', 'show', '1'], { env: shanghai });
    expect(table).toMatch(/^Sale #1\n/);
    expect(table).toMatch(/\nTime +2011-10-07 00:20\n/);
    expect(table).toMatch(/\nDate +2011-10-06\n/);
    const missing = box.run(['sale', 'show', '9'], { env });
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^error: no sale with id 9/);
  });

  it('an impossible time or a malformed one is a usage error and nothing is written', () => {
    const box = fresh();
    const before = box.dump();
    for (const bad of ['2011-10-06 24:00', '2011-10-06 16:61', '2011-02-30 10:00', '2011-10-06T10:00:00+25:00', '2011-10-06 at noon']) {
      const result = box.run(['sale', 'record', '--product', 'Tea', '--amount', '1', '--date', bad], { env });
      expect(result.code, bad).toBe(2);
      expect(result.stderr, bad).toMatch(/^error: --date "[^"]+" (has an impossible time|is not a real calendar day|is not a date)/);
    }
    expect(box.dump()).toBe(before);
  });
});

describe('import sales with times', () => {
  const HEADER = 'customer,product,amount,date';
  const ROWS = [
    '17850,Tea,10.00,2011-10-06 16:20:00',
    '17850,Tea,10.00,2011-10-06 16:20:00', // the same line twice at the same minute: two sales
    '17850,Tea,10.00,2011-10-06 17:05:00', // the same line at another time: a third sale
    '17850,Tea,10.00,2011-10-06', // a day only
    ',Cup,3.00,2011-10-06T23:30:00-05:00', // a guest; 04:30 UTC on the 7th
    ',Cup,3.00,2011-10-07T09:15:00.250Z',
  ];

  it('keeps each time, counts days in reports, and a re-import in another row order adds nothing', () => {
    const box = fresh();
    const path = file(box, 'sales.csv', [HEADER, ...ROWS]);
    const first = box.run(['import', 'sales', path], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/imported 6, updated 0, skipped 0, rejected 0/);
    expect(times(box)).toEqual([
      { id: 1, sold_on: '2011-10-06', sold_at: '2011-10-06T16:20:00.000Z' },
      { id: 2, sold_on: '2011-10-06', sold_at: '2011-10-06T16:20:00.000Z' },
      { id: 3, sold_on: '2011-10-06', sold_at: '2011-10-06T17:05:00.000Z' },
      { id: 4, sold_on: '2011-10-06', sold_at: null },
      { id: 5, sold_on: '2011-10-07', sold_at: '2011-10-07T04:30:00.000Z' },
      { id: 6, sold_on: '2011-10-07', sold_at: '2011-10-07T09:15:00.250Z' },
    ]);
    const reordered = file(box, 'again.csv', [HEADER, ...[...ROWS].reverse()]);
    expect(box.run(['import', 'sales', reordered], { env }).stderr).toMatch(/imported 0, updated 0, skipped 6, rejected 0/);
    // Days stay the unit of reports: four sales (40.00) on the 6th, two (6.00) on the 7th.
    const report = JSON.parse(box.ok(['report', 'sales', '--by', 'day', '--from', '2011-10-06', '--to', '2011-10-07', '--format', 'json'], { env })) as {
      sales: { period: string; count: number; revenue: string }[];
    };
    expect(report.sales.map((r) => [r.period, r.count, r.revenue])).toEqual([['2011-10-06', 4, '40.00'], ['2011-10-07', 2, '6.00']]);
  });

  it('exports a timed sale as its instant, and the export imports back as it was', () => {
    const box = fresh();
    box.ok(['import', 'sales', file(box, 'sales.csv', [HEADER, ...ROWS])], { env });
    const exported = box.ok(['export', 'sales'], { env });
    expect(exported.split('\r\n').slice(0, 3)).toEqual([
      'external_id,customer,product,quantity,amount,date,note,order_id,sku,unit_price,refund_of',
      ',ann@example.com,Tea,1,10.00,2011-10-06T16:20:00Z,,,,,',
      ',ann@example.com,Tea,1,10.00,2011-10-06T16:20:00Z,,,,,',
    ]);
    expect(exported).toContain('\r\n,ann@example.com,Tea,1,10.00,2011-10-06,,,,,\r\n');
    expect(exported).toContain('\r\n,,Cup,1,3.00,2011-10-07T04:30:00Z,,,,,\r\n');
    const other = fresh();
    const path = join(other.dir, 'export.csv');
    writeFileSync(path, exported);
    expect(other.run(['import', 'sales', path], { env }).stderr).toMatch(/imported 6, /);
    expect(other.ok(['export', 'sales'], { env })).toBe(exported);
    expect(other.query('SELECT sold_on, sold_at FROM sales ORDER BY id')).toEqual(
      box.query<{ sold_on: string; sold_at: string | null }>('SELECT sold_on, sold_at FROM sales ORDER BY id').map((s) => ({
        sold_on: s.sold_on,
        // The export writes whole seconds.
        sold_at: s.sold_at?.replace(/\.\d{3}Z$/, '.000Z') ?? null,
      })),
    );
  });

  it('--on-duplicate update moves a sale known by external_id to its new time', () => {
    const box = fresh();
    box.ok(['import', 'sales', file(box, 'a.csv', ['external_id,customer,product,amount,date', 'L1,17850,Tea,10,2011-10-06 16:20'])], { env });
    box.ok(['import', 'sales', file(box, 'b.csv', ['external_id,customer,product,amount,date', 'L1,17850,Tea,10,2011-10-06 18:45']), '--on-duplicate', 'update'], { env });
    expect(times(box)).toEqual([{ id: 1, sold_on: '2011-10-06', sold_at: '2011-10-06T18:45:00.000Z' }]);
    box.ok(['import', 'sales', file(box, 'c.csv', ['external_id,customer,product,amount,date', 'L1,17850,Tea,10,2011-10-08']), '--on-duplicate', 'update'], { env });
    expect(times(box)).toEqual([{ id: 1, sold_on: '2011-10-08', sold_at: null }]);
  });

  it('a bad time names its line and column, and nothing is imported', () => {
    const box = fresh();
    const before = box.dump();
    const path = file(box, 'bad.csv', [HEADER, ROWS[0]!, '17850,Tea,10.00,2011-10-06 24:00:00', '17850,Tea,10.00,2011-10-06T10:00:00+0860']);
    const result = box.run(['import', 'sales', path], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 3: date: "2011-10-06 24:00:00" has an impossible time');
    expect(result.stderr).toContain('line 4: date: "2011-10-06T10:00:00+0860" has an impossible time');
    expect(box.dump()).toBe(before);
  });
});
