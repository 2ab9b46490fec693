import { beforeAll, describe, expect, it } from 'vitest';
import { createColour } from '../../src/io/colour.js';
import { drawBar, headerOf, loadTextWidths, renderDocument, renderRows, renderTable, textWidth, truncate, type Column } from '../../src/io/render.js';

// Tables measure non-ASCII text with string-width, which the CLI loads only for the table format.
beforeAll(loadTextWidths);

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

describe('bar columns', () => {
  it('leaves out a bar column with nothing to draw instead of an empty box', () => {
    const table = renderRows('table', columns, [{ name: 'a', amount: 0, at: null, trend: 0 }], { colour });
    expect(table.split('\n')[1]).toBe('│ Name │ Amount │ At │');
    expect(renderRows('table', columns, rows, { colour }).split('\n')[1]).toMatch(/│ At +│ +│$/);
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

describe('consistency across commands', () => {
  it('spells identifiers ID in every derived header', () => {
    expect(headerOf({ key: 'id' })).toBe('ID');
    expect(headerOf({ key: 'entity_id' })).toBe('Entity ID');
    expect(headerOf({ key: 'customer_id' })).toBe('Customer ID');
    expect(headerOf({ key: 'idle_days' })).toBe('Idle days');
    expect(headerOf({ key: 'id', header: 'No.' })).toBe('No.');
  });

  it('says (none) for an empty Markdown or table list instead of a bare header', () => {
    expect(renderRows('md', columns, [], { colour })).toBe('(none)\n');
    expect(renderRows('table', columns, [], { colour })).toBe('(none)\n');
    // Data formats keep their shape: a CSV header, an empty JSON array.
    expect(renderRows('csv', columns, [], { colour })).toBe('name,amount,at\r\n');
    expect(renderRows('json', columns, [], { colour })).toBe('[]\n');
    const doc = renderDocument('md', [{ key: 'empty', title: 'Nothing', columns, rows: [] }], { colour });
    expect(doc).toBe('## Nothing\n\n(none)\n');
  });
});

describe('tables on a narrow terminal', () => {
  const cols: Column[] = [
    { key: 'id', kind: 'int' },
    { key: 'when', kind: 'date' },
    { key: 'summary' },
    { key: 'command' },
    { key: 'amount', kind: 'money' },
  ];
  const long = [{ id: 1234, when: '2025-03-01', summary: '王小明 asked for a quote on 250g of Longjing', command: 'crm sale record --customer 1 --product "Longjing 250g" --amount 1280', amount: 128000 }];
  const width = (line: string) => [...line].reduce((w, ch) => w + (/[\u4e00-\u9fff]/.test(ch) ? 2 : 1), 0);

  it('shrinks the widest text columns to fit, cutting cells with …, never numbers, dates or money', () => {
    const table = renderTable(cols, long, { colour, maxWidth: 80 });
    const lines = table.trimEnd().split('\n');
    for (const line of lines) expect(width(line)).toBeLessThanOrEqual(80);
    expect(table).toContain('1234');
    expect(table).toContain('2025-03-01');
    expect(table).toContain('1,280.00');
    expect(table).toMatch(/│ 王小明 asked[^│]*… │/);
    expect(table).toMatch(/│ crm sale record[^│]*… │/);
  });

  it('never cuts short values (names, statuses); a table that cannot fit keeps them and wraps', () => {
    const withStatus: Column[] = [...cols, { key: 'status' }];
    const table = renderTable(withStatus, [{ ...long[0]!, status: 'resolved' }], { colour, maxWidth: 20 });
    expect(table).toContain('│ resolved │');
    expect(table).toMatch(/│ 王小明 aske… │/);
  });

  it('keeps every character without a width (pipes, --output files) or when the table fits', () => {
    expect(renderTable(cols, long, { colour })).toContain(long[0]!.command);
    expect(renderTable(cols, long, { colour, maxWidth: 400 })).toBe(renderTable(cols, long, { colour }));
  });

  it('cuts by terminal cells, so CJK text never overshoots', () => {
    expect(truncate('王小明王小明', 7)).toBe('王小明…');
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});

describe('textWidth', () => {
  it('counts terminal cells: ASCII by length, CJK and emoji as two, controls by string-width', () => {
    expect(textWidth('Li Wei')).toBe(6);
    expect(textWidth('李伟')).toBe(4);
    expect(textWidth('王芳 Wang')).toBe(9);
    expect(textWidth('😀')).toBe(2);
    expect(textWidth('')).toBe(0);
  });

  it('lines up a table mixing ASCII and CJK names', () => {
    const lines = renderRows('table', [{ key: 'name' }, { key: 'n', kind: 'int' }], [{ name: '李伟', n: 1 }, { name: 'Anna Berg', n: 22 }], { colour })
      .trimEnd()
      .split('\n');
    expect(new Set(lines.map(textWidth)).size).toBe(1);
    expect(lines).toContain('│ 李伟      │  1 │');
  });
});
