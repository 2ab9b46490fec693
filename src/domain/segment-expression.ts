// The `--where` language of segments: a tokenizer and a recursive-descent parser that turn
// `city in ("Shanghai", "Hangzhou") and age between 25 and 40 and not tag = "churned"` into a typed
// tree. Pure: no SQL here (services/segments.ts compiles the tree into bound parameters), and no
// clock (relative dates stay relative until the tree is evaluated). Every mistake is an
// ExpressionError carrying the 1-based column and the tokens that would have been accepted there.
import { addDays, parseDate } from './dates.js';
import { UsageError } from './errors.js';
import { parseMoney } from './money.js';
import { GENDERS, parseGender } from './validation.js';

export const SEGMENT_FIELDS = [
  'name',
  'email',
  'phone',
  'age',
  'gender',
  'city',
  'company',
  'source',
  'tag',
  'created',
  'total_spent',
  'orders',
  'last_purchase',
  'open_tickets',
  'churn_risk',
] as const;
export type BuiltinField = (typeof SEGMENT_FIELDS)[number];

/**
 * How a field compares: text (case-insensitive), whole numbers, money in cents, calendar days, a
 * probability (0 to 1, or a percentage).
 */
export type FieldKind = 'text' | 'gender' | 'tag' | 'int' | 'money' | 'day' | 'probability' | 'custom';

const FIELD_KINDS: Record<BuiltinField, FieldKind> = {
  name: 'text',
  email: 'text',
  phone: 'text',
  age: 'int',
  gender: 'gender',
  city: 'text',
  company: 'text',
  source: 'text',
  tag: 'tag',
  created: 'day',
  total_spent: 'money',
  orders: 'int',
  last_purchase: 'day',
  open_tickets: 'int',
  churn_risk: 'probability',
};

export type FieldRef = { name: BuiltinField; kind: FieldKind } | { name: 'field'; key: string; kind: 'custom' };

/**
 * A literal after type checking: text, a number (whole number, or cents for money), a calendar
 * day, a day relative to today (`today`, `yesterday`, `-7d`), or an age in days (`90d`), which
 * compares the time elapsed since a date rather than the date itself.
 */
export type Value =
  | { kind: 'text'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'day'; day: string }
  | { kind: 'relative-day'; daysAgo: number }
  | { kind: 'age'; days: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';

export type SegmentExpr =
  | { type: 'and' | 'or'; left: SegmentExpr; right: SegmentExpr }
  | { type: 'not'; operand: SegmentExpr }
  | { type: 'compare'; field: FieldRef; op: CompareOp; value: Value }
  | { type: 'in'; field: FieldRef; values: Value[]; negated: boolean }
  | { type: 'between'; field: FieldRef; low: Value; high: Value; negated: boolean }
  | { type: 'empty'; field: FieldRef; negated: boolean };

/** A mistake in an expression: the message, the column (1-based) and what was expected there. */
export class ExpressionError extends UsageError {
  readonly column: number;
  readonly expected: string[];
  readonly expression: string;

  constructor(expression: string, column: number, message: string, expected: string[] = [], hint?: string) {
    // Shown on one line with control characters blanked, and the caret padded by display width,
    // so it sits under the mistake even after wide (CJK) characters.
    const shown = expression.replace(/[\u0000-\u001f\u007f]/g, ' ');
    const caret = `${' '.repeat(displayWidth(shown.slice(0, Math.max(0, column - 1))))}^`;
    const details = [shown, caret];
    if (expected.length > 0) details.push(`expected: ${expected.join(', ')}`);
    super(`invalid expression at column ${column}: ${message}`, { details, ...(hint ? { hint } : {}) });
    this.column = column;
    this.expected = expected;
    this.expression = expression;
  }
}

/** Terminal columns a string takes: East Asian wide and fullwidth characters take two. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    const wide =
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x1f300 && code <= 0x1faff) ||
      (code >= 0x20000 && code <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = 'word' | 'string' | 'op' | '(' | ')' | ',' | 'end';

interface Token {
  kind: TokenKind;
  /** The text as typed (for strings: the unescaped content). */
  text: string;
  /** 1-based column of the token's first character. */
  column: number;
}

