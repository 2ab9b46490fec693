// "Change vs the previous period" compares like with like: whole calendar months, quarters and
// years with the same units one step earlier; any other range with as many days just before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2026-03-01T10:00:00Z' };
let box: Sandbox;
// One sale on each day that sits on an edge of a previous range.
const SALES: Array<[string, string]> = [
  ['2024-01-01', '10'], // first day of 2024: in the year before 2025, not in "365 days before"
  ['2024-01-02', '20'],
  ['2024-02-29', '40'], // leap day
  ['2024-12-31', '80'],
  ['2025-02-28', '160'],
  ['2025-03-31', '320'],
];

interface Total {
  from: string;
  to: string;
  previous_from: string;
  previous_to: string;
  previous_count: number;
  previous_revenue_cents: number;
}

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
  for (const [date, amount] of SALES) box.ok(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', amount, '--date', date], { env });
});
afterAll(() => box?.cleanup());

const total = (from: string, to: string) => (JSON.parse(box.ok(['report', 'sales', '--from', from, '--to', to, '--format', 'json'], { env })) as { total: Total }).total;
/** The sales of the test's own data on days from..to inclusive, in cents. */
const centsBetween = (from: string, to: string) => SALES.filter(([d]) => d >= from && d <= to).reduce((sum, [, a]) => sum + Number(a) * 100, 0);

describe('report sales --from/--to: the previous period', () => {
  it('a whole year compares with the whole year before (2024 has a leap day)', () => {
    const t = total('2025-01-01', '2025-12-31');
    expect([t.previous_from, t.previous_to]).toEqual(['2024-01-01', '2024-12-31']);
    expect(t.previous_count).toBe(4);
    expect(t.previous_revenue_cents).toBe(centsBetween('2024-01-01', '2024-12-31'));
  });

  it('a whole quarter compares with the quarter before', () => {
    const t = total('2025-04-01', '2025-06-30');
    expect([t.previous_from, t.previous_to]).toEqual(['2025-01-01', '2025-03-31']);
    expect(t.previous_revenue_cents).toBe(centsBetween('2025-01-01', '2025-03-31'));
  });

  it('a whole month compares with all of the month before, however long it is', () => {
    const march2024 = total('2024-03-01', '2024-03-31');
    expect([march2024.previous_from, march2024.previous_to]).toEqual(['2024-02-01', '2024-02-29']);
    expect(march2024.previous_revenue_cents).toBe(4000);
    const april2025 = total('2025-04-01', '2025-04-30');
    expect([april2025.previous_from, april2025.previous_to]).toEqual(['2025-03-01', '2025-03-31']);
    expect(april2025.previous_revenue_cents).toBe(32000);
  });

  it('any other range compares with as many days just before it', () => {
    const t = total('2025-03-02', '2025-03-31');
    // 30 days: 2025-01-31 .. 2025-03-01.
    expect([t.previous_from, t.previous_to]).toEqual(['2025-01-31', '2025-03-01']);
    expect(t.previous_revenue_cents).toBe(centsBetween('2025-01-31', '2025-03-01'));
  });
});
