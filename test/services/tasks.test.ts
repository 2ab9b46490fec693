// The task service on a fresh migrated database: adding for a given set of customers (what
// `task add --segment` will pass in), skipping those who already have the task, and auditing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import type { DB } from '../../src/db/schema.js';
import { dateOnlyDue, parseInterval } from '../../src/domain/tasks.js';
import { addCustomer } from '../../src/services/customers.js';
import { addTasks, listTasks } from '../../src/services/tasks.js';
import { listCustomers } from '../../src/services/customer-list.js';
import { readerOf } from '../../src/db/dialect.js';
import { notContactedCutoff } from '../../src/domain/tasks.js';

const meta = (at: string) => ({ now: new Date(at), actor: { user: 'test', command: 'crm test' } });

describe('addTasks for a set of customers', () => {
  let dir: string;
  let db: Kysely<DB>;

  // Each test has its own database with customers A, B and C, so it passes alone.
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-tasks-'));
    db = await openDatabase(join(dir, 'crm.db'));
    for (const name of ['A', 'B', 'C']) await addCustomer(db, { name }, meta('2025-01-01T12:00:00Z'));
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds one task per customer in one audited entry, then skips those who have it open', async () => {
    const first = await addTasks(
      db,
      { target: { customerIds: [3, 1, 1], label: 'in segment quiet' }, when: { due: dateOnlyDue('2025-06-10') }, title: 'Call' },
      meta('2025-06-04T09:00:00Z'),
    );
    expect(first.tasks.map((t) => [t.customerId, t.due.dueAt])).toEqual([
      [1, '2025-06-10T00:00:00.000Z'],
      [3, '2025-06-10T00:00:00.000Z'],
    ]);
    const log = await db.selectFrom('audit_log').selectAll().where('action', '=', 'task.add').execute();
    expect(log).toHaveLength(1);
    expect(log[0]!.summary).toBe('"Call" for 2 customers in segment quiet');

    const second = await addTasks(
      db,
      { target: { customerIds: [1, 2, 3], label: 'in segment quiet' }, when: { afterLastContact: parseInterval('30d') }, title: 'Call' },
      meta('2025-06-04T09:00:00Z'),
    );
    expect(second.skipped).toBe(2);
    // B was added on 2025-01-01 and never contacted: due 30 days later.
    expect(second.tasks.map((t) => [t.customerId, t.due.dueAt])).toEqual([[2, '2025-01-31T00:00:00.000Z']]);
    expect(await db.selectFrom('audit_log').select('id').where('action', '=', 'task.add').execute()).toHaveLength(2);

    const none = await addTasks(db, { target: { customerIds: [], label: 'in segment empty' }, when: { due: dateOnlyDue('2025-06-10') }, title: 'Call' }, meta('2025-06-04T09:00:00Z'));
    expect(none).toEqual({ tasks: [], skipped: 0 });
    expect(await db.selectFrom('audit_log').select('id').where('action', '=', 'task.add').execute()).toHaveLength(2);
  });

  it('lists and finds quiet customers with an injected clock', async () => {
    await addTasks(db, { target: { customerIds: [3, 1], label: 'in segment quiet' }, when: { due: dateOnlyDue('2025-06-10') }, title: 'Call' }, meta('2025-06-04T09:00:00Z'));
    // B was added on 2025-01-01 and never contacted: due 30 days later, so first.
    await addTasks(db, { target: { customerIds: [2], label: 'in segment quiet' }, when: { afterLastContact: parseInterval('30d') }, title: 'Call' }, meta('2025-06-04T09:00:00Z'));
    expect((await listTasks(db, { status: 'open' }, new Date('2025-06-04T09:00:00Z'))).map((t) => t.customerId)).toEqual([2, 1, 3]);
    const quiet = async (now: string) => [...((await listCustomers(readerOf(db), { quietSince: notContactedCutoff(parseInterval('30d'), new Date(now)) })) as Iterable<{ id: number }>)].map((c) => c.id);
    expect(await quiet('2025-06-04T09:00:00Z')).toEqual([1, 2, 3]);
    expect(await quiet('2025-01-20T09:00:00Z')).toEqual([]);
  });
});
