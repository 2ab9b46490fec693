// Back-filled history reads as history (issue 16 item 7, the forecast and segments part): a forecast
// whose last sale is months before today says so on stderr and forecasts from the last month with
// sales, never a row of zero months without a word.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

type Forecast = { method: { history_from: string; history_to: string; history_months: number }; forecast: { month: string; forecast_cents: number }[] };

describe('report forecast on old history', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['init']);
    // 2011-01 … 2011-12: 110.00, 120.00, … 220.00, one guest sale a month (with a time, as a shop exports them).
    const rows = Array.from({ length: 12 }, (_, i) => `,Tea,${110 + 10 * i},2011-${String(i + 1).padStart(2, '0')}-05 10:00`);
    const file = join(box.dir, 'sales.csv');
    writeFileSync(file, ['customer,product,amount,date', ...rows, ''].join('\n'));
    box.ok(['import', 'sales', file]);
  });
  afterAll(() => box?.cleanup());

  const forecast = (now: string, ...args: string[]) => box.run(['report', 'forecast', '--months', '3', '--format', 'json', ...args], { env: { CRM_NOW: now } });

  it('years later: a warning line, and the forecast runs on from the last month with sales', () => {
    const result = forecast('2026-12-05T09:00:00Z');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'warning: the last sale is in 2011-12, 179 complete months before 2026-12-05 with no sales since; forecasting the 3 months after 2011-12 from the history up to it, not the months ahead of 2026-12-05\n',
    );
    const report = JSON.parse(result.stdout) as Forecast;
    expect(report.method).toMatchObject({ history_from: '2011-01', history_to: '2011-12', history_months: 12 });
    // A straight line of +10.00 a month: 230.00, 240.00, 250.00 — not zeros.
    expect(report.forecast).toEqual([
      { month: '2012-01', forecast: '230.00', forecast_cents: 23_000 },
      { month: '2012-02', forecast: '240.00', forecast_cents: 24_000 },
      { month: '2012-03', forecast: '250.00', forecast_cents: 25_000 },
    ]);
    // A day within the last month with sales's reach says nothing: 2012-01 is still running.
    const soon = forecast('2012-01-20T09:00:00Z');
    expect(soon.stderr).toBe('');
    expect(JSON.parse(soon.stdout)).toEqual(report);
  });

  it('one empty month is data, but said', () => {
    const result = forecast('2012-02-05T09:00:00Z');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('warning: no sales in 2012-01, the last complete month: the forecast takes it as a month of zero sales\n');
    expect((JSON.parse(result.stdout) as Forecast).method).toMatchObject({ history_to: '2012-01', history_months: 13 });
  });
});

