// Ids are never reused: after the newest record of a kind is removed, the next one gets a new id,
// so the audit trail and `customer export-data` never mix two people or two records.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sandbox, type Sandbox, ON_POSTGRES } from '../helpers/cli.js';
import { asBeforeIdsMigration, ID_TABLES, IDS_MIGRATION } from '../helpers/legacy-schema.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
// These tests run crm synchronously, many times; a turn of the event loop after each lets the
// test runner's messages through, which it times out on after a minute of blocking.
afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

interface Entry {
  id: number;
  action: string;
  entity_id: number | null;
  summary: string;
}

/** Every row of every table of crm's (not the migration bookkeeping), keyed by table. */
function dataRows(box: Sandbox): Record<string, unknown[]> {
  const tables = box.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'kysely%' ORDER BY name");
  return Object.fromEntries(tables.map(({ name }) => [name, box.query(`SELECT * FROM "${name}" ORDER BY 1`)]));
}

function lastEntry(box: Sandbox): Entry {
  return JSON.parse(box.ok(['audit', 'list', '--format', 'json', '--limit', '1'], { env }))[0] as Entry;
}

describe('ids after the newest record is removed', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Owner', '--email', 'owner@example.com'], { env });
  });
  afterAll(() => box.cleanup());

  // Each kind: the command that adds one (given a label), and the table it lands in.
  const kinds: Array<[string, string, (label: string) => string[]]> = [
    ['customer', 'customers', (l) => ['customer', 'add', '--name', l]],
    ['activity', 'activities', (l) => ['activity', 'add', 'owner@example.com', '--type', 'note', '--summary', l]],
    ['sale', 'sales', (l) => ['sale', 'record', '--customer', 'owner@example.com', '--amount', '5', '--product', l]],
    ['deal', 'deals', (l) => ['deal', 'add', '--customer', 'owner@example.com', '--title', l, '--value', '100']],
    ['ticket', 'tickets', (l) => ['ticket', 'open', '--customer', 'owner@example.com', '--subject', l]],
    ['task', 'tasks', (l) => ['task', 'add', 'owner@example.com', '--title', l, '--due', '2025-07-01']],
    ['segment', 'segments', (l) => ['segment', 'create', l, '--where', 'city = "Nowhere"']],
  ];

  for (const [kind, table, add] of kinds) {
    it(`a new ${kind} does not take the id of the ${kind} removed before it`, () => {
      box.ok(add(`${kind}-first`), { env });
      box.ok(add(`${kind}-second`), { env });
      const second = lastEntry(box);
      // Undoing the add removes the newest row of the table.
      box.ok(['undo', String(second.id), '--yes'], { env });
      expect(box.query(`SELECT id FROM ${table} WHERE id = ?`, second.entity_id)).toEqual([]);
      box.ok(add(`${kind}-third`), { env });
      const third = lastEntry(box);
      expect(third.entity_id).toBe(second.entity_id! + 1);
      // The audit entries, too, keep counting: the undo took the id after the second add.
      expect(third.id).toBe(second.id + 2);
    });
  }
});

describe('a person added after the newest customer was removed', () => {
  // Each test adds and removes Bob on a database of its own.
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box?.cleanup());

  function addBobAndRemoveHim(): number {
    box.ok(['customer', 'add', '--name', 'Ann Early', '--email', 'ann@example.com'], { env });
    const bob = Number(box.ok(['customer', 'add', '--name', 'Bob Gone', '--email', 'bob@example.com'], { env }).trim());
    box.ok(['activity', 'add', String(bob), '--type', 'call', '--summary', 'Bob asked about oolong'], { env });
    box.ok(['sale', 'record', '--customer', String(bob), '--amount', '42', '--product', 'Oolong for Bob'], { env });
    box.ok(['customer', 'rm', String(bob), '--yes'], { env });
    return bob;
  }

  function expectCarolAlone(bob: number): void {
    const carol = Number(box.ok(['customer', 'add', '--name', 'Carol New', '--email', 'carol@example.com'], { env }).trim());
    expect(carol).toBeGreaterThan(bob);
    const data = box.ok(['customer', 'export-data', String(carol)], { env });
    expect(data).toContain('Carol New');
    expect(data).not.toMatch(/Bob/);
    const trail = JSON.parse(box.ok(['audit', 'list', '--customer', String(carol), '--format', 'json'], { env })) as Entry[];
    expect(trail.map((e) => e.action)).toEqual(['customer.add']);
    expect(JSON.stringify(trail)).not.toMatch(/Bob/);
    // Bob's trail is still his alone.
    const bobs = box.query<{ summary: string }>('SELECT summary FROM audit_log WHERE customer_id = ? ORDER BY id', bob);
    expect(bobs.length).toBeGreaterThanOrEqual(3);
    expect(bobs.map((e) => e.summary).join(' ')).not.toMatch(/Carol/);
  }

  it('gets a new id: export-data and audit list --customer show only her', () => {
    const bob = addBobAndRemoveHim();
    expectCarolAlone(bob);
  });

  // SQLite only: an older crm's database is a SQLite file (test/helpers/legacy-schema.ts); crm never ran on PostgreSQL before its ids were kept.
  it.skipIf(ON_POSTGRES)('gets a new id in a database upgraded from an older crm, where Bob was removed before the upgrade', () => {
    const bob = addBobAndRemoveHim();
    asBeforeIdsMigration(box.dbPath);
    expect(box.query("SELECT sql FROM sqlite_master WHERE name = 'customers'")).toEqual([{ sql: expect.not.stringMatching(/AUTOINCREMENT/) }]);
    const schema = () => box.query<{ sql: string | null }>("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY type, name");
    const before = schema();
    const rows = dataRows(box);
    expect(box.run(['db', 'migrate'], { env })).toMatchObject({ code: 0, stderr: `applied 1 migration: ${IDS_MIGRATION}\n` });
    // Every row came through the rebuild unchanged.
    expect(dataRows(box)).toEqual(rows);
    // The schema is the same but for AUTOINCREMENT: same tables, columns, indexes and triggers.
    // (Tables created with AUTOINCREMENT by later migrations had it before the upgrade already.)
    const after = schema();
    const nameOf = (r: { sql: string | null }) => (r as { name?: string }).name;
    const hadIt = new Set(before.filter((r) => r.sql?.includes('AUTOINCREMENT')).map(nameOf));
    expect(after.map((r) => ({ ...r, sql: hadIt.has(nameOf(r)) ? r.sql : (r.sql?.replace(/ AUTOINCREMENT/, '') ?? null) }))).toEqual(before);
    expect(after.filter((r) => r.sql?.includes('AUTOINCREMENT') && !hadIt.has(nameOf(r))).map(nameOf).sort()).toEqual([...ID_TABLES].sort());
    expect(box.query('PRAGMA foreign_key_check')).toEqual([]);
    expect(box.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expectCarolAlone(bob);
  });
});
