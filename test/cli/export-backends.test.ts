// `crm export` gives the same bytes from SQLite and PostgreSQL (issue 14): the same story is written
// through crm on a SQLite file and on a PostgreSQL database, then every kind is exported in every
// format from both and compared byte for byte — tags in their case-folded order, custom fields,
// unicode, NULLs, money and instants. Runs whenever a test server is known (CRM_TEST_PG_URL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, dropPgDatabase, PG_TEST_URL, pgUrl, runCrm, type RunResult } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
const KINDS = ['customers', 'sales', 'activities', 'tickets', 'deals'] as const;
const FORMATS = ['csv', 'json', 'ndjson'] as const;

let dir: string;
let database: string;
let sqlitePath: string;
let postgresUrl: string;

function on(db: string, args: readonly string[]): RunResult {
  return runCrm(['--db', db, ...args], { cwd: dir, env: { ...env, CRM_PG_UNVERIFIED: '1' } });
}

/** Runs one command on both databases; both must succeed with the same output (unless `same` is false). */
function both(args: readonly string[], same = true): string {
  const a = on(sqlitePath, args);
  const b = on(postgresUrl, args);
  if (a.code !== 0) throw new Error(`SQLite: crm ${args.join(' ')} exited ${a.code}\n${a.stderr}`);
  if (b.code !== 0) throw new Error(`PostgreSQL: crm ${args.join(' ')} exited ${b.code}\n${b.stderr}`);
  if (same) expect(b.stdout).toBe(a.stdout);
  return a.stdout;
}

describe.skipIf(!PG_TEST_URL)('export on SQLite and PostgreSQL', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-export-backends-'));
    sqlitePath = join(dir, 'crm.db');
    database = createPgDatabase('crm_export');
    postgresUrl = pgUrl(database);
    // `init` names the database it set up, which differs.
    both(['init'], false);
    // Tags whose byte order and case-folded order differ (Zulu < alpha in bytes), one non-ASCII.
    both(['customer', 'add', '--name', 'Zoë Ångström', '--email', 'Zoe@Example.com', '--city', 'Köln', '--age', '34', '--gender', 'female',
      '--tag', 'vip', '--tag', 'Zulu', '--tag', 'alpha', '--tag', 'Ärger', '--tag', 'Beta', '--field', 'plan=gold', '--field', 'note=a,b "quoted"']);
    both(['customer', 'add', '--name', '李伟', '--phone', '+86 138 0000 0000', '--company', '=HYPERLINK("x")', '--source', 'referral', '--field', 'Zone=北']);
    both(['customer', 'add', '--name', 'Bare Minimum']);
    both(['customer', 'add', '--name', 'Ext Only', '--external-id', 'ERP-7', '--tag', 'alpha', '--field', 'plan=', '--field', 'empty=x']);
    both(['sale', 'record', '--customer', '1', '--product', 'Tea set', '--amount', '1,280.50', '--quantity', '3', '--date', '2025-03-01', '--note', 'gift; wrapped']);
    both(['sale', 'record', '--customer', '2', '--product', 'Cup', '--amount', '0.05', '--date', '2025-03-02']);
    both(['sale', 'record', '--customer', '4', '--product', 'Voided', '--amount', '9', '--date', '2025-03-03']);
    both(['sale', 'void', '3', '--reason', 'typo']);
    both(['activity', 'add', '1', '--type', 'call', '--direction', 'in', '--summary', 'Asked for a quote, "soon"']);
    both(['activity', 'add', '2', '--type', 'note', '--summary', 'ümlaut\nsecond line']);
    both(['ticket', 'open', '--customer', '1', '--subject', 'Invoice missing', '--priority', 'high', '--opened', '2025-05-30 08:15']);
    both(['ticket', 'open', '--customer', '3', '--subject', 'Love it', '--kind', 'feedback', '--description', 'Ä description']);
    both(['ticket', 'resolve', '1', '--solution', 'Sent it again']);
    both(['ticket', 'rate', '1', '--score', '4', '--comment', 'ok']);
    both(['ticket', 'rate', '1', '--score', '5']);
    both(['deal', 'add', '--customer', '2', '--title', 'Annual contract', '--value', '50000', '--close-date', '2025-12-31']);
    both(['deal', 'add', '--customer', '1', '--title', 'Small', '--value', '10.10']);
    both(['deal', 'move', '2', 'won']);
    both(['deal', 'add', '--customer', '4', '--title', 'Lost one', '--value', '1']);
    both(['deal', 'move', '3', 'lost', '--reason', 'price']);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (database) dropPgDatabase(database);
  });

  for (const kind of KINDS) {
    it(`${kind}: the same bytes in ${FORMATS.join(', ')} and with --bom`, () => {
      for (const format of FORMATS) both(['export', kind, '--format', format]);
      both(['export', kind, '--bom']);
    });
  }

  it('customers: tags in case-folded order, custom fields as columns (keys in lower case), NULLs as empty cells', () => {
    const csv = both(['export', 'customers']);
    expect(csv.split('\r\n')).toEqual([
      'name,email,phone,age,gender,company,city,source,tags,created,external_id,field.empty,field.note,field.plan,field.zone',
      'Zoë Ångström,Zoe@Example.com,,34,female,,Köln,,alpha;Beta;vip;Zulu;Ärger,2025-06-01T09:00:00Z,,,"a,b ""quoted""",gold,',
      `李伟,,+86 138 0000 0000,,,"'=HYPERLINK(""x"")",,referral,,2025-06-01T09:00:00Z,,,,,北`,
      'Bare Minimum,,,,,,,,,2025-06-01T09:00:00Z,,,,,',
      'Ext Only,,,,,,,,alpha,2025-06-01T09:00:00Z,ERP-7,x,,,',
      '',
    ]);
    const rows = JSON.parse(both(['export', 'customers', '--format', 'json'])) as Record<string, unknown>[];
    expect(rows[2]).toMatchObject({ name: 'Bare Minimum', email: null, age: null, tags: null, 'field.plan': null });
  });

  it('sales: voided sales left out, money and quantities as numbers', () => {
    const rows = JSON.parse(both(['export', 'sales', '--format', 'json'])) as Record<string, unknown>[];
    expect(rows.map((r) => [r.customer, r.product, r.quantity, r.date])).toEqual([
      ['Zoe@Example.com', 'Tea set', 3, '2025-03-01'],
      ['+86 138 0000 0000', 'Cup', 1, '2025-03-02'],
      ['Zoe@Example.com', 'Small', 1, '2025-06-01'],
    ]);
  });

  it('tickets: the latest rating, resolved instants', () => {
    const rows = JSON.parse(both(['export', 'tickets', '--format', 'json'])) as Record<string, unknown>[];
    expect(rows.map((r) => [r.subject, r.status, r.score, r.opened])).toEqual([
      ['Invoice missing', 'resolved', 5, '2025-05-30T08:15:00Z'],
      ['Love it', 'open', null, '2025-06-01T09:00:00Z'],
    ]);
  });
});