const OPERATORS = ['!=', '<=', '>=', '=', '<', '>', '~'] as const;
const WORD_STOP = /[\s()"',=!<>~]/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'between', 'is', 'empty']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch, text: ch, column });
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let text = '';
      let j = i + 1;
      let closed = false;
      while (j < source.length) {
        const c = source[j]!;
        if (c === '\\' && j + 1 < source.length) {
          text += source[j + 1];
          j += 2;
          continue;
        }
        if (c === ch) {
          closed = true;
          break;
        }
        text += c;
        j++;
      }
      if (!closed) {
        throw new ExpressionError(source, column, `the string starting here has no closing ${ch}`, [`a closing ${ch}`], 'a quote inside a string is written \\" (or \\\')');
      }
      tokens.push({ kind: 'string', text, column });
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, column });
      i += op.length;
      continue;
    }
    if (ch === '!') {
      throw new ExpressionError(source, column, 'unexpected "!"', ['"!="']);
    }
    let j = i;
    while (j < source.length && !WORD_STOP.test(source[j]!)) j++;
    tokens.push({ kind: 'word', text: source.slice(i, j), column });
    i = j;
  }
  tokens.push({ kind: 'end', text: '', column: source.length + 1 });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser

const FIELD_LIST = `a field (${SEGMENT_FIELDS.join(', ')}, field.KEY)`;
const OPERATOR_LIST = ['=', '!=', '<', '<=', '>', '>=', '~', 'in', 'between', 'is'].map((o) => `"${o}"`);
const MAX_NESTING = 64;
const MAX_CONDITIONS = 100;
const ORDERING: ReadonlySet<CompareOp> = new Set(['<', '<=', '>', '>=']);

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the expression';
    case 'string':
      return `the string "${token.text}"`;
    default:
      return `"${token.text}"`;
  }
}

function expectedValue(kind: FieldKind): string {
  switch (kind) {
    case 'int':
      return 'a whole number';
    case 'money':
      return 'an amount (e.g. 1000 or 1234.50)';
    case 'probability':
      return 'a probability from 0 to 1 (e.g. 0.7) or a percentage (70%)';
    case 'day':
      return 'a date (YYYY-MM-DD, today, yesterday) or an age (90d, 4w)';
    case 'gender':
      return `a quoted gender (${GENDERS.join(', ')})`;
    case 'custom':
      return 'a quoted string or a number';
    default:
      return 'a quoted string';
  }
}

class Parser {
  private position = 0;
  private depth = 0;
  private conditions = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private next(): Token {
    const token = this.tokens[this.position]!;
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'word' && token.text.toLowerCase() === keyword;
  }

  private fail(token: Token, message: string, expected: string[], hint?: string): never {
    throw new ExpressionError(this.source, token.column, message, expected, hint);
  }

  private unexpected(token: Token, expected: string[], hint?: string): never {
    this.fail(token, token.kind === 'end' ? 'the expression ends too early' : `unexpected ${describeToken(token)}`, expected, hint);
  }

  parse(): SegmentExpr {
    if (this.peek().kind === 'end') {
      this.fail(this.peek(), 'the expression is empty', [FIELD_LIST, '"not"', '"("']);
    }
    const expr = this.parseOr();
    const token = this.peek();
    if (token.kind !== 'end') {
      const hint = token.kind === ',' ? 'write amounts without a thousands separator (1000) or quoted ("1,000")' : undefined;
      this.unexpected(token, ['"and"', '"or"', token.kind === ')' ? 'no ")" without a "(" before it' : 'the end of the expression'], hint);
    }
    return expr;
  }

