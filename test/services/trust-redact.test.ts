// How `customer forget` scrubs free text in the audit trail: whole occurrences, any case.
import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/services/privacy.js';

describe('redactText', () => {
  it('replaces whole occurrences of names, emails and phones in any case', () => {
    expect(redactText("crm customer add --name 'Li Wei' --email LI@example.com --phone '+86 138 0013 8000'", ['+86 138 0013 8000', 'li@example.com', 'Li Wei'])).toBe(
      "crm customer add --name '[erased]' --email [erased] --phone '[erased]'",
    );
    expect(redactText('#3 li wei <li@example.com>', ['li@example.com', 'Li Wei'])).toBe('#3 [erased] <[erased]>');
  });
  it('leaves longer words that merely contain the string', () => {
    expect(redactText('merged Anna and Ann', ['Ann'])).toBe('merged Anna and [erased]');
    expect(redactText('--field wechat=zxl_88', ['zxl_88'])).toBe('--field wechat=[erased]');
  });
});
