// The `--where` parser on its own: precedence, values, and errors that point at the right column
// with the tokens that were expected there.
import { describe, expect, it } from 'vitest';
import { ExpressionError, parseSegmentExpression } from '../../src/domain/segment-expression.js';

function errorOf(expression: string): ExpressionError {
  try {
    parseSegmentExpression(expression);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`no error for ${expression}`);
}

/** The column under the caret, read from the caret line as a user would. */
function caretColumn(error: ExpressionError): number {
  const [shown, caret] = error.details;
  expect(shown).toBe(error.expression);
  expect(caret).toMatch(/^ *\^$/);
  return caret!.indexOf('^') + 1;
}

describe('parsing', () => {
  it('binds not tighter than and, and and tighter than or', () => {
    const tree = parseSegmentExpression('not age > 1 or city = "x" and tag = "y"');
    expect(tree.type).toBe('or');
    if (tree.type !== 'or') return;
    expect(tree.left.type).toBe('not');
    expect(tree.right.type).toBe('and');
  });

  it('reads the operators, lists, ranges and emptiness', () => {
    expect(parseSegmentExpression('city in ("Shanghai", \'Hangzhou\')')).toEqual({
      type: 'in',
      field: { name: 'city', kind: 'text' },
      values: [
        { kind: 'text', text: 'Shanghai' },
        { kind: 'text', text: 'Hangzhou' },
      ],
      negated: false,
    });
    expect(parseSegmentExpression('age between 25 and 40')).toMatchObject({ type: 'between', low: { kind: 'number', value: 25 }, high: { kind: 'number', value: 40 } });
    expect(parseSegmentExpression('email is not empty')).toMatchObject({ type: 'empty', negated: true });
    expect(parseSegmentExpression('FIELD.Plan ~ "gold"')).toMatchObject({ type: 'compare', field: { name: 'field', key: 'plan' }, op: '~' });
  });

  it('reads money into cents, dates, relative days and ages', () => {
    expect(parseSegmentExpression('total_spent > 1000')).toMatchObject({ value: { kind: 'number', value: 100000 } });
    expect(parseSegmentExpression('total_spent >= ¥1234.5')).toMatchObject({ value: { kind: 'number', value: 123450 } });
    expect(parseSegmentExpression('total_spent < "1,234.50"')).toMatchObject({ value: { kind: 'number', value: 123450 } });
    expect(parseSegmentExpression('last_purchase < 90d')).toMatchObject({ value: { kind: 'age', days: 90 } });
    expect(parseSegmentExpression('last_purchase < 2w')).toMatchObject({ value: { kind: 'age', days: 14 } });
    expect(parseSegmentExpression('created >= 2025/3/1')).toMatchObject({ value: { kind: 'day', day: '2025-03-01' } });
    expect(parseSegmentExpression('created >= yesterday')).toMatchObject({ value: { kind: 'relative-day', daysAgo: 1 } });
  });

  it('unescapes quotes and backslashes in either quote style', () => {
    expect(parseSegmentExpression('name = "say \\"hi\\" \\\\ bye"')).toMatchObject({ value: { text: 'say "hi" \\ bye' } });
    expect(parseSegmentExpression("name = 'O\\'Brien'")).toMatchObject({ value: { text: "O'Brien" } });
    expect(parseSegmentExpression('name = "it\'s"')).toMatchObject({ value: { text: "it's" } });
  });

  it('normalises gender values like the rest of crm', () => {
    expect(parseSegmentExpression('gender in ("F", "男")')).toMatchObject({ values: [{ text: 'female' }, { text: 'male' }] });
  });
});

