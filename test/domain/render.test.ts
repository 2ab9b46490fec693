import { describe, expect, it } from 'vitest';
import { createColour } from '../../src/io/colour.js';
import { drawBar, renderDocument, renderRows, type Column } from '../../src/io/render.js';

const colour = createColour(false);
const columns: Column[] = [
  { key: 'name' },
  { key: 'amount', kind: 'money' },
  { key: 'at', kind: 'timestamp' },
  { key: 'trend', kind: 'bar' },
];
const rows = [
  { name: 'Li "Wei", Jr.', amount: 123450, at: '2025-03-01T08:30:00.000Z', trend: 2 },
  { name: '=HYPERLINK("x")', amount: -5, at: null, trend: 1 },
];

describe('renderRows', () => {
  it('writes RFC 4180 CSV with neutralised formulas, decimal money and no bar column', () => {
    expect(renderRows('csv', columns, rows, { colour })).toBe(
      'name,amount,at\r\n"Li ""Wei"", Jr.",1234.50,2025-03-01T08:30:00Z\r\n"\'=HYPERLINK(""x"")",-0.05,\r\n',
    );
  });

  it('writes JSON with money as a decimal string plus cents', () => {
    expect(JSON.parse(renderRows('json', columns, rows, { colour }))).toEqual([
      { name: 'Li "Wei", Jr.', amount: '1234.50', amount_cents: 123450, at: '2025-03-01T08:30:00Z' },
      { name: '=HYPERLINK("x")', amount: '-0.05', amount_cents: -5, at: null },
    ]);
    expect(renderRows('json', columns, [], { colour })).toBe('[]\n');
  });

  it('writes one JSON object per line for ndjson', () => {
    const lines = renderRows('ndjson', columns, rows, { colour }).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ amount_cents: 123450 });
  });

  it('escapes control characters, backslashes and pipes in Markdown', () => {
    // The cell shows `\x1b` and `\n` as text; Markdown needs the backslash itself escaped.
    const md = renderRows('md', [{ key: 'note' }], [{ note: 'a|b\x1b[2Jc\nd' }], { colour });
    expect(md).toBe('| Note |\n| --- |\n| a\\|b\\\\x1b[2Jc\\\\nd |\n');
  });

  it('draws tables without ANSI codes when colour is off', () => {
    const table = renderRows('table', columns, rows, { colour });
    expect(table).not.toMatch(/\x1b/);
    expect(table).toContain('1,234.50');
    expect(table).toContain('██');
  });
});

describe('drawBar', () => {
  it('scales to the largest value with eighth blocks', () => {
    expect(drawBar(10, 10, 4)).toBe('████');
    expect(drawBar(5, 10, 4)).toBe('██');
    expect(drawBar(1, 16, 4)).toBe('▎');
    expect(drawBar(0, 10, 4)).toBe('');
  });
});

describe('renderDocument', () => {
  it('keys JSON sections by name', () => {
    const doc = JSON.parse(
      renderDocument(
        'json',
        [
          { key: 'profile', title: 'Profile', columns: [{ key: 'name' }], record: { name: 'Li' } },
          { key: 'sales', title: 'Sales', columns: [{ key: 'amount', kind: 'money' }], rows: [{ amount: 100 }] },
        ],
        { colour },
      ),
    );
    expect(doc).toEqual({ profile: { name: 'Li' }, sales: [{ amount: '1.00', amount_cents: 100 }] });
  });
});
