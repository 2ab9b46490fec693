import { describe, expect, it } from 'vitest';
import { OccurrenceCounter } from '../../src/domain/occurrences.js';

describe('OccurrenceCounter', () => {
  it('counts each string exactly, as a Map would, across growth and with non-Latin-1 text', () => {
    const counter = new OccurrenceCounter();
    const expected = new Map<string, number>();
    // Strings that agree in length and differ in one character, wide and narrow, many repeats.
    for (let i = 0; i < 50_000; i++) {
      const n = (i * 7919) % 20_011;
      const text = n % 3 === 0 ? `客户${n}\u001fTea\u001f${n % 5}` : `c${n}@example.com\u001fTé\u001f${n % 5}`;
      const count = (expected.get(text) ?? 0) + 1;
      expected.set(text, count);
      expect(counter.count(text)).toBe(count);
    }
    expect(counter.count('')).toBe(1);
    expect(counter.count('')).toBe(2);
  });

  it('keeps a Latin-1 string and a wide string with the same UTF-8 bytes apart', () => {
    const counter = new OccurrenceCounter();
    // 'Ã©' as Latin-1 bytes is C3 A9, the UTF-8 of 'é'; with a wide character both take UTF-8.
    expect(counter.count('\u0100é')).toBe(1);
    expect(counter.count('\u0100Ã©')).toBe(1);
    expect(counter.count('\u0100é')).toBe(2);
  });

  it('says whether a string has been counted, without counting it', () => {
    const counter = new OccurrenceCounter();
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const text = i % 4 === 0 ? `客户${i % 997}` : `c${i % 3001}@example.com`;
      expect(counter.has(text)).toBe(seen.has(text));
      if (i % 2 === 0) {
        counter.count(text);
        seen.add(text);
      }
    }
    expect(counter.has('never')).toBe(false);
    expect(counter.count('never')).toBe(1);
    expect(counter.has('never')).toBe(true);
  });
});
