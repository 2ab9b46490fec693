// One reading of every date a person types: `config set date_format` applies to every date flag,
// and --as-of means the same thing, with the same errors, on every report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T10:00:00Z' };
let box: Sandbox;

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
  box.ok(['config', 'set', 'date_format', 'dmy'], { env });
  // Something on 3 February for the reports below to read (the write tests work on copies).
  const at = '2025-02-03T10:00:00.000Z';
  box.insert('sales', [{ customer_id: 1, product: 'Oolong', amount_cents: 1200, sold_on: '2025-02-03', created_at: at }]);
  box.insert('deals', [{ customer_id: 1, title: 'Spring order', value_cents: 10000, stage: 'proposal', close_date: '2025-02-03', created_at: at, updated_at: at }]);
  box.insert('tasks', [{ customer_id: 1, title: 'Ring back', due_at: '2025-02-03T00:00:00.000Z', created_at: at, updated_at: at }]);
  box.insert('tickets', [{ customer_id: 1, subject: 'Lost parcel', priority: 'normal', kind: 'question', status: 'open', opened_at: at, due_at: '2025-02-04T10:00:00.000Z', updated_at: at }]);
});
afterAll(() => box?.cleanup());

/** Copies of the shared database for tests that write; removed after the file. */
const copies: Sandbox[] = [];
function copyOf(from: Sandbox): Sandbox {
  const copy = from.clone();
  copies.push(copy);
  return copy;
}
afterAll(() => {
  for (const copy of copies) copy.cleanup();
});

describe('date_format dmy applies to every date flag', () => {
  // 03/02/2025 read day first is 3 February 2025; month first it would be 2 March.
  const DMY = '03/02/2025';

  it('activity add --at and activity list --since', () => {
    const own = copyOf(box);
    own.ok(['activity', 'add', '1', '--type', 'call', '--summary', 'called', '--at', `${DMY} 09:30`], { env });
    expect(own.query<{ at: string }>("SELECT at FROM activities WHERE summary = 'called'")).toEqual([{ at: '2025-02-03T09:30:00.000Z' }]);
    const since = JSON.parse(own.ok(['activity', 'list', '--since', DMY, '--format', 'json'], { env })) as { summary: string }[];
    expect(since.map((a) => a.summary)).toContain('called');
  });

  it('ticket open --opened', () => {
    const own = copyOf(box);
    own.ok(['ticket', 'open', '--customer', '1', '--subject', 'Late parcel', '--opened', DMY], { env });
    expect(own.query<{ opened_at: string }>("SELECT opened_at FROM tickets WHERE subject = 'Late parcel'")).toEqual([{ opened_at: '2025-02-03T00:00:00.000Z' }]);
  });

  it('audit list --since', () => {
    const result = box.run(['audit', 'list', '--since', DMY, '--format', 'json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as unknown[]).length).toBeGreaterThan(0);
  });

  it('sale record --date, sale list --from/--to, deal add --close-date, task add --due', () => {
    const own = copyOf(box);
    own.ok(['sale', 'record', '--customer', '1', '--product', 'Tea', '--amount', '12', '--date', DMY], { env });
    expect(own.query("SELECT sold_on FROM sales WHERE product = 'Tea'")).toEqual([{ sold_on: '2025-02-03' }]);
    const listed = JSON.parse(own.ok(['sale', 'list', '--from', DMY, '--to', '03/02/2025', '--format', 'json'], { env })) as { product: string }[];
    expect(listed.map((s) => s.product)).toEqual(['Oolong', 'Tea']); // the fixture's sale and this one, both on 3 February
    own.ok(['deal', 'add', '--customer', '1', '--title', 'Order', '--value', '100', '--close-date', DMY], { env });
    expect(own.query("SELECT close_date FROM deals WHERE title = 'Order'")).toEqual([{ close_date: '2025-02-03' }]);
    own.ok(['task', 'add', '1', '--title', 'Call back', '--due', DMY], { env });
    expect(own.query<{ due_at: string }>("SELECT due_at FROM tasks WHERE title = 'Call back'")[0]!.due_at.slice(0, 10)).toBe('2025-02-03');
  });

  const READS = [
    ['report', 'sales', '--from', DMY, '--to', '28/02/2025'],
    ['report', 'customers', '--from', DMY, '--to', '28/02/2025'],
    ['report', 'sales', '--as-of', DMY],
    ['report', 'pipeline', '--as-of', DMY],
    ['report', 'forecast', '--as-of', DMY],
    ['report', 'customers', '--as-of', DMY],
    ['report', 'summary', '--as-of', DMY],
    ['report', 'tickets', '--as-of', DMY],
    ['agenda', '--for', DMY],
  ];
  for (const args of READS) {
    it(`${args.join(' ')} reads the same day as ISO input`, () => {
      const iso = args.map((a) => (a === DMY ? '2025-02-03' : a === '28/02/2025' ? '2025-02-28' : a));
      // The same outcome, whatever it is (forecast has too little history here and says so either way).
      const typed = box.run([...args, '--format', 'json'], { env });
      expect(typed.stderr).not.toMatch(/date|--as-of|--from|--to|--for/);
      expect(typed).toEqual(box.run([...iso, '--format', 'json'], { env }));
    });
  }
});

describe('--as-of is one rule on every report', () => {
  const reports = [['sales'], ['pipeline'], ['forecast'], ['customers'], ['summary'], ['tickets']];

  for (const report of reports) {
    it(`report ${report[0]}: a day after today is a usage error; today and past days are taken; nonsense is refused`, () => {
      const future = box.run(['report', ...report, '--as-of', '2099-01-01'], { env });
      expect(future.code).toBe(2);
      expect(future.stderr).toBe('error: --as-of 2099-01-01 is in the future\nhint: give today or an earlier day\n');
      for (const day of ['today', '2025-01-31']) {
        // forecast has too little history here (exit 1); what matters is that the day is taken.
        const result = box.run(['report', ...report, '--as-of', day], { env });
        expect(result.stderr, day).not.toMatch(/--as-of/);
        expect(result.code, day).toBe(report[0] === 'forecast' ? 1 : 0);
      }
      const bad = box.run(['report', ...report, '--as-of', '2025-02-30'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: --as-of "2025-02-30" is not a real calendar day$/m);
    });
  }
});