describe('errors point at the mistake', () => {
  const cases: Array<[string, number, RegExp, string[]?]> = [
    ['name = "x" or 1=1; drop table customers', 15, /unexpected "1"/],
    ['city = "Shanghai', 8, /no closing "/, ['a closing "']],
    ["city = 'Shanghai", 8, /no closing '/, ["a closing '"]],
    ['shoe_size > 40', 1, /unknown field "shoe_size"/],
    ['age > "abc"', 7, /age compares with a whole number, not text/, ['a whole number']],
    ['age between 5', 14, /ends too early/, ['"and" followed by the upper bound']],
    ['age between 5 or 6', 15, /unexpected "or"/, ['"and" followed by the upper bound']],
    ['', 1, /empty/],
    ['city = "x" and', 15, /ends too early/],
    ['(city = "x"', 12, /ends too early/, ['"and"', '"or"', '")"']],
    ['city = "x")', 11, /unexpected "\)"/],
    ['city Shanghai', 6, /unexpected "Shanghai"/, ['"="', '"!="', '"<"', '"<="', '">"', '">="', '"~"', '"in"', '"between"', '"is"']],
    ['city = Shanghai', 8, /quoted string, not Shanghai/, ['a quoted string']],
    ['age > 30.5', 7, /whole number/],
    ['total_spent > 12.345', 15, /more than 2 decimals/],
    ['total_spent ~ "1"', 13, /"~" \(contains\) works on text/],
    ['tag > "vip"', 5, /tag cannot be compared with ">"/],
    ['created > 2021-02-30', 11, /not a real calendar day/],
    ['last_purchase < soon', 17, /date or an age/],
    ['city in "a", "b"', 9, /unexpected the string "a"/, ['"(" to start the list']],
    ['city in ("a" "b")', 14, /unexpected the string "b"/, ['","', '")"']],
    ['orders is empty', 8, /never empty/],
    ['gender = "robot"', 10, /one of female, male, other/],
    ['city != ""', 9, /empty string matches nothing/],
    ['created between 2024-01-01 and 30d', 32, /both bounds/],
    ['field. = "x"', 1, /not a custom field name/],
    ['city ! "x"', 6, /unexpected "!"/, ['"!="']],
  ];
  for (const [expression, column, message, expected] of cases) {
    it(`${JSON.stringify(expression)} → column ${column}`, () => {
      const error = errorOf(expression);
      expect(error.exitCode).toBe(2);
      expect(error.column).toBe(column);
      expect(caretColumn(error)).toBe(column);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`column ${column}`);
      if (expected) expect(error.expected).toEqual(expected);
      expect(error.details.at(-1)).toMatch(/^expected: /);
    });
  }

  it('puts the caret under the mistake after wide characters, and blanks control characters', () => {
    const error = errorOf('city = "上海" and age > "x"');
    expect(error.column).toBe(23);
    expect(error.details[1]).toBe(`${' '.repeat(24)}^`);
    const tabbed = errorOf('city = "a"\tand\tfoo = 1');
    expect(tabbed.details[0]).toBe('city = "a" and foo = 1');
    expect(tabbed.details[1]).toBe(`${' '.repeat(15)}^`);
  });

  it('refuses expressions too deep or too long to evaluate safely', () => {
    expect(errorOf(`${'('.repeat(70)}age > 1${')'.repeat(70)}`)).toMatchObject({ column: 65, message: expect.stringMatching(/nested more than 64 levels/) });
    expect(errorOf(`${'not '.repeat(70)}age > 1`)).toMatchObject({ column: 257, message: expect.stringMatching(/nested more than 64/) });
    const many = Array.from({ length: 101 }, (_, i) => `age = ${i}`).join(' or ');
    expect(errorOf(many)).toMatchObject({ column: many.lastIndexOf('age') + 1, message: expect.stringMatching(/more than 100 conditions/) });
    expect(() => parseSegmentExpression(Array.from({ length: 100 }, (_, i) => `age = ${i}`).join(' or '))).not.toThrow();
  });

  it('lists the fields when a field was expected', () => {
    const error = errorOf('not 42');
    expect(error.column).toBe(5);
    expect(error.expected[0]).toContain('total_spent');
    expect(error.expected[0]).toContain('field.KEY');
  });
});
