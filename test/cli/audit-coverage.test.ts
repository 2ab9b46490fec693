// Issue 8 across the whole CLI: every command that writes records ONE audit entry whose row changes
// account for every row the command inserted, updated or deleted (side rows included), and
// `crm undo <entry> --yes` puts every table back exactly — or refuses, saying why, and changes
// nothing. One deterministic base database is built once through the CLI; each case runs on a copy.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ON_POSTGRES, PG_TEST_URL, sandbox, tableNames, type Sandbox } from '../helpers/cli.js';

const NOW = '2026-03-10T10:00:00.000Z';
const env = { CRM_NOW: NOW };
const AUDIT = new Set(['audit_log', 'audit_change', 'audit_range']);
/**
 * Tables the trail never covers: the migrator's bookkeeping, the export change log (a log like the
 * trail: an undo adds entries to it rather than removing them), and the database's identity (which a
 * restore renews, so export cursors from before it are refused).
 */
const SKIP = (table: string) => AUDIT.has(table) || table.startsWith('kysely_') || table.startsWith('row_change') || table === 'database_identity';
/** Rows of these tables are identified by their key columns, not an `id`. */
const KEYS: Record<string, string[]> = {
  config: ['key'],
  customer_tags: ['customer_id', 'tag_id'],
  customer_fields: ['customer_id', 'key'],
  activity_links: ['from_id', 'to_id', 'kind'],
};
const keyOf = (table: string, row: Record<string, unknown>) => JSON.stringify((KEYS[table] ?? ['id']).map((c) => row[c]));

type Row = Record<string, unknown>;
type Snapshot = Map<string, Map<string, Row>>;

/** The data tables of `box.dump()` (audit tables left out), for exact before/after comparison. */
function dataDump(box: Sandbox): string {
  // A table's section starts with its name: `name\nrows` on SQLite, `name:rows` on PostgreSQL.
  const sections = box.dump().split(/\n(?=[a-z_]+[\n:])/);
  return sections.filter((section) => !SKIP(/^[a-z_]+/.exec(section)![0])).join('\n');
}

/** Every data row by table and row key. */
function snapshot(box: Sandbox): Snapshot {
  const snap: Snapshot = new Map();
  for (const name of tableNames(box)) {
    if (SKIP(name)) continue;
    const rows = box.query<Row>(`SELECT * FROM "${name}"`);
    snap.set(name, new Map(rows.map((r) => [keyOf(name, r), r])));
  }
  return snap;
}

interface Change {
  table_name: string;
  row_id: number;
  op: 'insert' | 'update' | 'delete';
  before: Row | null;
  after: Row | null;
}

interface Entry {
  id: number;
  actor: string;
  command: string;
  action: string;
  entity: string;
  entity_id: number | null;
  customer_id: number | null;
  undone_by: number | null;
  undoes: number | null;
}

const maxEntry = (box: Sandbox) => box.query<{ n: number | null }>('SELECT max(id) AS n FROM audit_log')[0]!.n ?? 0;
function changesOf(box: Sandbox, logId: number): Change[] {
  return box
    .query<{ table_name: string; row_id: number; op: Change['op']; before: string | null; after: string | null }>('SELECT table_name, row_id, op, before, after FROM audit_change WHERE log_id = ? ORDER BY id', logId)
    .map((c) => ({ ...c, before: c.before === null ? null : (JSON.parse(c.before) as Row), after: c.after === null ? null : (JSON.parse(c.after) as Row) }));
}

/**
 * Checks that the entry's changes (and ranges) account exactly for the difference between two
 * snapshots: every inserted row recorded with all its values, every deleted row likewise, every
 * changed column of an updated row with its old and new value; and no change names a row that did
 * not change that way. Returns the `table:op` pairs the entry recorded, sorted.
 */