describe('segments --as-of: history by the dates sales carry', () => {
  let box: Sandbox;
  const env = { CRM_NOW: '2026-12-05T09:00:00Z' };
  beforeAll(() => {
    box = sandbox();
    box.ok(['init'], { env });
    // Customers loaded today; their sales are from 2010. Ann: two orders (12-01 and 12-02) and a refund;
    // Bob: one order on 12-01; Cleo: one order on 12-02.
    const customers = join(box.dir, 'customers.csv');
    writeFileSync(customers, ['external_id,name', '17850,Ann', '13047,Bob', '12347,Cleo', ''].join('\n'));
    box.ok(['import', 'customers', customers], { env });
    const sales = join(box.dir, 'sales.csv');
    writeFileSync(
      sales,
      [
        'order_id,customer,sku,product,quantity,unit_price,date',
        '536365,17850,71053,Lantern,6,3.39,2010-12-01 08:26:00',
        'C536379,17850,71053,Lantern,-2,3.39,2010-12-01 09:41:00',
        '536381,17850,85123A,Heart holder,12,2.55,2010-12-02 11:03:00',
        '536367,13047,84879,Bird ornament,32,1.69,2010-12-01 08:34:00',
        '536380,12347,22961,Jam set,24,1.45,2010-12-02 10:15:00',
        '',
      ].join('\n'),
    );
    box.ok(['import', 'sales', sales, '--customer-key', 'external_id'], { env });
    box.ok(['segment', 'create', 'repeat', '--where', 'orders >= 2'], { env });
    box.ok(['segment', 'create', 'recent', '--where', 'last_purchase < 30d'], { env });
    box.ok(['customer', 'add', '--name', 'Dan'], { env }); // joined today, never bought
    box.ok(['segment', 'create', 'none-yet', '--where', 'orders = 0'], { env });
  });
  afterAll(() => box?.cleanup());

  const members = (name: string, ...args: string[]) => {
    const result = box.run(['segment', 'show', name, '--format', 'json', ...args], { env });
    expect(result.code, result.stderr).toBe(0);
    return { rows: JSON.parse(result.stdout) as { name: string; orders: number; total_spent: string; last_purchase: string | null }[], note: result.stderr };
  };

  it('counts the purchases sold by the end of the day, whenever they were loaded', () => {
    expect(members('repeat', '--as-of', '2010-12-01').rows).toEqual([]);
    const dec2 = members('repeat', '--as-of', '2010-12-02');
    // Ann: 6 × 3.39 − 2 × 3.39 + 12 × 2.55 = 20.34 − 6.78 + 30.60 = 44.16 over 2 orders (the refund is none).
    expect(dec2.rows.map((m) => [m.name, m.orders, m.total_spent, m.last_purchase])).toEqual([['Ann', 2, '44.16', '2010-12-02']]);
    expect(dec2.note).toBe('1 customer in repeat (orders >= 2) as of 2010-12-02\n');
  });

  it('ages count back from the as-of day: bought within 30 days of 2010-12-15, nobody within 30 days of today', () => {
    expect(members('recent').rows).toEqual([]);
    expect(members('recent', '--as-of', '2010-12-15').rows.map((m) => m.name)).toEqual(['Ann', 'Bob', 'Cleo']);
  });

  it('a customer is there once created or once they had bought: Dan, created today, is not there in 2010', () => {
    expect(members('none-yet').rows.map((m) => m.name)).toEqual(['Dan']);
    // Cleo first bought on 12-02: on 12-01 she was neither created nor a buyer yet.
    expect(members('none-yet', '--as-of', '2010-12-01').rows).toEqual([]);
  });

  it("segment list --as-of gives each saved segment's size as of that day", () => {
    const sizes = (...args: string[]) =>
      (JSON.parse(box.ok(['segment', 'list', '--format', 'json', ...args], { env })) as { name: string; customers: number }[]).map((s) => [s.name, s.customers]);
    expect(sizes()).toEqual([['none-yet', 1], ['recent', 0], ['repeat', 1]]);
    expect(sizes('--as-of', '2010-12-01')).toEqual([['none-yet', 0], ['recent', 2], ['repeat', 0]]);
    expect(sizes('--as-of', '2010-12-02')).toEqual([['none-yet', 0], ['recent', 3], ['repeat', 1]]);
  });

  it('segment rfm --as-of scores the purchases by then; --save and a future day are refused (exit 2)', () => {
    const rfm = box.run(['segment', 'rfm', '--as-of', '2010-12-01', '--format', 'json'], { env });
    expect(rfm.code, rfm.stderr).toBe(0);
    expect(rfm.stderr).toBe('scored 2 customers with purchases by 2010-12-01; 0 without purchases are not scored\n');
    const groups = JSON.parse(rfm.stdout) as { customers: number; revenue_cents: number }[];
    // Ann 13.56 net and Bob 54.08 by the end of 12-01.
    expect(groups.reduce((sum, g) => sum + g.revenue_cents, 0)).toBe(1356 + 5408);
    const before = box.dump();
    const save = box.run(['segment', 'rfm', '--as-of', '2010-12-01', '--save'], { env });
    expect(save).toMatchObject({ code: 2, stdout: '' });
    expect(save.stderr).toMatch(/^error: --as-of cannot be combined with --save\n/);
    const future = box.run(['segment', 'show', 'repeat', '--as-of', '2027-01-01'], { env });
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/^error: --as-of 2027-01-01 is in the future\n/);
    expect(box.dump()).toBe(before);
  });
});

