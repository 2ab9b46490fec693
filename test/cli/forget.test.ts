// Issue 20 item 4: after `customer forget`, nothing the person said or was — their identifiers and
// the texts of their records — survives in the audit trail, in other customers' records or in the
// file's bytes.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_POSTGRES, sandbox, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2026-03-01T10:00:00.000Z' };
const NAME = 'Quillon Brassmoor';
const EMAIL = 'q.brassmoor@forgetme.example';
const PHONE = '+44 7700 900461';
const EXTERNAL = 'SHOP-QB-77123';
const ACTIVITY = 'Discussed the walnut harpsichord restoration';
const SUBJECT = 'Harpsichord lid cracked in transit';
const COMMENT = 'Courier admitted dropping the crate';
const TASK = 'Send the varnish samples to Quillon';
const DEAL = 'Bespoke spinet commission';
const SECRETS = [NAME, EMAIL, PHONE, EXTERNAL, ACTIVITY, SUBJECT, COMMENT, TASK, DEAL, 'Brassmoor', '7700 900461'];

/** Where in the database file and the files beside it a string still occurs. */
function occurrences(box: Sandbox, text: string): string[] {
  const found: string[] = [];
  // PostgreSQL keeps no file of ours: what must be gone is gone from every table (the dump of all of them).
  if (ON_POSTGRES) {
    const all = box.dump();
    for (const needle of [text, text.toLowerCase(), text.toUpperCase()]) if (all.includes(needle)) found.push(`every table: ${needle}`);
    return found;
  }
  for (const path of [box.dbPath, `${box.dbPath}-wal`, `${box.dbPath}-shm`, `${box.dbPath}-journal`]) {
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    for (const needle of [text, text.toLowerCase(), text.toUpperCase()]) {
      if (bytes.includes(Buffer.from(needle, 'utf8'))) found.push(`${path}: ${needle}`);
    }
  }
  return found;
}

const leaks = (text: string) => SECRETS.filter((s) => text.toLowerCase().includes(s.toLowerCase()));

describe('customer forget erases the person from the audit trail and other records', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', NAME, '--email', EMAIL, '--phone', PHONE, '--external-id', EXTERNAL], { env });
    box.ok(['customer', 'add', '--name', 'Other Buyer', '--email', 'other.buyer@example.com'], { env });
    box.ok(['activity', 'add', EMAIL, '--type', 'call', '--summary', ACTIVITY], { env });
    box.ok(['ticket', 'open', '--customer', '1', '--subject', SUBJECT], { env });
    box.ok(['ticket', 'update', '1', '--comment', COMMENT], { env });
    box.ok(['task', 'add', NAME, '--title', TASK, '--due', '2026-03-05'], { env });
    box.ok(['deal', 'add', '--customer', EMAIL, '--title', DEAL, '--value', '4,000'], { env });
    box.ok(['activity', 'add', 'other.buyer@example.com', '--type', 'note', '--summary', `Referred by ${NAME} (${EMAIL}, ${PHONE})`], { env });
  });
  afterAll(() => box.cleanup());

  it('leaves no identifier or record text in audit list, sql, other records or the file bytes', () => {
    // The data is really there before (the test would be meaningless otherwise).
    expect(leaks(box.ok(['audit', 'list', '--format', 'json'])).length).toBeGreaterThan(5);

    const result = box.run(['customer', 'forget', EMAIL, '--yes'], { env: { CRM_NOW: '2026-03-02T10:00:00.000Z' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^erased customer #1: 1 activities, 1 deals, 1 tickets, 1 tasks/m);

    expect(leaks(box.ok(['audit', 'list', '--format', 'json']))).toEqual([]);
    for (const table of ['audit_log', 'audit_change', 'audit_range']) {
      expect(leaks(box.ok(['sql', `SELECT * FROM ${table}`, '--format', 'json'])), table).toEqual([]);
    }
    // The other customer's note stays, with the person's identifiers replaced.
    const notes = box.query<{ summary: string }>('SELECT summary FROM activities WHERE customer_id = 2');
    expect(notes).toEqual([{ summary: 'Referred by [erased] ([erased], [erased])' }]);
    expect(leaks(box.dump())).toEqual([]);
    for (const text of SECRETS) expect(occurrences(box, text), text).toEqual([]);
  });
});