  private parseOr(): SegmentExpr {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      left = { type: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): SegmentExpr {
    let left = this.parseNot();
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      left = { type: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): SegmentExpr {
    const token = this.peek();
    if (this.isKeyword(token, 'not')) {
      this.next();
      this.nest(token);
      const operand = this.parseNot();
      this.depth--;
      return { type: 'not', operand };
    }
    return this.parsePrimary();
  }

  /** Bounds nesting and size, so an expression can neither overflow the stack nor SQLite's limits. */
  private nest(token: Token): void {
    if (++this.depth > MAX_NESTING) this.fail(token, `the expression is nested more than ${MAX_NESTING} levels deep`, [], 'split it into simpler conditions');
  }

  private parsePrimary(): SegmentExpr {
    const token = this.peek();
    if (token.kind === '(') {
      this.next();
      this.nest(token);
      const inner = this.parseOr();
      const close = this.peek();
      if (close.kind !== ')') this.unexpected(close, ['"and"', '"or"', '")"']);
      this.next();
      this.depth--;
      return inner;
    }
    if (++this.conditions > MAX_CONDITIONS) this.fail(token, `the expression has more than ${MAX_CONDITIONS} conditions`, [], 'use in (…) for lists of values');
    const field = this.parseField();
    return this.parsePredicate(field);
  }

  private parseField(): FieldRef {
    const token = this.peek();
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toLowerCase())) {
      this.unexpected(token, [FIELD_LIST, '"not"', '"("']);
    }
    const lower = token.text.toLowerCase();
    if (lower.startsWith('field.')) {
      const key = lower.slice('field.'.length);
      if (!/^[a-z_][\w.-]{0,63}$/.test(key)) {
        this.fail(token, `"${token.text}" is not a custom field name`, ['field.KEY, KEY a letter or _ then letters, digits, _ . -']);
      }
      this.next();
      return { name: 'field', key, kind: 'custom' };
    }
    if (!(SEGMENT_FIELDS as readonly string[]).includes(lower)) {
      if (!/^[a-z_]/i.test(token.text)) this.unexpected(token, [FIELD_LIST, '"not"', '"("']);
      this.fail(token, `unknown field "${token.text}"`, [FIELD_LIST], 'custom fields are written field.KEY, e.g. field.plan = "gold"');
    }
    this.next();
    const name = lower as BuiltinField;
    return { name, kind: FIELD_KINDS[name] };
  }

  private parsePredicate(field: FieldRef): SegmentExpr {
    const token = this.peek();
    if (token.kind === 'op') {
      this.next();
      const op = token.text as CompareOp;
      this.checkOperator(field, op, token);
      const valueToken = this.peek();
      const value = this.parseValue(field, op);
      if (field.kind === 'text' || field.kind === 'gender' || field.kind === 'tag' || field.kind === 'custom') {
        if (value.kind === 'text' && value.text === '') {
          this.fail(valueToken, 'an empty string matches nothing', [expectedValue(field.kind)], `to find customers without a ${fieldLabel(field)}, write \`${fieldLabel(field)} is empty\``);
        }
      }
      return { type: 'compare', field, op, value };
    }
    if (this.isKeyword(token, 'not')) {
      this.next();
      const after = this.peek();
      if (this.isKeyword(after, 'in')) return { ...this.parseIn(field), negated: true };
      if (this.isKeyword(after, 'between')) return { ...this.parseBetween(field), negated: true };
      this.unexpected(after, ['"in"', '"between"'], 'to negate a condition, put "not" before the field: not city = "Berlin"');
    }
    if (this.isKeyword(token, 'in')) return this.parseIn(field);
    if (this.isKeyword(token, 'between')) return this.parseBetween(field);
    if (this.isKeyword(token, 'is')) {
      this.next();
      let negated = false;
      if (this.isKeyword(this.peek(), 'not')) {
        this.next();
        negated = true;
      }
      const empty = this.peek();
      if (!this.isKeyword(empty, 'empty')) this.unexpected(empty, negated ? ['"empty"'] : ['"empty"', '"not"']);
      if (field.name === 'orders' || field.name === 'open_tickets' || field.name === 'total_spent') {
        this.fail(token, `${fieldLabel(field)} is never empty (it is 0 when there is nothing to count)`, [`a comparison such as ${fieldLabel(field)} = 0`], `write \`${fieldLabel(field)} = 0\` instead`);
      }
      this.next();
      return { type: 'empty', field, negated };
    }
    this.unexpected(token, OPERATOR_LIST);
  }

