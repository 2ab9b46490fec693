// How `customer forget` scrubs free text in the audit trail: whole occurrences, any case.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, sqliteOf } from '../../src/db/connection.js';
import { PartialError } from '../../src/domain/errors.js';
import { purgeFreedPages, redactText } from '../../src/services/privacy.js';

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
  it('finds a text as a command line quotes it', () => {
    expect(redactText("crm task add 1 --title 'Ring O'\\''Brien back'", ["Ring O'Brien back"])).toBe("crm task add 1 --title '[erased]'");
  });
});

describe('purgeFreedPages', () => {
  it('says that the erase happened, not that nothing changed, when the file cannot be rebuilt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-purge-'));
    const db = await openDatabase(join(dir, 'crm.db'));
    try {
      expect(purgeFreedPages(db)).toBe(true);
      // VACUUM cannot run inside a transaction: a stand-in for a full disk.
      sqliteOf(db).exec('BEGIN');
      let failure: unknown;
      try {
        purgeFreedPages(db);
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(PartialError);
      expect((failure as Error).message).toMatch(/^the erase is done and committed, but the file could not be rebuilt \(.+\), so the space is not yet reclaimed$/);
      expect((failure as PartialError).hint).toMatch(/crm db optimize/);
      expect((failure as Error).message).not.toMatch(/nothing was changed/);
      sqliteOf(db).exec('ROLLBACK');
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
