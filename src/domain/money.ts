// Money is integer minor units (cents) everywhere; this module parses user input into cents and
// formats cents back into decimal strings. No floating point touches an amount.
import { UsageError } from './errors.js';

/** Largest amount accepted: keeps every sum of a few million rows exact in a double. */
export const MAX_CENTS = 1_000_000_000_000_00; // 1e12 major units

/** Digits with up to two decimals and nothing else. */
const PLAIN_AMOUNT = /^(\d{1,15})(?:\.(\d{1,2}))?$/;

const CURRENCY_SYMBOLS = /^[¥$€£₩₹]|^(CNY|RMB|USD|EUR|GBP|JPY)\s*/i;

export interface ParseMoneyOptions {
  /** Allow a leading minus (refunds). */
  allowNegative?: boolean;
  /** Allow zero. Defaults to true. */
  allowZero?: boolean;
  /** Name used in error messages, e.g. "--amount". */
  label?: string;
}

/**
 * Parses `1234.5`, `1,234.50`, `¥1234`, `$1234` into cents. Rejects more than two decimals,
 * a comma that is not a thousands separator, NaN, exponents and overflow.
 */
export function parseMoney(input: string, options: ParseMoneyOptions = {}): number {
  // The common case, `1234` or `1234.5` or `1234.50`, without the general parser (imports read a
  // million of these); anything else, and any problem, takes the general path below.
  const plain = PLAIN_AMOUNT.exec(input);
  if (plain) {
    const fraction = plain[2];
    const cents = Number(plain[1]) * 100 + (fraction === undefined ? 0 : fraction.length === 1 ? Number(fraction) * 10 : Number(fraction));
    if (cents <= MAX_CENTS && (cents !== 0 || options.allowZero !== false)) return cents;
  }
  const label = options.label ?? 'amount';
  const raw = input.trim();
  if (raw === '') throw new UsageError(`${label} is empty`, { hint: 'give an amount such as 1234.50' });
  let text = raw;
  let negative = false;
  if (text.startsWith('-')) {
    negative = true;
    text = text.slice(1).trim();
  }
  text = text.replace(CURRENCY_SYMBOLS, '').trim();
  if (!negative && text.startsWith('-')) {
    negative = true;
    text = text.slice(1).trim();
  }
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$/.exec(text);
  if (!match) {
    throw new UsageError(`${label} "${raw}" is not an amount`, {
      hint: 'use digits with up to 2 decimals, e.g. 1234.50 or 1,234.50',
    });
  }
  const whole = match[1]!.replace(/,/g, '');
  const fraction = match[2] ?? '';
  if (fraction.length > 2) {
    throw new UsageError(`${label} "${raw}" has more than 2 decimals`);
  }
  if (whole.length > 15) throw new UsageError(`${label} "${raw}" is too large`);
  const cents = Number(whole) * 100 + Number((fraction + '00').slice(0, 2));
  if (!Number.isSafeInteger(cents) || cents > MAX_CENTS) throw new UsageError(`${label} "${raw}" is too large`);
  if (negative && cents !== 0 && !options.allowNegative) {
    throw new UsageError(`${label} "${raw}" is negative`, { hint: 'amounts must be zero or more' });
  }
  if (cents === 0 && options.allowZero === false) throw new UsageError(`${label} must be more than zero`);
  return negative ? -cents : cents;
}

/** `123456` → `"1234.56"`; `-5` → `"-0.05"`. Plain decimal, no grouping: for CSV and JSON. */
export function centsToDecimal(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(cents));
  const major = Math.floor(abs / 100);
  const minor = String(abs % 100).padStart(2, '0');
  return `${sign}${major}.${minor}`;
}

/** `123456` → `"1,234.56"`: grouped, for tables. */
export function formatMoney(cents: number): string {
  const decimal = centsToDecimal(cents);
  const [intPart, frac] = decimal.split('.');
  const sign = intPart!.startsWith('-') ? '-' : '';
  const digits = intPart!.replace('-', '');
  return `${sign}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}