function expectChangesMatch(box: Sandbox, logId: number, before: Snapshot, after: Snapshot): string[] {
  const changes = changesOf(box, logId);
  const ranges = box.query<{ table_name: string; first_id: number; last_id: number }>('SELECT table_name, first_id, last_id FROM audit_range WHERE log_id = ?', logId);
  const recorded = new Map<string, Change[]>();
  for (const c of changes) {
    const values = c.op === 'insert' ? c.after : c.before;
    expect(values, `${c.table_name} ${c.op} #${c.row_id} carries its values`).not.toBeNull();
    // Rows with an id are named by row_id (an update may record only the columns it changed).
    const key = `${c.table_name} ${KEYS[c.table_name] ? keyOf(c.table_name, values!) : JSON.stringify([c.row_id])}`;
    recorded.set(key, [...(recorded.get(key) ?? []), c]);
  }
  const inRange = (table: string, row: Row) => ranges.some((r) => r.table_name === table && Number(row.id) >= r.first_id && Number(row.id) <= r.last_id);
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(table) ?? new Map<string, Row>();
    const now = after.get(table) ?? new Map<string, Row>();
    for (const key of new Set([...old.keys(), ...now.keys()])) {
      const was = old.get(key);
      const is = now.get(key);
      if (was && is && JSON.stringify(was) === JSON.stringify(is)) continue;
      const id = `${table} ${key}`;
      seen.add(id);
      const mine = recorded.get(id) ?? [];
      if (!was) {
        if (inRange(table, is!)) continue;
        const insert = mine.find((c) => c.op === 'insert');
        if (!insert) problems.push(`${id}: inserted, not recorded`);
        else for (const [col, value] of Object.entries(is!)) if (JSON.stringify(insert.after![col] ?? null) !== JSON.stringify(value)) problems.push(`${id}: insert records ${col}=${JSON.stringify(insert.after![col])}, row has ${JSON.stringify(value)}`);
      } else if (!is) {
        const del = mine.find((c) => c.op === 'delete');
        if (!del) problems.push(`${id}: deleted, not recorded`);
        else for (const [col, value] of Object.entries(was)) if (JSON.stringify(del.before![col] ?? null) !== JSON.stringify(value)) problems.push(`${id}: delete records ${col}=${JSON.stringify(del.before![col])}, row had ${JSON.stringify(value)}`);
      } else {
        const updates = mine.filter((c) => c.op === 'update');
        for (const col of Object.keys(is)) {
          if (JSON.stringify(was[col]) === JSON.stringify(is[col])) continue;
          const first = updates.find((c) => c.after && col in c.after);
          const last = [...updates].reverse().find((c) => c.after && col in c.after);
          if (!first) problems.push(`${id}: ${col} changed, not recorded`);
          else {
            if (JSON.stringify(first.before?.[col] ?? null) !== JSON.stringify(was[col])) problems.push(`${id}: ${col} recorded before ${JSON.stringify(first.before?.[col])}, was ${JSON.stringify(was[col])}`);
            if (JSON.stringify(last!.after![col]) !== JSON.stringify(is[col])) problems.push(`${id}: ${col} recorded after ${JSON.stringify(last!.after![col])}, is ${JSON.stringify(is[col])}`);
          }
        }
      }
    }
  }
  for (const key of recorded.keys()) if (!seen.has(key)) problems.push(`${key}: recorded, but the row did not change`);
  expect(problems).toEqual([]);
  return [...new Set([...changes.map((c) => `${c.table_name}:${c.op}`), ...ranges.map((r) => `${r.table_name}:insert`)])].sort();
}

interface Case {
  name: string;
  /** Run first on the copy, part of the state the command starts from (not checked). */
  setup?: string[][];
  args: string[];
  entry: { action: string; entity: string; entity_id: number | null; customer_id: number | null };
  /** The tables and operations the entry must record (`table:op`). */
  touches: string[];
  /** A refusal instead of an exact undo. */
  refuse?: RegExp;
  /** The command records an entry without row changes (forget): no diff check. */
  noChanges?: boolean;
  /** Also check that the entry is not undone twice and that its undo is not undone. */
  undoOnce?: boolean;
}

