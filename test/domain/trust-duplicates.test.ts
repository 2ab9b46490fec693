// The pure matching keys and the string metric behind `crm customer duplicates`.
import { describe, expect, it } from 'vitest';
import { combineScores, emailKey, jaro, jaroWinkler, nameSimilarity, normaliseName, phoneKey } from '../../src/domain/duplicates.js';

describe('emailKey', () => {
  it('folds case everywhere', () => {
    expect(emailKey('Anna.Schmidt@Example.COM')).toBe('anna.schmidt@example.com');
  });
  it('drops Gmail dots and +tags, and treats googlemail.com as gmail.com', () => {
    expect(emailKey('Li.Wei+shop@gmail.com')).toBe('liwei@gmail.com');
    expect(emailKey('l.i.w.e.i@googlemail.com')).toBe('liwei@gmail.com');
  });
  it('drops +tags at other common providers but keeps their dots', () => {
    expect(emailKey('anna.s+news@outlook.com')).toBe('anna.s@outlook.com');
    expect(emailKey('12345+x@qq.com')).toBe('12345@qq.com');
  });
  it('keeps the local part of unknown domains, where + and dots may be significant', () => {
    expect(emailKey('a.b+c@example.com')).toBe('a.b+c@example.com');
  });
  it('returns null for empty or malformed values', () => {
    expect(emailKey(null)).toBeNull();
    expect(emailKey('')).toBeNull();
    expect(emailKey('nobody')).toBeNull();
    expect(emailKey('@gmail.com')).toBeNull();
    expect(emailKey('+tag@gmail.com')).toBe('+tag@gmail.com');
  });
});

describe('phoneKey', () => {
  it('reduces every way of writing a Chinese mobile number to the national number', () => {
    for (const phone of ['+86 138 0013 8000', '0086-138-0013-8000', '138 0013 8000', '(138) 0013.8000', '8613800138000', '+86 (0)138 0013 8000']) {
      expect(phoneKey(phone), phone).toBe('13800138000');
    }
  });
  it('removes a trunk 0 and other country codes', () => {
    expect(phoneKey('010 1234 5678')).toBe('1012345678');
    expect(phoneKey('+86 10 1234 5678')).toBe('1012345678');
    expect(phoneKey('+49 30 1234567')).toBe('301234567');
    expect(phoneKey('030 1234567')).toBe('301234567');
    expect(phoneKey('+1 (415) 555-0100')).toBe('4155550100');
  });
  it('ignores numbers too short to match on', () => {
    expect(phoneKey('12345')).toBeNull();
    expect(phoneKey(null)).toBeNull();
  });
});

describe('names', () => {
  it('folds accents, case, punctuation and spacing', () => {
    expect(normaliseName('  José  MÜLLER-Smith ')).toBe('jose muller smith');
  });
  it('computes Jaro and Jaro-Winkler like the textbook examples', () => {
    expect(jaro('martha', 'marhta')).toBeCloseTo(0.9444, 4);
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 4);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 4);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.8133, 4);
    expect(jaroWinkler('abc', 'abc')).toBe(1);
    expect(jaroWinkler('', 'abc')).toBe(0);
  });
  it('matches swapped name order', () => {
    expect(nameSimilarity('wei li', 'li wei')).toBe(1);
    expect(nameSimilarity('anna schmidt', 'ana schmidt')).toBeGreaterThan(0.9);
    expect(nameSimilarity('anna schmidt', 'li wei')).toBeLessThan(0.6);
  });
});

describe('combineScores', () => {
  it('makes two reasons worth more than either', () => {
    expect(combineScores([0.9])).toBeCloseTo(0.9);
    expect(combineScores([0.95, 0.9])).toBeCloseTo(0.995);
    expect(combineScores([])).toBe(0);
  });
});