  private checkOperator(field: FieldRef, op: CompareOp, token: Token): void {
    if (op === '~' && (field.kind === 'int' || field.kind === 'money' || field.kind === 'day' || field.kind === 'probability')) {
      this.fail(token, `"~" (contains) works on text, not on ${fieldLabel(field)}`, ['"="', '"!="', '"<"', '"<="', '">"', '">="', '"in"', '"between"']);
    }
    if ((field.kind === 'tag' || field.kind === 'gender') && ORDERING.has(op)) {
      this.fail(token, `${fieldLabel(field)} cannot be compared with "${op}"`, ['"="', '"!="', '"~"', '"in"', '"is"']);
    }
  }

  private parseIn(field: FieldRef): { type: 'in'; field: FieldRef; values: Value[]; negated: boolean } {
    const inToken = this.next();
    const open = this.peek();
    if (open.kind !== '(') this.unexpected(open, ['"(" to start the list'], `e.g. ${fieldLabel(field)} ${inToken.text} ("a", "b")`);
    this.next();
    const values: Value[] = [];
    for (;;) {
      const valueToken = this.peek();
      const value = this.parseValue(field, '=');
      if (value.kind === 'text' && value.text === '') this.fail(valueToken, 'an empty string matches nothing', [expectedValue(field.kind)]);
      values.push(value);
      const sep = this.peek();
      if (sep.kind === ',') {
        this.next();
        continue;
      }
      if (sep.kind === ')') {
        this.next();
        break;
      }
      this.unexpected(sep, ['","', '")"']);
    }
    return { type: 'in', field, values, negated: false };
  }

  private parseBetween(field: FieldRef): { type: 'between'; field: FieldRef; low: Value; high: Value; negated: boolean } {
    const between = this.next();
    if (field.kind === 'tag' || field.kind === 'gender') {
      this.fail(between, `${fieldLabel(field)} cannot be used with "between"`, ['"="', '"!="', '"~"', '"in"', '"is"']);
    }
    const low = this.parseValue(field, '>=');
    const and = this.peek();
    if (!this.isKeyword(and, 'and')) this.unexpected(and, ['"and" followed by the upper bound'], `e.g. ${fieldLabel(field)} between 25 and 40`);
    this.next();
    const highToken = this.peek();
    const high = this.parseValue(field, '<=');
    const timeLike = (v: Value) => (v.kind === 'age' ? 'age' : v.kind === 'day' || v.kind === 'relative-day' ? 'day' : v.kind);
    if (timeLike(low) !== timeLike(high)) {
      this.fail(highToken, 'both bounds of "between" must be dates, or both ages', [low.kind === 'age' ? 'an age (90d, 4w)' : 'a date (YYYY-MM-DD, today)']);
    }
    return { type: 'between', field, low, high, negated: false };
  }

