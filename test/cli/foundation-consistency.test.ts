// The product as one piece: commands built by different people spell the same things the same way
// (headers, JSON keys), show local time for local things, and every noun's help has examples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrm, sandbox, type Sandbox } from '../helpers/cli.js';

// Monday 2025-06-02, 17:00 in Shanghai.
const env = { CRM_NOW: '2025-06-02T09:00:00Z', TZ: 'Asia/Shanghai' };
let box: Sandbox;
const json = <T = Record<string, unknown>[]>(args: string[], on = box): T => JSON.parse(on.ok([...args, '--format', 'json'], { env })) as T;

beforeAll(() => {
  box = sandbox();
  box.ok(['customer', 'add', '--name', '王小明', '--email', 'xm@example.cn', '--city', '杭州'], { env });
  box.ok(['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.de', '--city', 'Berlin'], { env });
  box.ok(['activity', 'add', '1', '--type', 'call', '--summary', '询问价格'], { env });
  box.ok(['sale', 'record', '--customer', '1', '--product', 'Longjing', '--amount', '1280', '--date', '2025-05-20'], { env });
  box.ok(['deal', 'add', '--customer', '1', '--title', 'Spring order', '--value', '8000', '--stage', 'proposal', '--close-date', '2025-06-05'], { env });
  box.ok(['deal', 'add', '--customer', '2', '--title', 'Office tea', '--value', '2400', '--probability', '30', '--close-date', '2025-06-04'], { env });
  box.ok(['task', 'add', '1', '--title', 'Call back', '--due', '2025-06-03'], { env });
  box.ok(['segment', 'create', 'hangzhou', '--where', 'city = "杭州"'], { env });
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

describe('help', () => {
  it('ends every noun\'s help with examples', () => {
    for (const noun of ['customer', 'activity', 'sale', 'deal', 'ticket', 'segment', 'report', 'task', 'agenda', 'audit', 'undo', 'sql', 'init', 'db', 'config']) {
      const help = runCrm([noun, '--help']);
      expect(help.code, noun).toBe(0);
      expect(help.stdout, noun).toMatch(/\nExamples:\n {2}\$ crm /);
    }
  });
});

describe('report help', () => {
  it('lists the same --period forms for every report that takes one', () => {
    const forms = (report: string) => {
      const help = runCrm(['report', report, '--help']).stdout.replace(/\s+/g, ' ');
      return /--period <period> period: (.*?) \(default: [^)]*\)/.exec(help)?.[1];
    };
    const expected = forms('summary');
    expect(expected).toContain('last-Nd');
    for (const report of ['sales', 'customers', 'tickets']) expect(forms(report), report).toBe(expected);
  });
});

describe('one vocabulary across commands', () => {
  it('names the customer `customer` (with `customer_id`) in every list', () => {
    for (const list of [['activity', 'list'], ['sale', 'list'], ['deal', 'list'], ['task', 'list']]) {
      const [row] = json(list);
      expect(row, list.join(' ')).toMatchObject({ customer_id: expect.any(Number), customer: expect.any(String) });
      expect(row, list.join(' ')).not.toHaveProperty('customer_name');
    }
    expect(json(['activity', 'list'])[0]).toMatchObject({ customer_id: 1, customer: '王小明' });
  });

  it('names timestamps *_at: segment list has created_at', () => {
    expect(json(['segment', 'list'])).toEqual([
      { name: 'hangzhou', customers: 1, expression: 'city = "杭州"', description: null, created_at: '2025-06-02T09:00:00Z' },
    ]);
  });

  it('spells ID the same in every header', () => {
    const own = copyOf(box);
    expect(own.ok(['customer', 'list', '--format', 'md'], { env }).split('\n')[0]).toMatch(/^\| ID \| Name \|/);
    expect(own.ok(['audit', 'list', '--format', 'md'], { env }).split('\n')[0]).toMatch(/\| Entity ID \|/);
    const top = own.ok(['report', 'customers', '--format', 'md'], { env });
    expect(top).toMatch(/\| Rank \| ID \| Customer \|/);
    own.ok(['ticket', 'open', '--customer', '2', '--subject', 'Invoice'], { env });
    expect(own.ok(['ticket', 'show', '1'], { env })).toMatch(/^Customer ID +2$/m);
    for (const text of [own.ok(['sale', 'list'], { env }), own.ok(['deal', 'list'], { env }), top]) expect(text).not.toMatch(/\bId\b/);
  });

  it('leaves audit status null, not an empty string, when nothing was undone', () => {
    const entries = json<Array<{ status: unknown }>>(['audit', 'list']);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(e.status).toBeNull();
  });

  it('takes --limit as 1 or more everywhere (customer list agreed with audit list and reports)', () => {
    for (const args of [['customer', 'list'], ['audit', 'list'], ['report', 'sales', '--by', 'product']]) {
      const zero = box.run([...args, '--limit', '0'], { env });
      expect(zero.code, args.join(' ')).toBe(2);
      expect(zero.stderr).toBe('error: --limit "0" is not a whole number 1 or more\n');
    }
  });

  it('points an ambiguous date at a setting that exists, and the setting then decides', () => {
    const own = copyOf(box);
    const ambiguous = own.run(['sale', 'list', '--from', '01/02/2025'], { env });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toBe(
      'error: --from "01/02/2025" is ambiguous: day/month or month/day?\n' +
        'hint: write it as YYYY-MM-DD, or say how slashed dates read: crm config set date_format dmy (or mdy)\n',
    );
    own.ok(['config', 'set', 'date_format', 'dmy'], { env });
    const listed = json<Array<{ sold_on: string }>>(['sale', 'list', '--from', '01/05/2025', '--to', '01/06/2025'], own);
    expect(listed.map((s) => s.sold_on)).toEqual(['2025-05-20']);
  });

  it('says where to look when a reference finds nothing', () => {
    const cases: Array<[string[], string]> = [
      [['customer', 'show', 'nobody@example.cn'], 'error: no customer with email nobody@example.cn\nhint: search with `crm customer list --search TEXT`\n'],
      [['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--deal', '99'], 'error: no deal with id 99\nhint: find ids with `crm deal list`\n'],
      [['task', 'add', '1', '--title', 'x', '--due', 'tomorrow', '--ticket', '99'], 'error: no ticket with id 99\nhint: find ticket numbers with `crm ticket list`\n'],
      [['task', 'add', '--tag', 'nope', '--title', 'x', '--due', 'tomorrow'], 'error: no tag named "nope"\nhint: see the tags in use with `crm segment breakdown --by tag`\n'],
    ];
    const before = box.dump();
    for (const [args, stderr] of cases) expect(box.run(args, { env }), args.join(' ')).toMatchObject({ code: 1, stderr });
    expect(box.dump()).toBe(before);
  });

  it('reads its settings in plain English', () => {
    const settings = json<Array<{ key: string; description: string }>>(['config', 'get']);
    expect(settings.find((s) => s.key === 'sla.urgent')?.description).toBe('time to resolve an urgent-priority ticket (e.g. 4h, 2d)');
    expect(settings.find((s) => s.key === 'sla.high')?.description).toBe('time to resolve a high-priority ticket (e.g. 4h, 2d)');
  });
});

describe('values shown as the user means them', () => {
  it('puts a date-only task on the timeline at the start of its local day, not at UTC midnight', () => {
    const shown = json<{ timeline: Array<{ kind: string; at: string }> }>(['customer', 'show', '1']);
    // 2025-06-03 00:00 in Shanghai is 2025-06-02 16:00 UTC; the sale's day is placed the same way.
    expect(shown.timeline.find((t) => t.kind === 'task')?.at).toBe('2025-06-02T16:00:00Z');
    expect(shown.timeline.find((t) => t.kind === 'sale')?.at).toBe('2025-05-19T16:00:00Z');
    expect(box.ok(['customer', 'show', '1'], { env })).toMatch(/│ 2025-06-03 00:00 │ task +│/);
  });

  it('shows on the agenda the probability deal list shows: its own, else the stage default', () => {
    const agenda = json<{ deals_closing: Array<{ id: number; probability: number }> }>(['agenda']);
    const listed = json<Array<{ id: number; probability: number }>>(['deal', 'list']);
    expect(agenda.deals_closing.map((d) => [d.id, d.probability])).toEqual([
      [2, 30],
      [1, 50],
    ]);
    for (const d of agenda.deals_closing) expect(d.probability).toBe(listed.find((l) => l.id === d.id)?.probability);
    expect(box.ok(['agenda'], { env })).toMatch(/│ Prob % │/);
  });

  it('says (none) for an empty list in a Markdown report, not a bare header', () => {
    const empty = box.run(['sale', 'list', '--from', '2020-01-01', '--to', '2020-01-31', '--format', 'md'], { env });
    expect(empty).toMatchObject({ code: 0, stdout: '(none)\n' });
    const agenda = box.ok(['agenda', '--format', 'md'], { env });
    expect(agenda).toMatch(/## Overdue tasks[^\n]*\n\n\(none\)\n/);
  });

  it('names the local day in messages about a past moment', () => {
    const own = copyOf(box);
    const id = own.ok(['sale', 'record', '--customer', '2', '--product', 'Oolong', '--amount', '89.50', '--date', '2025-06-02'], { env }).trim();
    // 17:00 UTC on the 2nd is 01:00 on the 3rd in Shanghai.
    const late = { ...env, CRM_NOW: '2025-06-02T17:00:00Z' };
    own.ok(['sale', 'void', id, '--reason', 'returned'], { env: late });
    const again = own.run(['sale', 'void', id], { env: late });
    expect(again).toMatchObject({ code: 1, stderr: 'error: sale #' + id + ' was already voided on 2025-06-03 (returned)\n' });
    expect(own.ok(['sale', 'list', '--include-voided'], { env })).toMatch(/│ 2025-06-03 01:00 │ returned +│/);
  });
});
