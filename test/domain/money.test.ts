import { describe, expect, it } from 'vitest';
import { centsToDecimal, formatMoney, parseMoney } from '../../src/domain/money.js';
import { UsageError } from '../../src/domain/errors.js';

describe('parseMoney', () => {
  it.each([
    ['1234.5', 123450],
    ['1,234.50', 123450],
    ['¥1234', 123400],
    ['$1234', 123400],
    ['0.07', 7],
    ['12.', 1200],
    ['1,000,000', 100000000],
    [' 42 ', 4200],
    ['1.5', 150],
    ['07.05', 705],
    ['0', 0],
    ['1000000000000', 100000000000000],
  ])('reads %s as %i cents', (input, cents) => {
    expect(parseMoney(input)).toBe(cents);
  });

  it.each(['12.345', '-5', '1e309', 'abc', '', '12,34', 'NaN', '1,23,4', '1.2.3', 'Infinity', '9999999999999999'])(
    'rejects %j as a usage error',
    (input) => {
      expect(() => parseMoney(input, { label: '--amount' })).toThrow(UsageError);
    },
  );

  it('refuses more than the largest amount and zero where zero is not allowed', () => {
    expect(() => parseMoney('1000000000000.01')).toThrow(/too large/);
    expect(() => parseMoney('999999999999999')).toThrow(/too large/);
    expect(() => parseMoney('0', { allowZero: false, label: '--amount' })).toThrow('--amount must be more than zero');
    expect(() => parseMoney('0.00', { allowZero: false })).toThrow(/more than zero/);
  });

  it('accepts negatives only where allowed (refunds)', () => {
    expect(parseMoney('-5.25', { allowNegative: true })).toBe(-525);
    expect(() => parseMoney('-5.25')).toThrow(/negative/);
  });

  it('names the flag in its message', () => {
    expect(() => parseMoney('abc', { label: '--amount' })).toThrow('--amount "abc" is not an amount');
  });
});

describe('formatting cents', () => {
  it('writes plain decimals for CSV and JSON', () => {
    expect(centsToDecimal(123456)).toBe('1234.56');
    expect(centsToDecimal(5)).toBe('0.05');
    expect(centsToDecimal(-5)).toBe('-0.05');
    expect(centsToDecimal(0)).toBe('0.00');
  });

  it('groups thousands for tables', () => {
    expect(formatMoney(123456789)).toBe('1,234,567.89');
    expect(formatMoney(-100000)).toBe('-1,000.00');
    expect(formatMoney(99)).toBe('0.99');
  });
});