  private parseValue(field: FieldRef, op: CompareOp): Value {
    const token = this.peek();
    const expected = [expectedValue(field.kind)];
    if (token.kind !== 'string' && token.kind !== 'word') this.unexpected(token, expected);
    if (token.kind === 'word' && KEYWORDS.has(token.text.toLowerCase()) && field.kind !== 'day') this.unexpected(token, expected);
    const label = fieldLabel(field);
    const typeError = (what: string, hint?: string): never => this.fail(token, `${label} ${what}`, expected, hint);
    switch (field.kind) {
      case 'int': {
        if (token.kind === 'string') typeError(`compares with a whole number, not text`);
        if (!/^\d{1,15}$/.test(token.text)) typeError(`compares with a whole number, not "${token.text}"`);
        this.next();
        return { kind: 'number', value: Number(token.text) };
      }
      case 'probability': {
        if (token.kind === 'string') typeError('compares with a probability, not text');
        const match = /^(\d{1,3}(?:\.\d{1,6})?|\.\d{1,6})(%?)$/.exec(token.text);
        const value = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
        if (!(value >= 0 && value <= 1)) typeError(`compares with a probability from 0 to 1 or a percentage, not "${token.text}"`);
        this.next();
        return { kind: 'number', value };
      }
      case 'money': {
        try {
          const cents = parseMoney(token.text, { label: 'amount' });
          this.next();
          return { kind: 'number', value: cents };
        } catch (error) {
          if (token.kind === 'string' && !/^\s*[¥$€£\d]/.test(token.text)) typeError('compares with an amount, not text');
          return typeError(`compares with an amount: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      case 'day': {
        if (token.kind === 'string') typeError('compares with a date or an age, not text', 'write dates without quotes: created >= 2025-01-01, last_purchase < 90d');
        const text = token.text.toLowerCase();
        const age = /^(\d{1,5})([dw])$/.exec(text);
        if (!age && !/^(today|yesterday|-\d{1,5}d|\d{1,5}d-ago|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})$/.test(text)) {
          typeError(`compares with a date or an age, not "${token.text}"`);
        }
        let day: string | undefined;
        if (/^\d{4}/.test(text)) {
          try {
            // An absolute date needs no clock; parseDate only uses one for `today`.
            day = parseDate(text, { now: new Date(0), label: 'date' });
          } catch (error) {
            typeError(`compares with a date: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        this.next();
        if (day !== undefined) return { kind: 'day', day };
        if (age) return { kind: 'age', days: Number(age[1]) * (age[2] === 'w' ? 7 : 1) };
        if (text === 'today') return { kind: 'relative-day', daysAgo: 0 };
        if (text === 'yesterday') return { kind: 'relative-day', daysAgo: 1 };
        const relative = /^(?:-(\d{1,5})d|(\d{1,5})d-ago)$/.exec(text)!;
        return { kind: 'relative-day', daysAgo: Number(relative[1] ?? relative[2]) };
      }
      case 'gender': {
        if (token.kind !== 'string') typeError(`compares with a quoted value, e.g. gender = "female"`);
        if (op === '~') {
          this.next();
          return { kind: 'text', text: token.text };
        }
        let gender: string | null;
        try {
          gender = parseGender(token.text);
        } catch {
          return typeError(`is one of ${GENDERS.join(', ')}, not "${token.text}"`);
        }
        this.next();
        return { kind: 'text', text: gender ?? '' };
      }
      case 'custom': {
        if (token.kind === 'word') {
          if (!/^\d+(\.\d+)?$/.test(token.text)) {
            typeError(`compares with a quoted string or a number, not ${token.text}`, `put text in quotes: ${label} = "${token.text}"`);
          }
          this.next();
          if (ORDERING.has(op)) return { kind: 'number', value: Number(token.text) };
          return { kind: 'text', text: token.text };
        }
        this.next();
        return { kind: 'text', text: token.text };
      }
      default: {
        // text and tag
        if (token.kind === 'word') {
          if (!/^[\d+]/.test(token.text)) {
            typeError(`compares with a quoted string, not ${token.text}`, `put text in quotes: ${label} = "${token.text}"`);
          }
        }
        this.next();
        return { kind: 'text', text: token.text };
      }
    }
  }
}

export function fieldLabel(field: FieldRef): string {
  return field.name === 'field' ? `field.${field.key}` : field.name;
}

/** Parses a `--where` expression into a tree, or throws an ExpressionError pointing at the mistake. */
export function parseSegmentExpression(source: string): SegmentExpr {
  return new Parser(source, tokenize(source)).parse();
}

/** The day an age or relative day stands for, counted back from `today` (`YYYY-MM-DD`). */
export function resolveDay(value: Value, today: string): string {
  switch (value.kind) {
    case 'day':
      return value.day;
    case 'relative-day':
      return addDays(today, -value.daysAgo);
    case 'age':
      return addDays(today, -value.days);
    default:
      throw new Error(`not a date value: ${value.kind}`);
  }
}