describe('reports --as-of: what had happened by the end of the day, by the dates events carry', () => {
  let box: Sandbox;
  // Everything below is entered "today" (2026-12-05); the events are from December 2010.
  const env = { CRM_NOW: '2026-12-05T09:00:00Z' };
  beforeAll(() => {
    box = sandbox();
    box.ok(['init'], { env });
    const customers = join(box.dir, 'customers.csv');
    writeFileSync(customers, ['external_id,name', '17850,Ann', '13047,Bob', '12347,Cleo', ''].join('\n'));
    box.ok(['import', 'customers', customers], { env });
    const sales = join(box.dir, 'sales.csv');
    writeFileSync(
      sales,
      [
        'order_id,customer,sku,product,quantity,unit_price,date',
        '536365,17850,71053,Lantern,6,3.39,2010-12-01 08:26:00',
        'C536379,17850,71053,Lantern,-2,3.39,2010-12-01 09:41:00',
        '536381,17850,85123A,Heart holder,12,2.55,2010-12-02 11:03:00',
        '536367,13047,84879,Bird ornament,32,1.69,2010-12-01 08:34:00',
        '536380,12347,22961,Jam set,24,1.45,2010-12-02 10:15:00',
        '536390,12347,22961,Jam set,1,1.45,2010-12-02 12:00:00',
        '',
      ].join('\n'),
    );
    box.ok(['import', 'sales', sales, '--customer-key', 'external_id'], { env });
    // The last line was a mistake: voided today, it is no history at all (a void corrects the record).
    const mistake = box.query<{ id: number }>("SELECT id FROM sales WHERE order_id = '536390'")[0]!.id;
    box.ok(['sale', 'void', String(mistake), '--reason', 'entered twice'], { env });
    box.ok(['customer', 'add', '--name', 'Dan', '--city', 'Leeds'], { env }); // joined today, never bought
    // A ticket that came in on 2010-12-01, entered and resolved today.
    box.ok(['ticket', 'open', '--customer', 'Ann', '--subject', 'Broken lantern', '--opened', '2010-12-01 10:00'], { env });
    box.ok(['ticket', 'resolve', '1', '--solution', 'Sent a new one'], { env });
  });
  afterAll(() => box?.cleanup());

  const json = <T>(args: string[]): T => {
    const result = box.run([...args, '--format', 'json'], { env });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  type Sales = { sales: { period: string; count: number; gross_revenue_cents: number; refunds_cents: number; revenue_cents: number }[]; total: { count: number; revenue_cents: number } };
  const month = (...args: string[]) => json<Sales>(['report', 'sales', '--period', '2010-12', '--by', 'month', ...args]).sales[0]!;

  it('report sales counts the sales sold by the end of the day, loaded years later; --as-recorded counts what crm had then', () => {
    // 12-01: Ann 6 × 3.39 = 20.34 less her refund 2 × 3.39 = 6.78, Bob 32 × 1.69 = 54.08.
    expect(month('--as-of', '2010-12-01')).toMatchObject({ count: 2, gross_revenue_cents: 2034 + 5408, refunds_cents: 678, revenue_cents: 2034 + 5408 - 678 });
    // 12-02 adds Ann's 12 × 2.55 = 30.60 and Cleo's 24 × 1.45 = 34.80 (her voided line is none).
    expect(month('--as-of', '2010-12-02')).toMatchObject({ count: 4, revenue_cents: 6764 + 3060 + 3480 });
    // Nothing was recorded before today: as recorded by yesterday there were no sales at all.
    expect(month('--as-of', '2026-12-04', '--as-recorded')).toMatchObject({ count: 0, revenue_cents: 0 });
    expect(month('--as-of', '2026-12-05', '--as-recorded')).toMatchObject({ count: 4, revenue_cents: 13_304 });
    const title = box.ok(['report', 'sales', '--period', '2010-12', '--by', 'month', '--as-of', '2026-12-04', '--as-recorded'], { env });
    expect(title.split('\n')[0]).toBe('Sales by month, 2010-12-01 to 2010-12-31 (as recorded by 2026-12-04)');
  });

  it('report sales --by customer and --segment read the same history', () => {
    const rows = json<{ sales: { customer: string; revenue_cents: number }[] }>(['report', 'sales', '--by', 'customer', '--as-of', '2010-12-01']).sales;
    expect(rows.map((r) => [r.customer, r.revenue_cents])).toEqual([['Bob', 5408], ['Ann', 1356]]);
    box.ok(['segment', 'create', 'repeat', '--where', 'orders >= 2'], { env });
    try {
      // Ann had two orders by 12-02, one by 12-01: the segment is taken as of the day too.
      expect(json<Sales>(['report', 'sales', '--segment', 'repeat', '--as-of', '2010-12-01']).total.count).toBe(0);
      expect(json<Sales>(['report', 'sales', '--segment', 'repeat', '--as-of', '2010-12-02']).total).toMatchObject({ count: 2, revenue_cents: 1356 + 3060 });
    } finally {
      box.ok(['segment', 'rm', 'repeat'], { env });
    }
  });

  it('report customers: a customer is there once created or once they had bought', () => {
    type Customers = { customers: { metric: string; current: number }[]; top: { customer: string; lifetime_value_cents: number }[] };
    const figures = (...args: string[]) => {
      const report = json<Customers>(['report', 'customers', '--period', '2010-12', ...args]);
      return { ...Object.fromEntries(report.customers.map((m) => [m.metric, m.current])), top: report.top.map((t) => [t.customer, t.lifetime_value_cents]) };
    };
    expect(figures('--as-of', '2010-12-01')).toEqual({ total: 2, new: 2, active: 2, churned: 0, churned_in_period: 0, top: [['Bob', 5408], ['Ann', 1356]] });
    expect(figures('--as-of', '2010-12-02')).toMatchObject({ total: 3, new: 3, active: 3, top: [['Bob', 5408], ['Ann', 4416], ['Cleo', 3480]] });
    // As recorded by yesterday: nobody had been entered yet.
    expect(figures('--as-of', '2026-12-04', '--as-recorded')).toMatchObject({ total: 0, new: 0, active: 0, top: [] });
  });

  it('report summary and report forecast: sales and tickets by their own dates', () => {
    type Summary = { summary: Record<string, unknown> };
    const summary = (...args: string[]) => json<Summary>(['report', 'summary', '--period', '2010-12', ...args]).summary;
    expect(summary('--as-of', '2010-12-01')).toMatchObject({ customers: 2, new_customers: 2, orders: 2, revenue_cents: 6764, open_tickets: 1 });
    expect(summary('--as-of', '2010-12-02')).toMatchObject({ customers: 3, orders: 4, revenue_cents: 13_304, open_tickets: 1 });
    expect(summary('--as-of', '2026-12-04', '--as-recorded')).toMatchObject({ customers: 0, orders: 0, revenue_cents: 0 });
    // As of 2011-01-10 the forecast sees December 2010's sales (one month: too little to forecast from).
    const forecast = box.run(['report', 'forecast', '--as-of', '2011-01-10'], { env });
    expect(forecast.code).toBe(1);
    expect(forecast.stderr).toMatch(/^error: not enough history for a forecast: 1 complete month of sales \(2010-12 to 2010-12\)/);
  });

  it('report tickets: the ticket opened on 2010-12-01 was open at the end of that day, though entered and resolved today', () => {
    type Tickets = { summary: { opened: number; resolved: number; backlog: number } };
    expect(json<Tickets>(['report', 'tickets', '--as-of', '2010-12-01']).summary).toMatchObject({ opened: 1, resolved: 0, backlog: 1 });
    expect(json<Tickets>(['report', 'tickets', '--as-of', '2010-11-30']).summary).toMatchObject({ opened: 0, backlog: 0 });
    expect(json<Tickets>(['report', 'tickets']).summary).toMatchObject({ opened: 1, resolved: 1, backlog: 0 });
  });

  it('segment breakdown --as-of: the customers there by then and their purchases by then', () => {
    const classes = (...args: string[]) =>
      json<{ class: string; customers: number; revenue_cents: number }[]>(['segment', 'breakdown', '--by', 'city', ...args]).map((c) => [c.class, c.customers, c.revenue_cents]);
    expect(classes()).toEqual([['Leeds', 1, 0], ['unknown', 3, 13_304]]);
    expect(classes('--as-of', '2010-12-01')).toEqual([['unknown', 2, 6764]]);
    const note = box.run(['segment', 'breakdown', '--by', 'city', '--as-of', '2010-12-01', '--format', 'csv'], { env });
    expect(note.stderr).toBe('2 customers, revenue 67.64 as of 2010-12-01\n');
  });

  it('--as-recorded without --as-of, and a future --as-of, are usage errors (exit 2) that change nothing', () => {
    const before = box.dump();
    for (const args of [['report', 'sales', '--as-recorded'], ['report', 'summary', '--as-recorded'], ['report', 'customers', '--as-recorded']]) {
      const result = box.run(args, { env });
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^error: --as-recorded needs --as-of DATE\n/);
    }
    const future = box.run(['segment', 'breakdown', '--by', 'city', '--as-of', '2026-12-06'], { env });
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/^error: --as-of 2026-12-06 is in the future\n/);
    expect(box.dump()).toBe(before);
  });
});
