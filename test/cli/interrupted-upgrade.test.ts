// An interrupted `crm init` or schema upgrade never bricks a database: killed with SIGKILL at any
// moment, the file holds either the old schema or the new one (never half of it), and the next
// command simply works.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ON_POSTGRES, runCrm, sandbox, spawnCrm, type Sandbox } from '../helpers/cli.js';
import { asBeforeIdsMigration, IDS_MIGRATION } from '../helpers/legacy-schema.js';
import { migrations } from '../../migrations/index.js';

const env = { CRM_NOW: '2025-06-01T09:00:00Z' };
const MIGRATIONS = Object.keys(migrations).sort();
afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

/**
 * Runs crm with the (CRM_DEBUG-only) hook that stops inside the upgrade transaction after the
 * named migration, and kills it with SIGKILL there.
 */
async function killAfterMigration(dbPath: string, name: string, args: string[]): Promise<void> {
  const child = spawnCrm(['--db', dbPath, ...args], { env: { ...env, CRM_DEBUG: '1', CRM_DEBUG_PAUSE_AFTER_MIGRATION: name } });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes(`paused after migration ${name}`)) resolve();
    });
    child.on('close', (code) => reject(new Error(`crm ended (${code}) before pausing: ${stderr}`)));
  });
  const ended = new Promise((resolve) => child.on('close', resolve));
  child.kill('SIGKILL');
  await ended;
}

async function killAfter(dbPath: string, ms: number, args: string[]): Promise<void> {
  const child = spawnCrm(['--db', dbPath, ...args], { env });
  const ended = new Promise((resolve) => child.on('close', resolve));
  await new Promise((resolve) => setTimeout(resolve, ms));
  child.kill('SIGKILL');
  await ended;
}

function expectWorking(box: Sandbox): void {
  const added = box.run(['customer', 'add', '--name', 'After The Crash'], { env });
  expect(added.stderr).toMatch(/^added customer #\d+ After The Crash\n$/);
  expect(added.code).toBe(0);
  const status = JSON.parse(box.ok(['db', 'status', '--format', 'json'])) as { database: { migrations_pending: string; migrations_applied: number } };
  expect(status.database).toMatchObject({ migrations_pending: 'none', migrations_applied: MIGRATIONS.length });
  // No draft of the interrupted creation is left beside the database.
  expect(readdirSync(box.dir).filter((f) => !/^crm\.db(-wal|-shm)?$/.test(f))).toEqual([]);
}

describe('crm init killed while creating the database', () => {
  let box: Sandbox;
  afterEach(() => box.cleanup());

  for (const name of [MIGRATIONS[0]!, MIGRATIONS[Math.floor(MIGRATIONS.length / 2)]!, MIGRATIONS.at(-1)!]) {
    it(`after migration ${name}: no half-made database is left, and the next command works`, async () => {
      box = sandbox();
      await killAfterMigration(box.dbPath, name, ['init']);
      expect(readdirSync(box.dir).filter((f) => f.startsWith('crm.db'))).toEqual([]);
      expectWorking(box);
    });
  }

  it('at several moments: the next command works every time', async () => {
    box = sandbox();
    for (const ms of [30, 120, 250, 400, 600, 900]) {
      const dbPath = join(box.dir, `crm-${ms}.db`);
      await killAfter(dbPath, ms, ['init']);
      const result = runCrm(['--db', dbPath, 'customer', 'add', '--name', 'After The Crash'], { env, cwd: box.dir });
      expect(result.stderr, `killed after ${ms} ms`).toMatch(/^added customer #1 After The Crash\n$/);
      expect(result.code).toBe(0);
    }
    expect(readdirSync(box.dir).filter((f) => f.endsWith('.new') || f.includes('.new-'))).toEqual([]);
  });
});

// Kills crm mid-migration and reads the SQLite file it left; that file-level interruption is SQLite's.
describe.skipIf(ON_POSTGRES)('an upgrade of a database with data, killed inside the migration', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
    box.ok(['customer', 'add', '--name', 'Li Wei', '--email', 'li@example.com'], { env });
    box.ok(['sale', 'record', '--customer', 'li@example.com', '--amount', '12.50', '--product', 'Tea set'], { env });
    asBeforeIdsMigration(box.dbPath);
  });
  afterAll(() => box.cleanup());

  it('leaves the old schema and every row as they were; the next command upgrades and works', async () => {
    const before = box.dump();
    const schema = () => box.query("SELECT name, sql FROM sqlite_master ORDER BY name");
    const schemaBefore = schema();
    await killAfterMigration(box.dbPath, IDS_MIGRATION, ['customer', 'list']);
    expect(box.dump()).toBe(before);
    expect(schema()).toEqual(schemaBefore);
    expect(box.query('SELECT name FROM kysely_migration WHERE name = ?', IDS_MIGRATION)).toEqual([]);
    const list = box.run(['customer', 'list', '--format', 'csv'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^1,Li Wei,li@example\.com,/m);
    expect(box.query('SELECT name FROM kysely_migration WHERE name = ?', IDS_MIGRATION)).toHaveLength(1);
    expect(box.query("SELECT sql FROM sqlite_master WHERE name = 'sales'")).toEqual([{ sql: expect.stringMatching(/id INTEGER PRIMARY KEY AUTOINCREMENT/) }]);
    expectWorking(box);
  });
});

describe('two crm processes creating the same database at once', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.cleanup());

  it('both succeed, on one database', async () => {
    const run = (name: string) =>
      new Promise<number>((resolve) => {
        const child = spawnCrm(['--db', box.dbPath, 'customer', 'add', '--name', name], { env });
        child.on('close', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run('First'), run('Second'), run('Third')])).toEqual([0, 0, 0]);
    expect(box.query<{ name: string }>('SELECT name FROM customers ORDER BY name').map((r) => r.name)).toEqual(['First', 'Second', 'Third']);
    expect(readdirSync(box.dir).filter((f) => !/^crm\.db(-wal|-shm)?$/.test(f))).toEqual([]);
  });
});