// Ids in the base (see beforeAll): customers 1 Ann Lee, 2 Bob Ma, 3 Ann Li (a duplicate of 1),
// 4 Cat Wu; deals 1 (Ann, proposal), 2 (Bob, won → sale 5), 3 (Ann Li); tickets 1 (Ann, open),
// 2 (Bob, open), 3 (Ann, resolved and rated), 4 (Ann Li); tasks 1 (Ann, weekly, deal 1),
// 2 (Bob), 3 (Ann, weekly, done → 4), 5 (Ann Li, ticket 4); segment "big"; RFM groups saved.
const CASES: Case[] = [
  {
    name: 'customer add with a new and an existing tag and a field',
    args: ['customer', 'add', '--name', 'Dan Ho', '--email', 'dan@example.com', '--tag', 'vip', '--tag', 'brand-new', '--field', 'plan=bronze'],
    entry: { action: 'customer.add', entity: 'customer', entity_id: 5, customer_id: 5 },
    touches: ['customer_fields:insert', 'customer_tags:insert', 'customers:insert', 'tags:insert'],
  },
  {
    name: 'customer edit: profile, tags in and out, fields set, changed and removed',
    args: ['customer', 'edit', '1', '--city', 'Beijing', '--phone', '+86 139 0000 1111', '--tag', 'gold-tier', '--untag', 'vip', '--field', 'plan=platinum', '--field', 'seats=12', '--field', 'region='],
    entry: { action: 'customer.edit', entity: 'customer', entity_id: 1, customer_id: 1 },
    touches: ['customer_fields:delete', 'customer_fields:insert', 'customer_fields:update', 'customer_tags:delete', 'customer_tags:insert', 'customers:update', 'tags:insert'],
  },
  {
    name: 'customer rm takes activities, links, deals, tickets, tasks and RFM rows along; sales stay',
    args: ['customer', 'rm', '1', '--yes'],
    entry: { action: 'customer.rm', entity: 'customer', entity_id: 1, customer_id: 1 },
    touches: [
      'activities:delete',
      'activity_links:delete',
      'customer_fields:delete',
      'customer_tags:delete',
      'customers:delete',
      'deal_stage_history:delete',
      'deals:delete',
      'sales:update',
      'segment_members:delete',
      'tasks:delete',
      'ticket_events:delete',
      'ticket_ratings:delete',
      'tickets:delete',
    ],
  },
  {
    name: 'activity add with reply and follows links',
    args: ['activity', 'add', '1', '--type', 'chat', '--summary', 'more questions', '--at', '2026-03-05', '--reply-to', '2', '--follows', '1'],
    entry: { action: 'activity.add', entity: 'activity', entity_id: 5, customer_id: 1 },
    touches: ['activities:insert', 'activity_links:insert'],
  },
  {
    name: 'config set of a key stored before',
    args: ['config', 'set', 'currency', 'EUR'],
    entry: { action: 'config.set', entity: 'config', entity_id: null, customer_id: null },
    touches: ['config:update'],
  },
  {
    name: 'config set of a key never stored',
    args: ['config', 'set', 'churn_days', '60'],
    entry: { action: 'config.set', entity: 'config', entity_id: null, customer_id: null },
    touches: ['config:insert'],
  },
  {
    name: 'sale record',
    args: ['sale', 'record', '--customer', 'bob@example.com', '--product', 'Gizmo', '--amount', '1,234.50', '--quantity', '3', '--date', '2026-03-09', '--note', 'cash'],
    entry: { action: 'sale.record', entity: 'sale', entity_id: 6, customer_id: 2 },
    touches: ['sales:insert'],
  },
  {
    name: 'sale refund',
    args: ['sale', 'refund', '1', '--amount', '20', '--reason', 'chipped', '--date', '2026-03-09'],
    entry: { action: 'sale.refund', entity: 'sale', entity_id: 6, customer_id: 1 },
    touches: ['sales:insert'],
  },
  {
    name: 'sale void',
    args: ['sale', 'void', '1', '--reason', 'returned'],
    entry: { action: 'sale.void', entity: 'sale', entity_id: 1, customer_id: 1 },
    touches: ['sales:update'],
    undoOnce: true,
  },
  {
    name: 'deal add',
    args: ['deal', 'add', '--customer', '2', '--title', 'Upsell', '--value', '450', '--stage', 'qualified', '--close-date', '2026-04-01'],
    entry: { action: 'deal.add', entity: 'deal', entity_id: 4, customer_id: 2 },
    touches: ['deal_stage_history:insert', 'deals:insert'],
  },
  {
    name: 'deal move to won records its sale',
    args: ['deal', 'move', '1', 'won'],
    entry: { action: 'deal.move', entity: 'deal', entity_id: 1, customer_id: 1 },
    touches: ['deal_stage_history:insert', 'deals:update', 'sales:insert'],
  },
  {
    name: 'deal reopened from won voids its sale',
    args: ['deal', 'move', '2', 'negotiation', '--reopen', '--reason', 'price changed'],
    entry: { action: 'deal.move', entity: 'deal', entity_id: 2, customer_id: 2 },
    touches: ['deal_stage_history:insert', 'deals:update', 'sales:update'],
  },
  {
    name: 'deal move to lost',
    args: ['deal', 'move', '1', 'lost', '--reason', 'budget'],
    entry: { action: 'deal.move', entity: 'deal', entity_id: 1, customer_id: 1 },
    touches: ['deal_stage_history:insert', 'deals:update'],
  },
  {
    name: 'ticket open',
    args: ['ticket', 'open', '--customer', '2', '--subject', 'Invoice wrong', '--priority', 'urgent', '--kind', 'complaint', '--description', 'twice'],
    entry: { action: 'ticket.open', entity: 'ticket', entity_id: 5, customer_id: 2 },
    touches: ['ticket_events:insert', 'tickets:insert'],
  },
  {
    name: 'ticket update: status, priority, assignee and a comment',
    args: ['ticket', 'update', '1', '--status', 'pending', '--priority', 'low', '--assignee', 'mei', '--comment', 'waiting on the customer'],
    entry: { action: 'ticket.update', entity: 'ticket', entity_id: 1, customer_id: 1 },
    touches: ['ticket_events:insert', 'tickets:update'],
  },
  {
    name: 'ticket resolve',
    args: ['ticket', 'resolve', '1', '--solution', 'replaced the part'],
    entry: { action: 'ticket.resolve', entity: 'ticket', entity_id: 1, customer_id: 1 },
    touches: ['ticket_events:insert', 'tickets:update'],
  },
  {
    name: 'ticket rate again supersedes the earlier rating',
    args: ['ticket', 'rate', '3', '--score', '2', '--comment', 'slow'],
    entry: { action: 'ticket.rate', entity: 'ticket', entity_id: 3, customer_id: 1 },
    touches: ['ticket_ratings:insert', 'ticket_ratings:update'],
  },
  {
    name: 'segment create',
    args: ['segment', 'create', 'shanghai', '--where', 'city = "Shanghai"', '--description', 'local'],
    entry: { action: 'segment.create', entity: 'segment', entity_id: 2, customer_id: null },
    touches: ['segments:insert'],
  },
  {
    name: 'segment rm',
    args: ['segment', 'rm', 'big'],
    entry: { action: 'segment.rm', entity: 'segment', entity_id: 1, customer_id: null },
    touches: ['segments:delete'],
  },
  {
    name: 'segment rfm --save replaces the stored snapshot',
    setup: [['sale', 'record', '--customer', '4', '--product', 'Thing', '--amount', '900', '--date', '2026-03-09']],
    args: ['segment', 'rfm', '--save'],
    entry: { action: 'segment.rfm.save', entity: 'segment', entity_id: null, customer_id: null },
    touches: ['segment_members:delete', 'segment_members:insert'],
  },
  {
    name: 'task add',
    args: ['task', 'add', '2', '--title', 'Ship sample', '--due', '2026-03-20', '--priority', 'high', '--assignee', 'mei', '--every', '1m'],
    entry: { action: 'task.add', entity: 'task', entity_id: 7, customer_id: 2 },
    touches: ['tasks:insert'],
  },
  {
    name: 'task add --tag for several customers',
    args: ['task', 'add', '--tag', 'vip', '--title', 'Invite to event', '--due', '2026-03-25'],
    entry: { action: 'task.add', entity: 'task', entity_id: null, customer_id: null },
    touches: ['tasks:insert'],
  },
  {
    name: 'task done records the activity and the next occurrence',
    args: ['task', 'done', '1', '--note', 'spoke to her'],
    entry: { action: 'task.done', entity: 'task', entity_id: 1, customer_id: 1 },
    touches: ['activities:insert', 'tasks:insert', 'tasks:update'],
  },
  {
    name: 'task edit',
    args: ['task', 'edit', '2', '--title', 'Send the quote', '--due', '2026-03-16', '--assignee', 'li', '--every', '2w'],
    entry: { action: 'task.edit', entity: 'task', entity_id: 2, customer_id: 2 },
    touches: ['tasks:update'],
  },
  {
    name: 'task rm of a task with a later occurrence',
    args: ['task', 'rm', '3', '--yes'],
    entry: { action: 'task.rm', entity: 'task', entity_id: 3, customer_id: 1 },
    touches: ['tasks:delete', 'tasks:update'],
  },
  {
    name: 'customer merge',
    args: ['customer', 'merge', '1', '3', '--yes'],
    entry: { action: 'customer.merge', entity: 'customer', entity_id: 1, customer_id: 1 },
    touches: [
      'activities:update',
      'customer_fields:delete',
      'customer_fields:insert',
      'customer_tags:delete',
      'customer_tags:insert',
      'customers:delete',
      'customers:update',
      'deals:update',
      'sales:update',
      'segment_members:delete',
      'tasks:update',
      'tickets:update',
    ],
  },
  {
    name: 'customer merge filling empty profile fields',
    args: ['customer', 'merge', '4', '2', '--yes'],
    entry: { action: 'customer.merge', entity: 'customer', entity_id: 4, customer_id: 4 },
    touches: [
      'customer_tags:delete',
      'customer_tags:insert',
      'customers:delete',
      'customers:update',
      'deals:update',
      'sales:update',
      'segment_members:delete',
      'tasks:update',
      'tickets:update',
    ],
  },
  {
    name: 'customer forget is deliberately irreversible',
    args: ['customer', 'forget', '4', '--yes'],
    entry: { action: 'customer.forget', entity: 'customer', entity_id: 4, customer_id: null },
    touches: [],
    noChanges: true,
    refuse: /^error: cannot undo entry \d+ \(customer\.forget\): erased personal data cannot be brought back: forgetting a customer is irreversible by design$/m,
  },
];

