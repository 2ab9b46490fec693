// `crm --db postgres://…` against a real PostgreSQL server (scripts/pg-test-server.sh; .ci/run
// always starts one): init and db status, the schema the SQLite migrations build there, and each
// way a connection can fail — one `error:` line, exit 1, no hang, nothing written.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, dropPgDatabase, PG_TEST_URL, pgDump, pgQuery, pgUrl, runCrm, type RunOptions } from '../helpers/cli.js';

const SKIP_REASON = 'needs a PostgreSQL test server: eval "$(scripts/pg-test-server.sh start)" sets CRM_TEST_PG_URL';
const password = process.env.PGPASSWORD ?? '';

// The newest migration, from the migration files themselves.
const migrationNames = readdirSync(new URL('../../migrations/', import.meta.url))
  .filter((name) => /^\d{8}_.*\.ts$/.test(name))
  .map((name) => name.replace(/\.ts$/, ''))
  .sort();
const newestMigration = migrationNames.at(-1);

describe.skipIf(!PG_TEST_URL)(`PostgreSQL backend (${PG_TEST_URL ? 'server given' : SKIP_REASON})`, () => {
  const databases: string[] = [];
  const dirs: string[] = [];
  const fresh = () => {
    const name = createPgDatabase('crm_pgtest');
    databases.push(name);
    return name;
  };
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-pg-'));
    dirs.push(dir);
    return dir;
  };
  const crm = (url: string, args: string[], options: RunOptions = {}) => runCrm(['--db', url, ...args], { cwd: tempDir(), ...options });
  const dumpOf = pgDump;

  // The tests block on child processes: let the worker answer the runner between them.
  afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));
  afterAll(() => {
    for (const name of databases) dropPgDatabase(name);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('init and db status', () => {
    let database: string;
    let url: string;
    beforeAll(() => {
      database = fresh();
      url = pgUrl(database);
    });

    it('init creates the tables in the schema crm and prints the URL it used, without a password', () => {
      // An ERP's table of the same name in public must stay as it is.
      pgQuery(database, 'CREATE TABLE public.customers (erp_id integer)');
      pgQuery(database, 'INSERT INTO public.customers VALUES (42)');
      const result = crm(url, ['init']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const { port } = new URL(PG_TEST_URL!);
      expect(result.stdout).toBe(`postgres://crmtest@127.0.0.1:${port}/${database}\n`);
      const tables = pgQuery<{ t: string }>(database, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'crm' ORDER BY 1`).map((r) => r.t);
      expect(tables).toContain('customers');
      expect(tables).toContain('kysely_migration');
      expect(pgQuery(database, 'SELECT * FROM public.customers')).toEqual([{ erp_id: 42 }]);
      expect(pgQuery<{ t: string }>(database, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`)).toEqual([{ t: 'customers' }]);
    });

    it('db status names the backend, the server version and the schema version', () => {
      crm(url, ['init']);
      const doc = JSON.parse(crm(url, ['db', 'status', '--format', 'json']).stdout);
      const version = pgQuery<{ v: string }>(database, `SELECT current_setting('server_version') AS v`)[0]!.v;
      expect(doc.database).toMatchObject({
        backend: 'postgresql',
        server_version: version,
        schema: 'crm',
        schema_version: newestMigration,
        migrations_applied: migrationNames.length,
        migrations_pending: 'none',
      });
      expect(doc.database.url).not.toContain(password);
      const rows = Object.fromEntries(doc.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
      expect(rows.customers).toBe(0);
      expect(Object.keys(rows)).not.toContain('kysely_migration');

      const table = crm(url, ['db', 'status']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^Database\nBackend +postgresql\n/);
      expect(table.stdout).toContain(`Server version      ${version}\n`);
      expect(table.stdout).toContain(`Schema version      ${newestMigration}\n`);
    });

    it('init again changes nothing', () => {
      crm(url, ['init']);
      const before = dumpOf(database);
      const again = crm(url, ['init']);
      expect(again.code).toBe(0);
      expect(dumpOf(database)).toBe(before);
    });

    it('db status on a database crm has not initialised lists no migrations and creates nothing', () => {
      const empty = fresh();
      const result = crm(pgUrl(empty), ['db', 'status', '--format', 'json']);
      expect(result.code).toBe(0);
      const doc = JSON.parse(result.stdout);
      expect(doc.database.migrations_applied).toBe(0);
      expect(doc.database.migrations_pending).toBe(migrationNames.join(' '));
      expect(pgQuery(empty, `SELECT nspname FROM pg_namespace WHERE nspname = 'crm'`)).toEqual([]);
    });
  });

  describe('the schema the SQLite migrations build on PostgreSQL', () => {
    let database: string;
    beforeAll(() => {
      database = fresh();
      expect(crm(pgUrl(database), ['init']).code).toBe(0);
    });

    it('has the same tables with the same columns, in the same order, as a SQLite database', () => {
      const dir = tempDir();
      const file = join(dir, 'crm.db');
      expect(runCrm(['--db', file, 'init']).code).toBe(0);
      const sqliteColumns = new Map<string, string[]>();
      const listing = runCrm(['--db', file, 'sql', "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'kysely_%' ORDER BY m.name, p.cid", '--format', 'json']);
      for (const row of JSON.parse(listing.stdout) as { t: string; c: string }[]) sqliteColumns.set(row.t, [...(sqliteColumns.get(row.t) ?? []), row.c]);
      const pgColumns = new Map<string, string[]>();
      // Less the change log's commit bookkeeping, PostgreSQL's own (src/db/change-log-postgres.ts).
      const own = "(table_name = 'row_change_commits' OR (table_name = 'row_changes' AND column_name IN ('txid', 'added')))";
      for (const row of pgQuery<{ t: string; c: string }>(database, `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'crm' AND table_name NOT LIKE 'kysely_%' AND NOT ${own} ORDER BY table_name, ordinal_position`)) {
        pgColumns.set(row.t, [...(pgColumns.get(row.t) ?? []), row.c]);
      }
      expect(Object.fromEntries(pgColumns)).toEqual(Object.fromEntries(sqliteColumns));
    });

    it('ids are identities, dates are text, NOCASE columns ignore case for equality and uniqueness', () => {
      const types = Object.fromEntries(
        pgQuery<{ c: string; type: string; identity: string }>(database, `SELECT column_name AS c, udt_name AS type, is_identity AS identity FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'customers'`).map((r) => [r.c, `${r.type}${r.identity === 'YES' ? ' identity' : ''}`]),
      );
      expect(types).toMatchObject({ id: 'int8 identity', name: 'text', email: 'citext', age: 'int8', created_at: 'text' });
      pgQuery(database, `INSERT INTO customers (name, email, created_at, updated_at) VALUES ('Ann', 'Ann@Example.com', 't', 't')`);
      expect(pgQuery(database, `SELECT name FROM customers WHERE email = 'ann@EXAMPLE.com'`)).toEqual([{ name: 'Ann' }]);
      expect(() => pgQuery(database, `INSERT INTO customers (name, email, created_at, updated_at) VALUES ('Other', 'ANN@example.com', 't', 't')`)).toThrow(/customers_email/);
      expect(() => pgQuery(database, `INSERT INTO tags (name) VALUES ('VIP'), ('vip')`)).toThrow(/tags_name_key/);
      // Text sorts byte by byte, as SQLite's BINARY collation does: upper case before lower case.
      pgQuery(database, `INSERT INTO customers (name, created_at, updated_at) VALUES ('bob', 't', 't'), ('Zed', 't', 't')`);
      expect(pgQuery<{ name: string }>(database, 'SELECT name FROM customers ORDER BY name').map((r) => r.name)).toEqual(['Ann', 'Zed', 'bob']);
    });
  });

  describe('bad inputs: one error line, exit 1, no hang, nothing written', () => {
    let database: string;
    let url: string;
    let before: string;
    beforeAll(() => {
      database = fresh();
      url = pgUrl(database);
      expect(crm(url, ['init']).code).toBe(0);
      crm(url, ['db', 'status']);
      before = dumpOf(database);
    });
    const expectFailure = (result: { code: number; stdout: string; stderr: string }, message: RegExp) => {
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.code).toBe(1);
    };

    it('server unreachable: a closed port', async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port } = server.address() as { port: number };
          server.close(() => resolve(port));
        });
      });
      const result = crm(`postgres://crmtest@127.0.0.1:${closed}/${database}`, ['init']);
      expectFailure(result, new RegExp(`^error: cannot reach the PostgreSQL server at 127\\.0\\.0\\.1:${closed}: connection refused\\nhint: `));
    });

    it('server unreachable: a port that accepts and never answers times out within seconds', async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
      try {
        const started = Date.now();
        const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          // Asynchronously, so this process's listener can accept the connection.
          import('node:child_process').then(({ execFile }) => {
            execFile(process.execPath, [new URL('../../bin/crm.js', import.meta.url).pathname, '--db', `postgres://crmtest@127.0.0.1:${port}/x`, 'db', 'status'], { env: { ...process.env, TZ: 'UTC' }, timeout: 30_000 }, (error, stdout, stderr) => {
                resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
              });
          });
        });
        const seconds = (Date.now() - started) / 1000;
        expectFailure(result, new RegExp(`^error: cannot reach the PostgreSQL server at 127\\.0\\.0\\.1:${port}: no answer within 5 s\\n`));
        expect(seconds).toBeLessThan(15);
      } finally {
        for (const socket of sockets) socket.destroy();
        silent.close();
      }
    });

    it('wrong password: refused, and the password is never echoed', () => {
      const wrong = 'not-the-password-5x1';
      const viaEnv = crm(url, ['init'], { env: { PGPASSWORD: wrong } });
      expectFailure(viaEnv, /^error: the PostgreSQL server at 127\.0\.0\.1:\d+ refused the password for user "crmtest"\nhint: check PGPASSWORD or your ~\/\.pgpass entry/);
      expect(viaEnv.stderr).not.toContain(wrong);
      const inUrl = new URL(url);
      inUrl.password = wrong;
      const viaUrl = runCrm(['--db', inUrl.toString(), 'init'], { cwd: tempDir(), env: { PGPASSWORD: undefined } });
      expect(viaUrl.stderr).not.toContain(wrong);
      expect(viaUrl.stderr).toMatch(/refused the password/);
      expect(viaUrl.code).toBe(1);
      expect(dumpOf(database)).toBe(before);
    });

    it('database missing: named, with how to create it, and not created', () => {
      const missing = `crm_missing_${Date.now()}`;
      const result = crm(pgUrl(missing), ['init']);
      expectFailure(result, new RegExp(`^error: the database "${missing}" does not exist on the PostgreSQL server at 127\\.0\\.0\\.1:\\d+\\nhint: create it first, e\\.g\\. createdb `));
      expect(pgQuery('postgres', `SELECT datname FROM pg_database WHERE datname = '${missing}'`)).toEqual([]);
    });

    it('a schema newer than this binary is refused by every command, untouched', () => {
      const newer = fresh();
      expect(crm(pgUrl(newer), ['init']).code).toBe(0);
      pgQuery(newer, `INSERT INTO crm.kysely_migration (name, timestamp) VALUES ('29991231_from_the_future', '2999-12-31T00:00:00Z')`);
      const snapshot = dumpOf(newer);
      for (const args of [['init'], ['db', 'status'], ['db', 'migrate']]) {
        const result = crm(pgUrl(newer), args);
        expectFailure(result, /^error: postgres:\/\/crmtest@127\.0\.0\.1:\d+\/\w+ was written by a newer crm \(schema 29991231_from_the_future\)\nhint: upgrade crm/);
      }
      expect(dumpOf(newer)).toBe(snapshot);
    });

    it('sslmode=require against a server without TLS', () => {
      const result = crm(`${url}?sslmode=require`, ['init']);
      expectFailure(result, /^error: the PostgreSQL server at 127\.0\.0\.1:\d+ does not accept TLS connections, and sslmode=require requires one\n/);
      const viaEnv = crm(url, ['db', 'status'], { env: { PGSSLMODE: 'verify-full' } });
      expectFailure(viaEnv, /does not accept TLS connections, and sslmode=verify-full requires one/);
    });

    it('a misspelt scheme is refused, and no file or folder appears', () => {
      for (const bad of [url.replace('postgres://', 'postgress://'), url.replace('postgres://', 'postgre://'), url.replace('postgres://', 'pg://')]) {
        const cwd = tempDir();
        const result = runCrm(['--db', bad, 'init'], { cwd });
        expectFailure(result, /^error: unknown database URL scheme "(postgress|postgre|pg):\/\/"\nhint: use postgres:\/\/user@host:port\/dbname for PostgreSQL, or a file path for SQLite\n$/);
        expect(readdirSync(cwd)).toEqual([]);
      }
    });

    it('a URL with a bad port', () => {
      for (const port of ['99999', '0', 'abc', '54x']) {
        const result = crm(`postgres://crmtest@127.0.0.1:${port}/${database}`, ['init']);
        expectFailure(result, new RegExp(`^error: bad port "${port}" in the database URL\\nhint: a port is a number from 1 to 65535`));
      }
    });

    it('a command about the local file says so on PostgreSQL and writes nothing', () => {
      const result = crm(url, ['db', 'encrypt']);
      expectFailure(result, /^error: `crm db encrypt` works on a local SQLite file; on PostgreSQL, encryption at rest is the server's job \(encrypted storage\)\nhint: reach the server over TLS with sslmode=verify-full/);
      expect(dumpOf(database)).toBe(before);
    });
  });

  describe('libpq conventions', () => {
    let database: string;
    let url: string;
    beforeAll(() => {
      database = fresh();
      url = pgUrl(database);
    });

    it('a password inside --db works but warns; the same URL in CRM_DB does not warn', () => {
      const withPassword = new URL(url);
      withPassword.password = password;
      const flagged = runCrm(['--db', withPassword.toString(), 'init'], { cwd: tempDir(), env: { PGPASSWORD: undefined } });
      expect(flagged.code).toBe(0);
      expect(flagged.stderr).toBe('warning: the password in --db is visible to other local users (ps, shell history); set PGPASSWORD or use ~/.pgpass instead\n');
      expect(flagged.stdout).not.toContain(password);
      const fromEnv = runCrm(['db', 'status'], { cwd: tempDir(), env: { PGPASSWORD: undefined, CRM_DB: withPassword.toString() } });
      expect(fromEnv.code).toBe(0);
      expect(fromEnv.stderr).toBe('');
    });

    it('host, port, user and database come from PG* variables when the URL leaves them out', () => {
      const { hostname, port } = new URL(PG_TEST_URL!);
      const result = runCrm(['--db', 'postgresql://', 'init'], { cwd: tempDir(), env: { PGHOST: hostname, PGPORT: port, PGUSER: 'crmtest', PGDATABASE: database } });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`postgres://crmtest@${hostname}:${port}/${database}\n`);
    });

    it('the password comes from ~/.pgpass when PGPASSWORD is not set', () => {
      const home = tempDir();
      const { port } = new URL(PG_TEST_URL!);
      writeFileSync(join(home, '.pgpass'), `127.0.0.1:${port}:${database}:crmtest:${password.replace(/[:\\]/g, '\\$&')}\n`, { mode: 0o600 });
      const result = crm(url, ['db', 'status', '--format', 'json'], { env: { PGPASSWORD: undefined, PGPASSFILE: undefined, HOME: home } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const none = crm(url, ['db', 'status'], { env: { PGPASSWORD: undefined, PGPASSFILE: undefined, HOME: tempDir() } });
      expect(none.stderr).toMatch(/^error: the PostgreSQL server at 127\.0\.0\.1:\d+ asks for a password for user "crmtest" and none was given\nhint: set PGPASSWORD or add a line to ~\/\.pgpass/);
      expect(none.code).toBe(1);
    });
  });
});
