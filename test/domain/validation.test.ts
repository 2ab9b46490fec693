import { describe, expect, it } from 'vitest';
import { parseAge, parseEmail, parseFieldAssignment, parseGender, parseInteger, parsePhone, phoneDigits } from '../../src/domain/validation.js';
import { UsageError } from '../../src/domain/errors.js';
import { neutraliseCell, restoreCell } from '../../src/domain/spreadsheet.js';

describe('field validation', () => {
  it('accepts ordinary emails and rejects malformed ones', () => {
    expect(parseEmail(' li.wei+shop@example.com.cn ')).toBe('li.wei+shop@example.com.cn');
    for (const bad of ['li', 'li@', '@example.com', 'li@example', 'li wei@example.com', 'a@b..com', 'a@@b.com']) {
      expect(() => parseEmail(bad), bad).toThrow(UsageError);
    }
  });

  it('accepts phones of 5 to 20 digits with separators', () => {
    expect(parsePhone('+86 138-0013 (8000)')).toBe('+86 138-0013 (8000)');
    expect(phoneDigits('+86 138-0013 (8000)')).toBe('8613800138000');
    for (const bad of ['1234', '123456789012345678901', '138x0013', 'call me']) {
      expect(() => parsePhone(bad), bad).toThrow(UsageError);
    }
  });

  it('accepts ages 0 to 150', () => {
    expect(parseAge('0')).toBe(0);
    expect(parseAge('150')).toBe(150);
    for (const bad of ['-1', '151', '3.5', 'old', '']) expect(() => parseAge(bad), bad).toThrow(UsageError);
  });

  it('reads gender aliases in any case', () => {
    expect(parseGender('F')).toBe('female');
    expect(parseGender('男')).toBe('male');
    expect(parseGender('Other')).toBe('other');
    expect(parseGender('')).toBeNull();
    expect(() => parseGender('x')).toThrow(UsageError);
  });

  it('parses bounded integers and key=value fields', () => {
    expect(parseInteger('20', '--limit', 1)).toBe(20);
    expect(() => parseInteger('0', '--limit', 1)).toThrow(UsageError);
    expect(parseFieldAssignment('Plan=gold=1')).toEqual({ key: 'plan', value: 'gold=1' });
    expect(() => parseFieldAssignment('=x')).toThrow(UsageError);
  });
});

describe('spreadsheet safety', () => {
  it.each([
    ['=SUM(A1)', "'=SUM(A1)"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['-5.00', '-5.00'],
    ['+86 138 0013 8000', '+86 138 0013 8000'],
    ['+1 (555) 010-0000', '+1 (555) 010-0000'],
    ['+1.555.010.0000', '+1.555.010.0000'],
    ['+1234', '+1234'],
    ['+12 34', "'+12 34"],
    ['+86 138\t0013 8000', "'+86 138\t0013 8000"],
    ['+86 138\n0013', "'+86 138\n0013"],
    ['+55555 cmd', "'+55555 cmd"],
    ['plain', 'plain'],
    ['', ''],
    ["'=x", "''=x"],
    ["''-5", "'''-5"],
    ["'plain", "'plain"],
    ["'", "'"],
  ])('neutralises %j as %j and restores it', (input, output) => {
    expect(neutraliseCell(input)).toBe(output);
    expect(restoreCell(neutraliseCell(input))).toBe(input);
  });
});
