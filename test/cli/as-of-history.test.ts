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
