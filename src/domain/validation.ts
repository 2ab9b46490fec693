// Field rules shared by commands and imports: one function per field, each returning the
// normalised value or throwing a UsageError that names the field.
import { UsageError } from './errors.js';

export const GENDERS = ['female', 'male', 'other'] as const;
export type Gender = (typeof GENDERS)[number];

const GENDER_ALIASES: Record<string, Gender> = {
  female: 'female', f: 'female', woman: 'female', '女': 'female',
  male: 'male', m: 'male', man: 'male', '男': 'male',
  other: 'other', o: 'other',
};

// Deliberately pragmatic (what a person types), not RFC 5322: one @, a dotted domain, no spaces.
const EMAIL = /^[^\s@"<>(),;:]+@[^\s@"<>(),;:]+\.[^\s@"<>(),;:.]{2,}$/;

export function parseEmail(input: string, label = 'email'): string {
  const value = input.trim();
  if (!EMAIL.test(value) || value.length > 254 || value.includes('..')) {
    throw new UsageError(`${label} "${input}" is not a valid email address`, { hint: 'e.g. li.wei@example.com' });
  }
  return value;
}

/** Digits only: the key phones are matched on. */
export function phoneDigits(phone: string): string {
  return phone.replace(/\D/g, '');
}

const PHONE = /^[\d\s+\-().]+$/;

export function parsePhone(input: string, label = 'phone'): string {
  return parsePhoneDigits(input, label)[0];
}

/** `parsePhone` and the `phoneDigits` of its result in one pass: `[phone, digits]`. */
export function parsePhoneDigits(input: string, label = 'phone'): [string, string] {
  const value = input.trim();
  const digits = phoneDigits(value);
  if (!PHONE.test(value) || digits.length < 5 || digits.length > 20) {
    throw new UsageError(`${label} "${input}" is not a valid phone number`, {
      hint: 'use digits, spaces and + - ( ) . with 5 to 20 digits',
    });
  }
  return [value, digits];
}

const AGE = /^\d{1,3}$/;

export function parseAge(input: string, label = 'age'): number {
  const value = input.trim();
  if (!AGE.test(value) || Number(value) > 150) {
    throw new UsageError(`${label} "${input}" is not a whole number from 0 to 150`);
  }
  return Number(value);
}

export function parseGender(input: string, label = 'gender'): Gender | null {
  const value = input.trim();
  if (value === '') return null;
  const gender = GENDER_ALIASES[value.toLowerCase()];
  if (!gender) throw new UsageError(`${label} "${input}" is not one of ${GENDERS.join(', ')}`);
  return gender;
}

/** Parses a whole number within bounds, e.g. for `--limit` or `--quantity`. */
export function parseInteger(input: string, label: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = input.trim();
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min || Number(value) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${label} "${input}" is not a whole number ${range}`);
  }
  return Number(value);
}

/** Checks a value against a fixed list of choices, case-insensitively. */
export function parseChoice<T extends string>(input: string, choices: readonly T[], label: string): T {
  const value = input.trim().toLowerCase();
  const found = choices.find((c) => c === value);
  if (!found) throw new UsageError(`${label} "${input}" is not one of ${choices.join(', ')}`);
  return found;
}

/** `key=value` for `--field`; the key is a simple identifier. */
export function parseFieldAssignment(input: string): { key: string; value: string } {
  const eq = input.indexOf('=');
  const key = eq < 0 ? '' : input.slice(0, eq).trim();
  if (eq < 0 || !/^[A-Za-z_][\w.-]{0,63}$/.test(key)) {
    throw new UsageError(`--field "${input}" is not key=value`, { hint: 'e.g. --field vip_level=gold' });
  }
  return { key: key.toLowerCase(), value: input.slice(eq + 1) };
}
