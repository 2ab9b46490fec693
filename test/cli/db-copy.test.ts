// `crm db copy --to URL|FILE` (issue 14 item 5), and on PostgreSQL `db backup` / `db restore` into
// and from a crm SQLite file (item 6): a SQLite database with every kind of record goes to
// PostgreSQL and back, and each step exports the same bytes, counts the same rows and money, passes
// `db check`, and keeps numbering ids where the source left off. A target holding crm data is refused.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, dropPgDatabase, PG_TEST_URL, pgDump, pgUrl, runCrm, type RunResult } from '../helpers/cli.js';

const NOW = '2025-06-15T12:00:00Z';
const KINDS = ['customers', 'sales', 'activities', 'tickets', 'deals'] as const;

function crm(db: string, args: readonly string[], env: Record<string, string> = {}): RunResult {
  return runCrm(['--db', db, ...args], { env: { CRM_NOW: NOW, ...env } });
}

function ok(db: string, args: readonly string[]): string {
  const result = crm(db, args);
  if (result.code !== 0) throw new Error(`crm ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A SQLite database holding one or more of every kind of record, with awkward text and id gaps. */
function buildSource(db: string): void {
  ok(db, ['init']);
  ok(db, ['customer', 'add', '--name', 'Anna Schmidt', '--email', 'anna@example.com', '--city', 'Berlin', '--age', '34', '--tag', 'vip', '--tag', 'b2b', '--field', 'plan=gold']);
  ok(db, ['customer', 'add', '--name', 'Li Wei 李伟', '--email', 'li.wei@example.com', '--city', 'Shanghai', '--phone', '+86 21 5555 0101', '--tag', 'vip']);
  // Text COPY must carry as it is: tabs, newlines, backslashes, quotes, NUL-free unicode.
  ok(db, ['customer', 'add', '--name', "O'Brien \\ Tab\there", '--email', 'ob@example.com', '--company', 'Line1\nLine2', '--field', 'note=a\\b\tc']);
  const gone = ok(db, ['customer', 'add', '--name', 'Gone Soon', '--email', 'gone@example.com']).trim();
  ok(db, ['customer', 'rm', gone, '--yes']);
  ok(db, ['customer', 'edit', 'anna@example.com', '--city', 'München']);
  const ask = ok(db, ['activity', 'add', 'anna@example.com', '--type', 'email', '--direction', 'in', '--at', '2025-05-20 09:30', '--summary', 'Asks for a quote\nwith two lines']).trim();
  ok(db, ['activity', 'add', 'anna@example.com', '--type', 'call', '--direction', 'out', '--at', '2025-05-21 10:00', '--reply-to', ask, '--summary', 'Sent it']);
  ok(db, ['sale', 'record', '--customer', 'anna@example.com', '--product', 'Tea set', '--amount', '1,280.50', '--date', '2025-05-02']);
  ok(db, ['sale', 'record', '--customer', 'li.wei@example.com', '--product', 'Oolong 250g', '--amount', '88.25', '--quantity', '3', '--date', '2025-06-01']);
  const voided = ok(db, ['sale', 'record', '--product', 'Walk-in cups', '--amount', '12', '--date', '2025-06-02']).trim();
  ok(db, ['sale', 'void', voided, '--reason', 'typo']);
  const deal = ok(db, ['deal', 'add', '--customer', 'li.wei@example.com', '--title', 'Office gifts', '--value', '6,900', '--stage', 'qualified']).trim();
  ok(db, ['deal', 'move', deal, 'proposal']);
  ok(db, ['deal', 'move', deal, 'won']);
  ok(db, ['deal', 'add', '--customer', 'anna@example.com', '--title', 'Spring order', '--value', '1,000']);
  const ticket = ok(db, ['ticket', 'open', '--customer', 'anna@example.com', '--subject', 'Cracked lid', '--priority', 'high', '--kind', 'problem']).trim();
  ok(db, ['ticket', 'update', ticket, '--assignee', 'sam', '--comment', 'photo asked']);
  ok(db, ['ticket', 'resolve', ticket, '--solution', 'sent a new lid']);
  ok(db, ['ticket', 'rate', ticket, '--score', '4', '--comment', 'quick']);
  ok(db, ['task', 'add', 'li.wei@example.com', '--title', 'Call back', '--due', '2025-06-20', '--deal', deal]);
  ok(db, ['segment', 'create', 'vip-berlin', '--where', 'tag = "vip"']);
  ok(db, ['config', 'set', 'sla.high', '6h']);
}

let built: string | undefined;
/** A copy of the source database at `path` (built once per test file, copied for each suite). */
function sourceAt(path: string): void {
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), 'crm-copy-fixture-')), 'fixture.db');
    buildSource(built);
  }
  copyFileSync(built, path);
}

function exportsOf(db: string): string {
  const env: Record<string, string> = db.startsWith('postgres') ? { CRM_PG_UNVERIFIED: '1' } : {};
  return KINDS.flatMap((kind) =>
    ['csv', 'json'].map((format) => {
      const result = crm(db, ['export', kind, '--format', format], env);
      if (result.code !== 0) throw new Error(`export ${kind}: ${result.stderr}`);
      return `${kind}.${format}\n${result.stdout}`;
    }),
  ).join('\n');
}

function tableCounts(db: string): Record<string, number> {
  const status = JSON.parse(ok(db, ['db', 'status', '--format', 'json'])) as { tables: { table: string; rows: number }[] };
  return Object.fromEntries(status.tables.map((t) => [t.table, t.rows]));
}

function money(db: string): unknown {
  return JSON.parse(
    ok(db, ['sql', 'SELECT count(*) AS n, sum(amount_cents) AS sales, (SELECT sum(value_cents) FROM deals) AS deals FROM sales WHERE voided_at IS NULL', '--format', 'json']),
  );
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('db copy between SQLite files', () => {
  let dir: string;
  let source: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-copy-'));
    source = join(dir, 'source.db');
    sourceAt(source);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every table into a new private file, ids and exports as they were', () => {
    const target = join(dir, 'copy.db');
    const result = crm(source, ['db', 'copy', '--to', target, '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^copied \d+ rows in \d+ tables to /m);
    const parsed = JSON.parse(result.stdout) as { table: string; rows: number }[] | { tables: { table: string; rows: number }[] };
    const copied = Array.isArray(parsed) ? parsed : parsed.tables;
    expect(Object.fromEntries(copied.map((t) => [t.table, t.rows]))).toEqual(tableCounts(source));
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(exportsOf(target)).toBe(exportsOf(source));
    expect(money(target)).toEqual(money(source));
    expect(crm(target, ['db', 'check']).code).toBe(0);
  });

  it('refuses a target holding crm data, and the database itself, writing nothing', () => {
    const other = join(dir, 'other.db');
    ok(other, ['customer', 'add', '--name', 'Someone']);
    const before = sha(other);
    const refused = crm(source, ['db', 'copy', '--to', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*other\.db already holds crm data \(.*1 row in customers.*\); nothing was written$/m);
    expect(sha(other)).toBe(before);
    const self = crm(source, ['db', 'copy', '--to', source]);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/^error: the target is the database itself; nothing was written$/m);
  });

  it('copies into a file `crm init` has just created', () => {
    const fresh = join(dir, 'fresh.db');
    ok(fresh, ['init']);
    expect(crm(source, ['db', 'copy', '--to', fresh]).code).toBe(0);
    expect(exportsOf(fresh)).toBe(exportsOf(source));
  });
});

describe.skipIf(!PG_TEST_URL)('db copy SQLite → PostgreSQL → SQLite', () => {
  let dir: string;
  let source: string;
  const databases: string[] = [];
  const newPg = (): string => {
    const name = createPgDatabase('crm_copy');
    databases.push(name);
    return pgUrl(name);
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-copy-pg-'));
    source = join(dir, 'source.db');
    sourceAt(source);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const name of databases) dropPgDatabase(name);
  });

  it('round trip: identical exports of every kind, counts, money, db check, ids continuing', () => {
    const pg = newPg();
    const there = crm(source, ['db', 'copy', '--to', pg]);
    expect(there.code, there.stderr).toBe(0);
    const back = join(dir, 'back.db');
    const again = crm(pg, ['db', 'copy', '--to', back]);
    expect(again.code, again.stderr).toBe(0);

    const expected = exportsOf(source);
    expect(exportsOf(pg)).toBe(expected);
    expect(exportsOf(back)).toBe(expected);
    const counts = tableCounts(source);
    expect(tableCounts(pg)).toEqual(counts);
    expect(tableCounts(back)).toEqual(counts);
    expect(money(pg)).toEqual(money(source));
    expect(money(back)).toEqual(money(source));
    for (const db of [pg, back]) {
      const check = crm(db, ['db', 'check', '--format', 'json']);
      expect(check.code, check.stderr).toBe(0);
      expect(JSON.parse(check.stdout).integrity.every((f: { status: string }) => f.status === 'ok')).toBe(true);
    }
    // Four customers were added (one removed): the next one is number 5 everywhere, never 4 again.
    expect(ok(pg, ['customer', 'add', '--name', 'Next One']).trim()).toBe('5');
    expect(ok(back, ['customer', 'add', '--name', 'Next One']).trim()).toBe('5');
  }, 300_000);

  it('refuses a PostgreSQL database holding crm data, writing nothing', () => {
    const pg = newPg();
    ok(pg, ['customer', 'add', '--name', 'Already here']);
    const name = new URL(pg).pathname.slice(1);
    const before = pgDump(name);
    const refused = crm(source, ['db', 'copy', '--to', pg]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: postgres:\/\/.* already holds crm data \(.*1 row in customers\); nothing was written$/m);
    expect(pgDump(name)).toBe(before);
  });

  it('db backup FILE on PostgreSQL writes a private crm SQLite file; db restore loads it into an empty database only', () => {
    const pg = newPg();
    expect(crm(source, ['db', 'copy', '--to', pg]).code).toBe(0);
    const file = join(dir, 'pg-backup.db');
    const backup = crm(pg, ['db', 'backup', file]);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toBe(`${file}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(exportsOf(file)).toBe(exportsOf(source));

    const empty = newPg();
    const restored = crm(empty, ['db', 'restore', file]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(exportsOf(empty)).toBe(exportsOf(source));
    const audit = JSON.parse(ok(empty, ['audit', 'list', '--format', 'json'])) as { action: string }[];
    expect(audit[0]!.action).toBe('db.restore');

    const name = new URL(pg).pathname.slice(1);
    const before = pgDump(name);
    const refused = crm(pg, ['db', 'restore', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already holds crm data .*; nothing was written$/m);
    expect(pgDump(name)).toBe(before);
  }, 300_000);

  it('crm sql on PostgreSQL reads only, in the same formats, and stops at its timeout', () => {
    const pg = newPg();
    expect(crm(source, ['db', 'copy', '--to', pg]).code).toBe(0);
    const q = 'SELECT city, count(*) AS customers, 0.5 AS half FROM customers WHERE city IS NOT NULL GROUP BY city ORDER BY city';
    expect(ok(pg, ['sql', q, '--format', 'csv'])).toBe(ok(source, ['sql', q, '--format', 'csv']));
    expect(ok(pg, ['sql', 'SELECT 1 AS n, 2 AS n;', '--format', 'json'])).toBe('[\n  {"n":1,"n_2":2}\n]\n');
    const name = new URL(pg).pathname.slice(1);
    const before = pgDump(name);
    for (const [query, message] of [
      ['DELETE FROM customers', /^error: crm sql runs read-only queries only: this DELETE would change the database$/m],
      ['WITH x AS (SELECT 1) DELETE FROM customers', /would change the database/],
      ['SET statement_timeout = 0', /^error: crm sql runs read-only queries only: SET is not a query$/m],
      ['SELECT 1; DELETE FROM customers', /^error: crm sql runs one statement at a time$/m],
      ['SELECT * FROM nowhere', /^error: the query does not parse: no such table: nowhere$/m],
    ] as const) {
      const result = crm(pg, ['sql', query]);
      expect(result.code, query).toBe(2);
      expect(result.stderr, query).toMatch(message);
    }
    expect(pgDump(name)).toBe(before);
    const slow = crm(pg, ['sql', "SELECT set_config('statement_timeout', '0', true), pg_sleep(30)", '--timeout', '1']);
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(/^error: the query ran longer than 1 s and was stopped$/m);
  });
});