describe('every writing command is audited and undone exactly', () => {
  let base: Sandbox;
  // On PostgreSQL the database sets the actor: the session's user (issue 15), not the OS user.
  const user = ON_POSTGRES ? new URL(PG_TEST_URL!).username : userInfo().username;

  beforeAll(() => {
    base = sandbox();
    const ok = (...args: string[]) => base.ok(args, { env });
    ok('config', 'set', 'currency', 'USD');
    ok('customer', 'add', '--name', 'Ann Lee', '--email', 'ann@example.com', '--city', 'Shanghai', '--age', '30', '--tag', 'vip', '--field', 'plan=gold', '--field', 'region=north');
    ok('customer', 'add', '--name', 'Bob Ma', '--email', 'bob@example.com', '--phone', '138 0013 8000', '--city', 'Hangzhou', '--company', 'Ma & Co', '--tag', 'lead');
    ok('customer', 'add', '--name', 'Ann Li', '--email', 'annli@example.com', '--phone', '+86 137 0000 2222', '--city', 'Shanghai', '--tag', 'vip', '--tag', 'newsletter', '--field', 'plan=silver', '--field', 'seats=3');
    ok('customer', 'add', '--name', 'Cat Wu', '--email', 'cat@example.com');
    ok('activity', 'add', '1', '--type', 'call', '--summary', 'first call', '--at', '2026-03-01', '--direction', 'out');
    ok('activity', 'add', '1', '--type', 'email', '--summary', 'follow-up', '--at', '2026-03-02', '--reply-to', '1');
    ok('activity', 'add', '3', '--type', 'note', '--summary', 'met at fair', '--at', '2026-03-03');
    ok('sale', 'record', '--customer', '1', '--product', 'Widget', '--amount', '120', '--date', '2026-02-01');
    ok('sale', 'record', '--customer', '2', '--product', 'Gadget', '--amount', '80', '--date', '2026-02-15');
    ok('sale', 'record', '--customer', '3', '--product', 'Widget', '--amount', '50', '--date', '2026-01-10');
    ok('sale', 'record', '--customer', '4', '--product', 'Thing', '--amount', '10', '--date', '2026-01-12');
    ok('deal', 'add', '--customer', '1', '--title', 'Big order', '--value', '1000', '--stage', 'proposal');
    ok('deal', 'add', '--customer', '2', '--title', 'Renewal', '--value', '300');
    ok('deal', 'move', '2', 'won');
    ok('deal', 'add', '--customer', '3', '--title', 'Small order', '--value', '50');
    ok('ticket', 'open', '--customer', '1', '--subject', 'Broken part', '--priority', 'high');
    ok('ticket', 'open', '--customer', '2', '--subject', 'How to pay');
    ok('ticket', 'open', '--customer', '1', '--subject', 'Late delivery', '--kind', 'complaint');
    ok('ticket', 'resolve', '3', '--solution', 'sent again');
    ok('ticket', 'rate', '3', '--score', '4');
    ok('ticket', 'open', '--customer', '3', '--subject', 'Login fails', '--kind', 'problem');
    ok('segment', 'create', 'big', '--where', 'total_spent > 100');
    ok('segment', 'rfm', '--save');
    ok('task', 'add', '1', '--title', 'Call back', '--due', '2026-03-12', '--every', '1w', '--deal', '1');
    ok('task', 'add', '2', '--title', 'Send quote', '--due', '2026-03-15');
    ok('task', 'add', '1', '--title', 'Weekly check', '--due', '2026-03-05', '--every', '1w');
    ok('task', 'done', '3');
    ok('task', 'add', '3', '--title', 'Fix login', '--due', '2026-03-20', '--ticket', '4');
    ok('task', 'add', '2', '--title', 'Renewal call', '--due', '2026-03-21', '--deal', '2');
    // The ids the cases rely on.
    expect(base.query('SELECT id, name FROM customers ORDER BY id').map((r) => r.name)).toEqual(['Ann Lee', 'Bob Ma', 'Ann Li', 'Cat Wu']);
    expect(base.query('SELECT id, customer_id, recurred_from FROM tasks ORDER BY id')).toEqual([
      { id: 1, customer_id: 1, recurred_from: null },
      { id: 2, customer_id: 2, recurred_from: null },
      { id: 3, customer_id: 1, recurred_from: null },
      { id: 4, customer_id: 1, recurred_from: 3 },
      { id: 5, customer_id: 3, recurred_from: null },
      { id: 6, customer_id: 2, recurred_from: null },
    ]);
    expect(base.query('SELECT id, won_sale_id FROM deals ORDER BY id')).toEqual([
      { id: 1, won_sale_id: null },
      { id: 2, won_sale_id: 5 },
      { id: 3, won_sale_id: null },
    ]);
    expect(base.query<{ n: number }>('SELECT count(*) AS n FROM segment_members')[0]!.n).toBeGreaterThan(0);
  });
  afterAll(() => base.cleanup());

  const copyOfBase = (): Sandbox => base.clone();

  for (const c of CASES) {
    it(c.name, () => {
      const box = copyOfBase();
      try {
        for (const step of c.setup ?? []) box.ok(step, { env });
        const lastBefore = maxEntry(box);
        const dumpBefore = dataDump(box);
        const before = snapshot(box);

        box.ok(c.args, { env });
        const entries = box.query<Entry>('SELECT * FROM audit_log WHERE id > ? ORDER BY id', lastBefore);
        expect(entries, 'exactly one audit entry').toHaveLength(1);
        const entry = entries[0]!;
        expect({ action: entry.action, entity: entry.entity, entity_id: entry.entity_id, customer_id: entry.customer_id }).toEqual(c.entry);
        expect(entry.actor).toBe(user);
        expect(entry.command.startsWith(`crm --db ${box.dbPath} ${c.args[0]} ${c.args[1]}`)).toBe(true);
        const after = snapshot(box);
        if (c.noChanges) expect(changesOf(box, entry.id)).toEqual([]);
        else expect(expectChangesMatch(box, entry.id, before, after)).toEqual(c.touches);

        const dumpAfter = dataDump(box);
        const undo = box.run(['undo', String(entry.id), '--yes'], { env });
        if (c.refuse) {
          expect(undo.code).toBe(1);
          expect(undo.stderr).toMatch(c.refuse);
          expect(dataDump(box)).toBe(dumpAfter);
          expect(maxEntry(box)).toBe(entry.id);
          return;
        }
        expect(undo.stderr).toMatch(new RegExp(`^undid entry ${entry.id} \\(${entry.action.replace(/\./g, '\\.')}\\)`));
        expect(undo.code).toBe(0);
        expect(dataDump(box)).toBe(dumpBefore);
        const [undoEntry] = box.query<Entry>('SELECT * FROM audit_log WHERE undoes = ?', entry.id);
        expect(box.query<Entry>('SELECT undone_by FROM audit_log WHERE id = ?', entry.id)[0]!.undone_by).toBe(undoEntry!.id);
        expect(undoEntry).toMatchObject({ action: 'undo', entity: c.entry.entity, actor: user });
        if (c.undoOnce) {
          const again = box.run(['undo', String(entry.id), '--yes'], { env });
          expect([again.code, again.stderr]).toEqual([1, `error: cannot undo entry ${entry.id} (${entry.action}): it was already undone by entry ${undoEntry!.id}\n`]);
          const back = box.run(['undo', String(undoEntry!.id), '--yes'], { env });
          expect([back.code, back.stderr]).toEqual([1, `error: cannot undo entry ${undoEntry!.id} (undo): it is itself the undo of entry ${entry.id}\nhint: run the original command again instead\n`]);
          expect(dataDump(box)).toBe(dumpBefore);
        }
      } finally {
        box.cleanup();
      }
    });
  }

  // SQLite only: on PostgreSQL `db restore` loads only into an empty database and replaces no file (db-copy.test.ts covers it there).
  it.skipIf(ON_POSTGRES)('db restore notes itself in the restored file\'s trail; undo refuses it and names the way back', () => {
    const box = copyOfBase();
    try {
      const file = `${box.dir}/monday.db`;
      box.ok(['db', 'backup', file], { env });
      const atBackup = dataDump(box);
      const lastAtBackup = maxEntry(box);
      box.ok(['customer', 'add', '--name', 'Eve Xu'], { env });
      box.ok(['db', 'restore', file, '--yes'], { env });
      expect(dataDump(box)).toBe(atBackup);
      const entries = box.query<Entry & { summary: string }>('SELECT * FROM audit_log WHERE id > ?', lastAtBackup);
      expect(entries).toHaveLength(1);
      const kept = `${box.dir}/backups/crm-before-restore-20260310-100000.db`;
      expect(entries[0]).toMatchObject({ action: 'db.restore', entity: 'database', entity_id: null, customer_id: null, actor: user, summary: `restored from ${file}; the replaced file is ${kept}` });
      expect(existsSync(kept)).toBe(true);
      const undo = box.run(['undo', String(entries[0]!.id), '--yes'], { env });
      expect([undo.code, undo.stderr]).toEqual([
        1,
        `error: cannot undo entry ${entries[0]!.id} (db.restore): a restore replaced the whole database file, it has no row changes to reverse\nhint: restore the replaced file named in the entry with \`crm db restore FILE\`\n`,
      ]);
      expect(dataDump(box)).toBe(atBackup);
    } finally {
      box.cleanup();
    }
  });

  it('an undo that would put back rows referring to a forgotten customer is refused at commit, changing nothing', () => {
    const box = copyOfBase();
    try {
      box.ok(['segment', 'rfm', '--save'], { env }); // replaces a snapshot that scored Cat Wu (#4)
      const save = maxEntry(box);
      box.ok(['customer', 'forget', '4', '--yes'], { env });
      const dump = dataDump(box);
      const refused = box.run(['undo', String(save), '--yes'], { env });
      expect([refused.code, refused.stderr]).toEqual([
        1,
        `error: cannot undo entry ${save} (segment.rfm.save): rows it would put back refer to rows that no longer exist (removed or erased since)\n`,
      ]);
      expect(dataDump(box)).toBe(dump);
      expect(maxEntry(box)).toBe(save + 1);
    } finally {
      box.cleanup();
    }
  });

  it('a later change to the same rows blocks the undo of an earlier one, saying which', () => {
    const box = copyOfBase();
    try {
      box.ok(['customer', 'edit', '2', '--city', 'Ningbo'], { env });
      const edit = maxEntry(box);
      box.ok(['customer', 'edit', '2', '--city', 'Suzhou'], { env });
      const dump = dataDump(box);
      const refused = box.run(['undo', String(edit), '--yes'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^error: cannot undo entry ${edit} \\(customer\\.edit\\): later entry ${edit + 1} \\(customer\\.edit\\) changed customers #2$`, 'm'));
      expect(dataDump(box)).toBe(dump);
    } finally {
      box.cleanup();
    }
  });
});
