// `crm export KIND --changed-since CURSOR` (issue 16, item 8): every export prints a cursor on stderr;
// given an earlier one, only the rows added, edited or removed since are exported, each marked in a
// `change` column beside its `id` (a removed row carries only its keys), whatever changed them —
// commands, imports, merge, forget, undo. A cursor from another database or from the future is
// refused (exit 1), a malformed one is a usage error (exit 2), and nothing is written either way.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPgDatabase, dropPgDatabase, ON_POSTGRES, PG_TEST_URL, pgQuery, pgUrl, runCrm, sandbox, sqliteQuery, type Sandbox } from '../helpers/cli.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
const CREATED = '2025-06-01T09:00:00Z';
const CURSOR = /^cursor: (crm1\.[0-9a-f]{32}(?:\.\d+){6})$/m;

const boxes: Sandbox[] = [];
afterEach(async () => {
  for (const box of boxes.splice(0)) box.cleanup();
  // The tests block on child processes; a turn of the event loop between them lets vitest's worker
  // answer its runner (on a loaded machine it otherwise times out calling onTaskUpdate).
  await new Promise((resolve) => setTimeout(resolve, 50));
});
function fresh(): Sandbox {
  const box = sandbox();
  boxes.push(box);
  return box;
}

/** Runs an export; returns stdout and the cursor it printed on stderr. */
function exportOf(box: Sandbox, args: readonly string[]): { stdout: string; cursor: string } {
  const result = box.run(['export', ...args], { env });
  if (result.code !== 0) throw new Error(`crm export ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
  const match = CURSOR.exec(result.stderr);
  if (!match) throw new Error(`no cursor on stderr: ${result.stderr}`);
  return { stdout: result.stdout, cursor: match[1]! };
}

type Row = Record<string, unknown>;
function changesOf(box: Sandbox, kind: string, cursor: string): { rows: Row[]; cursor: string } {
  const { stdout, cursor: next } = exportOf(box, [kind, '--changed-since', cursor, '--format', 'json']);
  return { rows: JSON.parse(stdout) as Row[], cursor: next };
}
/** Only the named fields of each row. */
const pick = (rows: Row[], fields: readonly string[]) => rows.map((r) => Object.fromEntries(fields.map((f) => [f, r[f]])));

function file(box: Sandbox, name: string, text: string): string {
  const path = join(box.dir, name);
  writeFileSync(path, text);
  return path;
}

function customers(box: Sandbox, ...people: Array<[string, string]>): void {
  for (const [name, email] of people) box.ok(['customer', 'add', '--name', name, '--email', email], { env });
}

describe('export cursors', () => {
  it('every full export prints a cursor on stderr and keeps its columns on stdout', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    for (const kind of ['customers', 'sales', 'activities', 'tickets', 'deals']) {
      const { stdout, cursor } = exportOf(box, [kind]);
      expect(stdout.startsWith('change,')).toBe(false);
      expect(cursor).toMatch(/^crm1\./);
    }
    const { stdout } = exportOf(box, ['customers']);
    expect(stdout).toBe(`name,email,phone,age,gender,company,city,source,tags,created,external_id\r\nAnn Lee,ann@example.com,,,,,,,,${CREATED},\r\n`);
  });

  it('the same database gives the same cursor until something changes, then a later one', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const a = exportOf(box, ['customers']).cursor;
    expect(exportOf(box, ['sales']).cursor).toBe(a);
    box.ok(['customer', 'edit', 'ann@example.com', '--city', 'Paris'], { env });
    const b = exportOf(box, ['customers']).cursor;
    expect(b).not.toBe(a);
    // Same database id, a later change sequence, the same highest ids.
    const [, dbA, seqA, ...idsA] = a.split('.');
    const [, dbB, seqB, ...idsB] = b.split('.');
    expect(dbB).toBe(dbA);
    expect(Number(seqB)).toBeGreaterThan(Number(seqA));
    expect(idsB).toEqual(idsA);
  });
});

describe('export --changed-since', () => {
  it('customers: edited, removed and added rows, marked, in id order, as CSV', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Bob Ray', 'bob@example.com'], ['Cy Wu', 'cy@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    box.ok(['customer', 'edit', 'ann@example.com', '--city', 'Paris'], { env });
    box.ok(['customer', 'rm', 'bob@example.com', '--yes'], { env });
    box.ok(['customer', 'edit', 'cy@example.com', '--tag', 'gold', '--field', 'plan=pro'], { env });
    customers(box, ['Dee Oh', 'dee@example.com']);
    const changes = exportOf(box, ['customers', '--changed-since', cursor]);
    expect(changes.stdout).toBe(
      [
        'change,id,name,email,phone,age,gender,company,city,source,tags,created,external_id,field.plan',
        `edited,1,Ann Lee,ann@example.com,,,,,Paris,,,${CREATED},,`,
        'removed,2,,,,,,,,,,,,',
        `edited,3,Cy Wu,cy@example.com,,,,,,,gold,${CREATED},,pro`,
        `added,4,Dee Oh,dee@example.com,,,,,,,,${CREATED},,`,
        '',
      ].join('\r\n'),
    );
    // From the new cursor nothing has changed: the header alone, and the same cursor again.
    const again = exportOf(box, ['customers', '--changed-since', changes.cursor]);
    expect(again.stdout).toBe('change,id,name,email,phone,age,gender,company,city,source,tags,created,external_id,field.plan\r\n');
    expect(again.cursor).toBe(changes.cursor);
  });

  it('a row added and removed since the cursor is not mentioned', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    customers(box, ['Bob Ray', 'bob@example.com']);
    box.ok(['customer', 'rm', 'bob@example.com', '--yes'], { env });
    expect(changesOf(box, 'customers', cursor).rows).toEqual([]);
  });

  it('sales: an import update, a void, a refund, a new import row, and a customer whose email changed', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Bob Ray', 'bob@example.com']);
    const sales = 'external_id,customer,product,amount,date\nS1,ann@example.com,Tea,10.00,2025-05-01\nS2,ann@example.com,Pot,20.00,2025-05-02\nS3,bob@example.com,Cup,30.00,2025-05-03\n';
    box.ok(['import', 'sales', file(box, 'sales.csv', sales)], { env });
    const { cursor } = exportOf(box, ['sales']);
    box.ok(['import', 'sales', file(box, 'more.csv', 'external_id,customer,product,amount,date\nS1,ann@example.com,Tea,12.50,2025-05-01\nS4,bob@example.com,Jar,40.00,2025-05-04\n'), '--on-duplicate', 'update'], { env });
    box.ok(['sale', 'void', '2', '--reason', 'typo'], { env });
    box.ok(['sale', 'refund', '3', '--amount', '5'], { env });
    box.ok(['customer', 'edit', 'bob@example.com', '--email', 'bob@new.example.com'], { env });
    const { rows } = changesOf(box, 'sales', cursor);
    expect(pick(rows, ['change', 'id', 'external_id', 'customer', 'product', 'amount', 'refund_of'])).toEqual([
      { change: 'edited', id: 1, external_id: 'S1', customer: 'ann@example.com', product: 'Tea', amount: '12.50', refund_of: null },
      { change: 'removed', id: 2, external_id: 'S2', customer: null, product: null, amount: null, refund_of: null },
      { change: 'edited', id: 3, external_id: 'S3', customer: 'bob@new.example.com', product: 'Cup', amount: '30.00', refund_of: null },
      { change: 'added', id: 4, external_id: 'S4', customer: 'bob@new.example.com', product: 'Jar', amount: '40.00', refund_of: null },
      { change: 'added', id: 5, external_id: null, customer: 'bob@new.example.com', product: 'Cup', amount: '-5.00', refund_of: 'S3' },
    ]);
  });

  it('merge moves rows (edited) and removes the other customer; undo of the merge puts it back', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Ann L.', 'ann.l@example.com']);
    box.ok(['customer', 'edit', 'ann.l@example.com', '--phone', '+1 555 0100', '--tag', 'vip'], { env });
    box.ok(['sale', 'record', '--customer', '2', '--product', 'Tea', '--amount', '10', '--date', '2025-05-01'], { env });
    box.ok(['activity', 'add', '2', '--type', 'call', '--summary', 'asked for a quote'], { env });
    box.ok(['ticket', 'open', '--customer', '2', '--subject', 'Broken lid'], { env });
    const before = exportOf(box, ['customers']).cursor;
    box.ok(['customer', 'merge', '1', '2', '--yes'], { env });
    const merged = changesOf(box, 'customers', before);
    expect(pick(merged.rows, ['change', 'id', 'email', 'phone', 'tags'])).toEqual([
      { change: 'edited', id: 1, email: 'ann@example.com', phone: '+1 555 0100', tags: 'vip' },
      { change: 'removed', id: 2, email: null, phone: null, tags: null },
    ]);
    for (const kind of ['sales', 'activities', 'tickets']) {
      expect(pick(changesOf(box, kind, before).rows, ['change', 'id', 'customer'])).toEqual([{ change: 'edited', id: 1, customer: 'ann@example.com' }]);
    }
    const audit = JSON.parse(box.ok(['audit', 'list', '--format', 'json'], { env })) as Array<{ id: number; action: string }>;
    const mergeEntry = audit.find((e) => e.action === 'customer.merge')!;
    box.ok(['undo', String(mergeEntry.id), '--yes'], { env });
    const undone = changesOf(box, 'customers', merged.cursor);
    expect(pick(undone.rows, ['change', 'id', 'email', 'phone', 'tags'])).toEqual([
      { change: 'edited', id: 1, email: 'ann@example.com', phone: null, tags: null },
      { change: 'edited', id: 2, email: 'ann.l@example.com', phone: '+1 555 0100', tags: 'vip' },
    ]);
    expect(pick(changesOf(box, 'sales', merged.cursor).rows, ['change', 'id', 'customer'])).toEqual([{ change: 'edited', id: 1, customer: 'ann.l@example.com' }]);
  });

  it('forget: the customer, their activities and tickets removed (tickets with their external id), their sales kept without them', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Fay Doe', 'fay@example.com']);
    box.ok(['sale', 'record', '--customer', 'fay@example.com', '--product', 'Tea', '--amount', '10', '--date', '2025-05-01'], { env });
    box.ok(['activity', 'add', 'fay@example.com', '--type', 'note', '--summary', 'likes green tea'], { env });
    box.ok(['activity', 'add', 'ann@example.com', '--type', 'note', '--summary', 'prefers email'], { env });
    box.ok(['import', 'tickets', file(box, 't.csv', 'external_id,customer,subject,opened\nT-9,fay@example.com,Late parcel,2025-05-02\n')], { env });
    const { cursor } = exportOf(box, ['customers']);
    box.ok(['customer', 'forget', 'fay@example.com', '--yes'], { env });
    expect(pick(changesOf(box, 'customers', cursor).rows, ['change', 'id', 'name', 'email'])).toEqual([{ change: 'removed', id: 2, name: null, email: null }]);
    expect(pick(changesOf(box, 'sales', cursor).rows, ['change', 'id', 'customer', 'product'])).toEqual([{ change: 'edited', id: 1, customer: null, product: 'Tea' }]);
    expect(pick(changesOf(box, 'activities', cursor).rows, ['change', 'id', 'summary'])).toEqual([{ change: 'removed', id: 1, summary: null }]);
    expect(pick(changesOf(box, 'tickets', cursor).rows, ['change', 'id', 'external_id', 'subject'])).toEqual([{ change: 'removed', id: 1, external_id: 'T-9', subject: null }]);
    // Nothing of the person stays in the change log.
    expect(box.dump()).not.toMatch(/fay@example\.com|Fay Doe/);
  });

  it('undo of an import: its rows are removed; an import of new customers logs nothing for them', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    const csv = 'name,email,tags,field.plan\nBo Ng,bo@example.com,vip;new,pro\nCe Yu,ce@example.com,new,basic\n';
    box.ok(['import', 'customers', file(box, 'c.csv', csv)], { env });
    // New rows are added, not also edited: on SQLite their tags and fields were not logged at all
    // (PostgreSQL logs every row added, each first as added, which the export reads the same way).
    if (!ON_POSTGRES) expect(box.query('SELECT count(*) AS n FROM row_changes WHERE row_id > 1')).toEqual([{ n: 0 }]);
    const imported = changesOf(box, 'customers', cursor);
    expect(pick(imported.rows, ['change', 'id', 'email', 'tags', 'field.plan'])).toEqual([
      { change: 'added', id: 2, email: 'bo@example.com', tags: 'new;vip', 'field.plan': 'pro' },
      { change: 'added', id: 3, email: 'ce@example.com', tags: 'new', 'field.plan': 'basic' },
    ]);
    // A re-import that changes an existing customer's tags is an edit.
    box.ok(['import', 'customers', file(box, 'd.csv', 'email,tags\nann@example.com,gold\n'), '--on-duplicate', 'update'], { env });
    const audit = JSON.parse(box.ok(['audit', 'list', '--format', 'json'], { env })) as Array<{ id: number; action: string }>;
    const first = audit.filter((e) => e.action === 'import.customers').at(-1)!;
    box.ok(['undo', String(first.id), '--yes'], { env });
    expect(pick(changesOf(box, 'customers', imported.cursor).rows, ['change', 'id', 'email', 'tags'])).toEqual([
      { change: 'edited', id: 1, email: 'ann@example.com', tags: 'gold' },
      { change: 'removed', id: 2, email: null, tags: null },
      { change: 'removed', id: 3, email: null, tags: null },
    ]);
  });

  it('tickets: a rating is an edit of the ticket; activities: new ones are added', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    box.ok(['ticket', 'open', '--customer', '1', '--subject', 'Broken lid'], { env });
    box.ok(['ticket', 'resolve', '1', '--solution', 'sent a new lid'], { env });
    const { cursor } = exportOf(box, ['tickets']);
    box.ok(['ticket', 'rate', '1', '--score', '4'], { env });
    box.ok(['activity', 'add', '1', '--type', 'call', '--summary', 'thanked us'], { env });
    expect(pick(changesOf(box, 'tickets', cursor).rows, ['change', 'id', 'subject', 'score'])).toEqual([{ change: 'edited', id: 1, subject: 'Broken lid', score: 4 }]);
    expect(pick(changesOf(box, 'activities', cursor).rows, ['change', 'id', 'summary'])).toEqual([{ change: 'added', id: 1, summary: 'thanked us' }]);
  });
});

describe('export deals --changed-since', () => {
  it('a deal moved to won is edited, and the sale it records is added', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    box.ok(['deal', 'add', '--customer', '1', '--title', 'Annual tea', '--value', '500'], { env });
    box.ok(['deal', 'add', '--customer', '1', '--title', 'Cups', '--value', '80'], { env });
    const { cursor } = exportOf(box, ['deals']);
    box.ok(['deal', 'move', '1', 'won'], { env });
    expect(pick(changesOf(box, 'deals', cursor).rows, ['change', 'id', 'title', 'stage'])).toEqual([{ change: 'edited', id: 1, title: 'Annual tea', stage: 'won' }]);
    expect(pick(changesOf(box, 'sales', cursor).rows, ['change', 'id', 'amount'])).toEqual([{ change: 'added', id: 1, amount: '500.00' }]);
  });
});

describe('export --changed-since refuses a cursor it cannot continue from', () => {
  function refused(box: Sandbox, args: readonly string[], code: number, message: RegExp): void {
    const before = box.dump();
    const out = join(box.dir, 'out.csv');
    const result = box.run(['export', ...args, '--output', out], { env });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(box.dump()).toBe(before);
  }

  it('a malformed cursor is a usage error (exit 2)', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    const message = /^error: --changed-since ".*" is not an export cursor \(/m;
    refused(box, ['customers', '--changed-since', 'yesterday'], 2, message);
    refused(box, ['customers', '--changed-since', cursor.split('.').slice(0, -1).join('.')], 2, message);
    refused(box, ['customers', '--changed-since', cursor.replace(/\.(\d+)$/, '.x$1')], 2, message);
    refused(box, ['customers', '--changed-since', cursor.replace(/^crm1\.[0-9a-f]{4}/, 'crm1.zzzz')], 2, message);
  });

  it('a cursor from another database is refused (exit 1)', () => {
    const box = fresh();
    const other = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    customers(other, ['Ann Lee', 'ann@example.com']);
    const { cursor } = exportOf(other, ['customers']);
    refused(box, ['customers', '--changed-since', cursor], 1, /^error: the cursor is from another database \([0-9a-f]{32}\), not this one \([0-9a-f]{32}\)$/m);
  });

  it('a cursor from the future is refused (exit 1): a later change, or a higher id', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    const parts = cursor.split('.');
    const laterChange = [...parts.slice(0, 2), String(Number(parts[2]) + 5), ...parts.slice(3)].join('.');
    refused(box, ['customers', '--changed-since', laterChange], 1, /^error: the cursor is from the future of this database \(change \d+, this database is at \d+\)/m);
    const higherSale = [...parts.slice(0, 4), '7', ...parts.slice(5)].join('.');
    refused(box, ['sales', '--changed-since', higherSale], 1, /^error: the cursor is from the future of this database \(sales id 7, the highest here is 0\)/m);
  });

  it('a database restored from an older backup refuses the newer cursor', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const backup = join(box.dir, 'backup.db');
    box.ok(['db', 'backup', backup], { env });
    customers(box, ['Bob Ray', 'bob@example.com']);
    const { cursor } = exportOf(box, ['customers']);
    const result = box.run(['--db', backup, 'export', 'customers', '--changed-since', cursor], { env });
    expect(result.code).toBe(1);
    if (ON_POSTGRES) {
      // A backup of a PostgreSQL database is a SQLite file, whose change log counts differently:
      // to a cursor it is another database.
      expect(result.stderr).toMatch(/^error: the cursor is from another database \([0-9a-f]{32}\), not this one/m);
    } else {
      expect(result.stderr).toMatch(/^error: the cursor is from the future of this database \(customers id 2, the highest here is 1\)/m);
    }
    expect(result.stdout).toBe('');
  });

  it('after `db restore` every earlier cursor is from another database: the restored history parted from it', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    const early = exportOf(box, ['customers']).cursor;
    const backup = join(box.dir, 'backup.db');
    box.ok(['db', 'backup', backup], { env });
    customers(box, ['Bob Ray', 'bob@example.com']);
    const late = exportOf(box, ['customers']).cursor;
    // On PostgreSQL `db restore` loads into an empty database: a new one stands for the restored.
    const restored = ON_POSTGRES ? createPgDatabase('crm_restored') : undefined;
    try {
      const target = restored ? ['--db', pgUrl(restored)] : [];
      box.ok([...target, 'db', 'restore', backup, '--yes'], { env });
      for (const cursor of [early, late]) refused(box, [...target, 'customers', '--changed-since', cursor], 1, /^error: the cursor is from another database \([0-9a-f]{32}\), not this one/m);
      // A full export gives the restored database's own cursor, which works.
      const { stdout, cursor } = exportOf(box, [...target, 'customers']);
      expect(stdout).toMatch(/^Ann Lee,ann@example\.com,/m);
      expect(stdout).not.toMatch(/bob@example\.com/);
      const since = box.run(['export', ...target, 'customers', '--changed-since', cursor, '--format', 'json'], { env });
      expect(since.code).toBe(0);
      expect(JSON.parse(since.stdout)).toEqual([]);
    } finally {
      if (restored) dropPgDatabase(restored);
    }
  });

  it('--changed-since with --segment is a usage error (exit 2)', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com']);
    box.ok(['segment', 'create', 'all', '--where', 'orders >= 0'], { env });
    const { cursor } = exportOf(box, ['customers']);
    refused(box, ['customers', '--segment', 'all', '--changed-since', cursor], 2, /^error: --changed-since and --segment cannot be combined$/m);
  });
});

// `crm db optimize` prunes the change log to change_log_days (default 90): each optimize notes where
// the log stands, and a later one removes what was in it at a note older than the window. A cursor
// from before the pruned entries is refused (exit 1) rather than answered with half the changes.
describe('db optimize prunes the change log', () => {
  const at = (day: string) => ({ CRM_NOW: `${day}T09:00:00Z` });
  const optimize = (box: Sandbox, day: string) => {
    const result = box.run(['db', 'optimize'], { env: at(day) });
    expect(result.code).toBe(0);
    return /^change log: pruned (\d+) entr(?:y|ies) older than (\d+) days?$/m.exec(result.stderr);
  };
  /** The entries the log holds: PostgreSQL logs rows added too, SQLite only edits and removals. */
  const logged = (box: Sandbox) => Number(box.query<{ n: number }>('SELECT count(*) AS n FROM row_changes')[0]!.n);

  it("a fresh database's optimize prunes nothing, and says so", () => {
    const box = fresh();
    box.ok(['init'], { env });
    const result = box.run(['db', 'optimize'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^change log: pruned 0 entries older than 90 days\noptimized: .* → .*$/m);
  });

  it('entries older than the window are pruned and counted; a cursor from before them is refused, a later one gets exactly the later changes', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Bob Ray', 'bob@example.com'], ['Cy Wu', 'cy@example.com']);
    const early = exportOf(box, ['customers']).cursor;
    box.ok(['customer', 'edit', 'ann@example.com', '--city', 'Paris'], { env });
    box.ok(['customer', 'edit', 'bob@example.com', '--city', 'Rome'], { env });
    // Two edits; on PostgreSQL the three customers added are in the log too.
    const old = ON_POSTGRES ? 3 + 2 : 2;
    expect(logged(box)).toBe(old);
    // 1 June: the first optimize notes where the log stands; nothing is old enough yet.
    expect(optimize(box, '2025-06-01')?.slice(1)).toEqual(['0', '90']);
    const late = exportOf(box, ['customers']).cursor;
    box.ok(['customer', 'edit', 'cy@example.com', '--city', 'Oslo'], { env: at('2025-06-11') });
    // 30 August is 90 days after 1 June: the note is not older than the window yet.
    expect(optimize(box, '2025-08-30')?.slice(1)).toEqual(['0', '90']);
    expect(logged(box)).toBe(old + 1);
    // 31 August: what the log held on 1 June goes; Cy's edit of 11 June stays.
    expect(optimize(box, '2025-08-31')?.slice(1)).toEqual([String(old), '90']);
    expect(logged(box)).toBe(1);

    const before = box.dump();
    const out = join(box.dir, 'out.csv');
    const refused = box.run(['export', 'customers', '--changed-since', early, '--output', out], { env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /^error: the cursor is older than the change log this database keeps \(change \d+; changes up to \d+ were pruned by `crm db optimize`\)\nhint: export everything once \(crm export customers, without --changed-since\) and continue from the cursor it prints\n$/,
    );
    expect(existsSync(out)).toBe(false);
    expect(box.dump()).toBe(before);

    // The cursor taken after the pruned entries still works, as before.
    expect(pick(changesOf(box, 'customers', late).rows, ['change', 'id', 'email', 'city'])).toEqual([{ change: 'edited', id: 3, email: 'cy@example.com', city: 'Oslo' }]);
    // And a full export gives a cursor to continue from.
    const { cursor } = exportOf(box, ['customers']);
    box.ok(['customer', 'edit', 'ann@example.com', '--city', 'Lima'], { env });
    expect(pick(changesOf(box, 'customers', cursor).rows, ['change', 'id', 'city'])).toEqual([{ change: 'edited', id: 1, city: 'Lima' }]);
  });

  it('a customer removed before the prune and put back by undo after it is still reported', () => {
    const box = fresh();
    customers(box, ['Ann Lee', 'ann@example.com'], ['Bob Ray', 'bob@example.com']);
    box.ok(['customer', 'rm', 'bob@example.com', '--yes'], { env });
    optimize(box, '2025-06-01');
    optimize(box, '2025-09-01');
    const { cursor } = exportOf(box, ['customers']);
    const removal = box.query<{ id: number }>("SELECT id FROM audit_log WHERE action = 'customer.rm'")[0]!.id;
    box.ok(['undo', String(removal), '--yes'], { env });
    expect(pick(changesOf(box, 'customers', cursor).rows, ['change', 'id', 'email'])).toEqual([{ change: 'edited', id: 2, email: 'bob@example.com' }]);
  });

  it('the window is the setting change_log_days: a whole number of days, 1 or more', () => {
    const box = fresh();
    box.ok(['init'], { env });
    expect(box.ok(['config', 'get', 'change_log_days'], { env })).toBe('90\n');
    for (const value of ['0', '-3', '1.5', 'ninety', '']) {
      const before = box.dump();
      const result = box.run(['config', 'set', 'change_log_days', value], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`error: change_log_days "${value}" is not a whole number of 1 or more\n`);
      expect(box.dump()).toBe(before);
    }
    box.ok(['config', 'set', 'change_log_days', '7'], { env });
    customers(box, ['Ann Lee', 'ann@example.com']);
    box.ok(['customer', 'edit', 'ann@example.com', '--city', 'Paris'], { env });
    const old = ON_POSTGRES ? 1 + 1 : 1;
    expect(optimize(box, '2025-06-01')?.slice(1)).toEqual(['0', '7']);
    // Seven days to the hour is not older than seven days; the next day it is.
    expect(optimize(box, '2025-06-08')?.slice(1)).toEqual(['0', '7']);
    expect(optimize(box, '2025-06-09')?.slice(1)).toEqual([String(old), '7']);
  });
});

// PostgreSQL hands out ids and log numbers before commit: a transaction that commits after an
// export under a lower number must still be in the next change export. Runs whenever a test server
// is known (CRM_TEST_PG_URL); another client holds its transaction open across the export.
describe.skipIf(!PG_TEST_URL)('export cursors on PostgreSQL', () => {
  it('a copy of a pruned file into PostgreSQL starts without its horizon: the copy counts positions afresh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-test-'));
    const file = join(dir, 'crm.db');
    const database = createPgDatabase('crm_changes');
    try {
      const url = pgUrl(database);
      const on = (db: string, args: readonly string[], day = '2025-06-01') => {
        const result = runCrm(['--db', db, ...args], { env: { CRM_NOW: `${day}T09:00:00Z`, CRM_PG_UNVERIFIED: '1' } });
        if (result.code !== 0) throw new Error(`crm ${args.join(' ')} exited ${result.code}\n${result.stderr}`);
        return result;
      };
      on(file, ['customer', 'add', '--name', 'Ann Lee', '--email', 'ann@example.com']);
      for (const city of ['Paris', 'Rome', 'Oslo']) on(file, ['customer', 'edit', 'ann@example.com', '--city', city]);
      on(file, ['db', 'optimize']);
      expect(on(file, ['db', 'optimize'], '2025-09-01').stderr).toMatch(/^change log: pruned 3 entries older than 90 days$/m);
      expect(sqliteQuery(file, 'SELECT position FROM row_change_horizon')).toEqual([{ position: 3 }]);

      on(file, ['db', 'copy', '--to', url]);
      expect(pgQuery(database, 'SELECT count(*) AS n FROM crm.row_change_horizon')).toEqual([{ n: 0 }]);
      const cursor = CURSOR.exec(on(url, ['export', 'customers']).stderr)![1]!;
      on(url, ['customer', 'edit', 'ann@example.com', '--city', 'Lima']);
      const changes = on(url, ['export', 'customers', '--changed-since', cursor, '--format', 'json']);
      expect(pick(JSON.parse(changes.stdout) as Row[], ['change', 'id', 'city'])).toEqual([{ change: 'edited', id: 1, city: 'Lima' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      dropPgDatabase(database);
    }
  });

  it('a row added or edited by a transaction that commits after the export, under a lower number, is in the next change export', async () => {
    const database = createPgDatabase('crm_changes');
    const client = new pg.Client({ connectionString: pgUrl(database) });
    try {
      const url = pgUrl(database);
      const on = (args: readonly string[]) => runCrm(['--db', url, ...args], { env: { ...env, CRM_PG_UNVERIFIED: '1' } });
      expect(on(['init']).code).toBe(0);
      expect(on(['customer', 'add', '--name', 'Ann Lee', '--email', 'ann@example.com']).code).toBe(0);
      expect(on(['customer', 'add', '--name', 'Bob Ray', '--email', 'bob@example.com']).code).toBe(0);
      await client.connect();
      // The slow writer: takes customer id 3 and edits Ann, and has not committed yet.
      await client.query('BEGIN');
      await client.query("INSERT INTO crm.customers (name, email, created_at, updated_at) VALUES ('Cy Slow', 'cy@example.com', $1, $1)", [CREATED]);
      await client.query("UPDATE crm.customers SET city = 'Oslo' WHERE email = 'ann@example.com'");
      // Meanwhile crm adds customer 4 and edits Bob, and an export runs: it sees neither of the slow writer's.
      expect(on(['customer', 'add', '--name', 'Di Fast', '--email', 'di@example.com']).code).toBe(0);
      expect(on(['customer', 'edit', 'bob@example.com', '--city', 'Rome']).code).toBe(0);
      const first = on(['export', 'customers']);
      expect(first.code).toBe(0);
      expect(first.stdout).not.toMatch(/cy@example\.com|Oslo/);
      const cursor = CURSOR.exec(first.stderr)![1]!;
      await client.query('COMMIT');
      const after = on(['export', 'customers', '--changed-since', cursor, '--format', 'json']);
      expect(after.code).toBe(0);
      expect(pick(JSON.parse(after.stdout) as Row[], ['change', 'id', 'email', 'city'])).toEqual([
        { change: 'edited', id: 1, email: 'ann@example.com', city: 'Oslo' },
        { change: 'added', id: 3, email: 'cy@example.com', city: null },
      ]);
      // And nothing again after that.
      const next = CURSOR.exec(after.stderr)![1]!;
      const none = on(['export', 'customers', '--changed-since', next, '--format', 'json']);
      expect(JSON.parse(none.stdout)).toEqual([]);
      expect(CURSOR.exec(none.stderr)![1]).toBe(next);
    } finally {
      await client.end().catch(() => undefined);
      dropPgDatabase(database);
    }
  });
});
