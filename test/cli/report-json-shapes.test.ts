// The README documents every report's JSON shape (sections and their keys); this checks each one
// against what `crm report X --format json` prints, and that csv, tsv and ndjson carry rows only.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';
import { documentedReportShapes } from '../helpers/readme-shapes.js';

const env = { CRM_NOW: '2026-03-10T10:00:00Z' };
let box: Sandbox;

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
  // 26 months of sales, so that the forecast has a backtest; one this month, so every list has rows.
  const rows = Array.from({ length: 27 }, (_, i) => `li@example.com,Tea,1,${100 + i},${new Date(Date.UTC(2024, i, 5)).toISOString().slice(0, 10)}`);
  const file = join(box.dir, 'sales.csv');
  writeFileSync(file, ['customer,product,quantity,amount,date', ...rows, ''].join('\n'));
  box.ok(['import', 'sales', file], { env });
  box.ok(['deal', 'add', '--customer', '1', '--title', 'Order', '--value', '500', '--close-date', '2026-04-01'], { env });
  box.ok(['ticket', 'open', '--customer', '1', '--subject', 'Late'], { env });
});
afterAll(() => box?.cleanup());

// `report risk` needs a shop with enough history to learn from: risk.test.ts checks its shape.
const REPORT_ARGS: Record<string, string[]> = {
  sales: ['--period', 'this-month'],
  pipeline: [],
  forecast: [],
  customers: ['--period', 'this-month'],
  summary: ['--period', 'this-month'],
  tickets: [],
};

describe('report JSON shapes', () => {
  const shapes = documentedReportShapes();

  it('the README documents every report', () => {
    const help = box.ok(['report', '--help']);
    const reports = [...help.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]!).filter((name) => name !== 'help');
    expect([...shapes.keys()].sort()).toEqual(reports.sort());
  });

  for (const [report, args] of Object.entries(REPORT_ARGS)) {
    it(`report ${report}: sections and keys as documented`, () => {
      const doc = JSON.parse(box.ok(['report', report, ...args, '--format', 'json'], { env })) as Record<string, unknown>;
      const documented = shapes.get(report) ?? [];
      expect(Object.keys(doc)).toEqual(documented.map(([section]) => section));
      for (const [section, isList, keys] of documented) {
        const value = doc[section];
        expect(Array.isArray(value), `${report}.${section} is a list`).toBe(isList);
        const first = (isList ? (value as Record<string, unknown>[])[0] : value) as Record<string, unknown> | undefined;
        expect(first, `${report}.${section} has a row`).toBeDefined();
        expect(Object.keys(first!), `${report}.${section}`).toEqual(keys);
      }
    });
  }

  it('csv, tsv and ndjson carry the rows only: report sales has no total', () => {
    const csv = box.ok(['report', 'sales', '--period', 'this-month', '--by', 'day', '--format', 'csv'], { env });
    expect(csv.split('\r\n')[0]).toBe('period,count,gross_revenue,refunds,revenue,average_order,previous_revenue,change');
    expect(csv).not.toMatch(/previous_from/);
    expect(csv.trimEnd().split('\r\n')).toHaveLength(1 + 10);
    const tsv = box.ok(['report', 'sales', '--period', 'this-month', '--format', 'tsv'], { env });
    expect(tsv.trimEnd().split(/\r?\n/)).toEqual(['period\tcount\tgross_revenue\trefunds\trevenue\taverage_order\tprevious_revenue\tchange', '2026-03\t1\t126.00\t0.00\t126.00\t126.00\t125.00\t0.008']);
    const ndjson = box.ok(['report', 'sales', '--period', 'this-month', '--format', 'ndjson'], { env }).trimEnd().split('\n');
    expect(ndjson.map((l) => (JSON.parse(l) as { section: string }).section)).toEqual(['sales']);
  });
});
