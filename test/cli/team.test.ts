// Access control for a team (issue 15), on the real PostgreSQL test server: every role against
// every writing command (crm refuses with a sentence, the database is left exactly as it was), the
// same rules through psql logged in as each role (the database refuses by itself), own-only rows,
// disabled members, the last owner, and passwords that never reach the server's log in plain text.
// On SQLite: one person, and `crm team` explains why there is no team.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, dropPgDatabase, PG_TEST_URL, pgDump, pgQuery, runCrm, sandbox, type RunResult } from '../helpers/cli.js';

const ROLES = ['owner', 'manager', 'sales', 'rep', 'support', 'viewer'] as const;
type Actor = (typeof ROLES)[number];

/** The table, written out here independently of src/domain/permissions.ts. */
const ANYONE_WRITING: readonly Actor[] = ['owner', 'manager', 'sales', 'rep', 'support'];
const SELLING: readonly Actor[] = ['owner', 'manager', 'sales', 'rep'];
const SUPPORTING: readonly Actor[] = ['owner', 'manager', 'support'];
const MANAGING: readonly Actor[] = ['owner', 'manager'];
const OWNING: readonly Actor[] = ['owner'];

/** What each actor is called in crm's refusals. */
const ROLE_OF: Record<Actor, string> = { owner: 'owner', manager: 'manager', sales: 'sales', rep: 'sales', support: 'support', viewer: 'viewer' };

interface Case {
  name: string;
  args: (ids: Ids, actor: Actor) => string[];
  allowed: readonly Actor[];
  /** Run to the end here (imports are checked to the end in a test of their own). */
  completes: boolean;
}

/** Each actor's own records, so allowed commands of one actor never touch another's. */
interface Ids {
  customer: number;
  spare: number;
  merged: number;
  sale: number;
  deal: number;
  ticket: number;
  task: number;
}

const CASES: readonly Case[] = [
  { name: 'customer add', args: (_, a) => ['customer', 'add', '--name', `New ${a}`], allowed: ANYONE_WRITING, completes: true },
  { name: 'customer edit', args: (i) => ['customer', 'edit', String(i.customer), '--city', 'Lyon'], allowed: ANYONE_WRITING, completes: true },
  { name: 'activity add', args: (i) => ['activity', 'add', String(i.customer), '--type', 'call', '--summary', 'Rang'], allowed: ANYONE_WRITING, completes: true },
  { name: 'task add', args: (i) => ['task', 'add', String(i.customer), '--title', 'Call back', '--due', '2026-12-31'], allowed: ANYONE_WRITING, completes: true },
  { name: 'task done', args: (i) => ['task', 'done', String(i.task)], allowed: ANYONE_WRITING, completes: true },
  { name: 'segment create', args: (_, a) => ['segment', 'create', `lyon-${a}`, '--where', 'city = "Lyon"'], allowed: ANYONE_WRITING, completes: true },
  { name: 'sale record', args: (i) => ['sale', 'record', '--customer', String(i.customer), '--product', 'Tea', '--amount', '12.50'], allowed: SELLING, completes: true },
  { name: 'sale void', args: (i) => ['sale', 'void', String(i.sale), '--reason', 'typo'], allowed: SELLING, completes: true },
  { name: 'deal add', args: (i) => ['deal', 'add', '--customer', String(i.customer), '--title', 'Big one', '--value', '900'], allowed: SELLING, completes: true },
  { name: 'deal move', args: (i) => ['deal', 'move', String(i.deal), 'qualified'], allowed: SELLING, completes: true },
  { name: 'ticket open', args: (i) => ['ticket', 'open', '--customer', String(i.customer), '--subject', 'Broken'], allowed: SUPPORTING, completes: true },
  { name: 'ticket update', args: (i) => ['ticket', 'update', String(i.ticket), '--priority', 'high'], allowed: SUPPORTING, completes: true },
  { name: 'ticket resolve', args: (i) => ['ticket', 'resolve', String(i.ticket), '--solution', 'Fixed'], allowed: SUPPORTING, completes: true },
  { name: 'ticket rate', args: (i) => ['ticket', 'rate', String(i.ticket), '--score', '4'], allowed: SUPPORTING, completes: true },
  { name: 'import customers', args: () => ['import', 'customers', 'customers.csv'], allowed: ANYONE_WRITING, completes: false },
  { name: 'import sales', args: () => ['import', 'sales', 'sales.csv'], allowed: SELLING, completes: false },
  { name: 'import tickets', args: () => ['import', 'tickets', 'tickets.csv'], allowed: SUPPORTING, completes: false },
  { name: 'export', args: (_, a) => ['--output', `export-${a}.csv`, 'export', 'customers'], allowed: MANAGING, completes: true },
  { name: 'config set', args: () => ['config', 'set', 'currency', 'EUR'], allowed: MANAGING, completes: true },
  { name: 'audit list', args: () => ['audit', 'list'], allowed: MANAGING, completes: true },
  { name: 'customer merge', args: (i) => ['--yes', 'customer', 'merge', String(i.customer), String(i.merged)], allowed: MANAGING, completes: true },
  { name: 'customer rm', args: (i) => ['--yes', 'customer', 'rm', String(i.spare)], allowed: MANAGING, completes: true },
  { name: 'customer forget', args: (i) => ['--yes', 'customer', 'forget', String(i.spare)], allowed: OWNING, completes: false },
  { name: 'team add', args: (_, a) => ['team', 'add', `${prefix}new_${a}`, '--role', 'viewer', '--generate-password'], allowed: OWNING, completes: true },
];

const prefix = `t${randomBytes(3).toString('hex')}_`;

describe.skipIf(!PG_TEST_URL)('team access control on PostgreSQL', () => {
  let database: string;
  let spareDatabase: string | undefined;
  const logins = new Set<string>();
  const passwords = new Map<Actor, string>();
  const login = (actor: Actor) => `${prefix}${actor}`;
  const ids = new Map<Actor, Ids>();
  const admin = () => new URL(PG_TEST_URL!);
  const urlFor = (user: string, db = database) => {
    const url = admin();
    url.username = user;
    url.pathname = `/${db}`;
    return url.toString();
  };
  const dir = mkdtempSync(join(tmpdir(), 'crm-team-'));
  /** crm as the test server's superuser (the role that ran init: the first owner). */
  const asAdmin = (args: string[], input?: string): RunResult => runCrm(['--db', urlFor(admin().username), ...args], { input, cwd: dir, env: { CRM_PG_UNVERIFIED: '1' } });
  const as = (actor: Actor, args: string[], cwd = dir): RunResult =>
    runCrm(['--db', urlFor(login(actor)), ...args], { cwd, env: { PGPASSWORD: passwords.get(actor)!, CRM_PG_UNVERIFIED: '1' } });
  /** psql logged in as the actor; the result, error included. */
  const psqlAs = (actor: Actor, statement: string) => {
    const result = spawnSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', urlFor(login(actor)), '-c', statement], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: passwords.get(actor)! },
    });
    return { code: result.status ?? -1, stdout: result.stdout.trim(), stderr: result.stderr };
  };
  const groups = (db: string) => ['owner', 'manager', 'sales', 'support', 'viewer', 'own'].map((g) => `${db}_crm_${g}`);

  afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

  beforeAll(() => {
    database = createPgDatabase('crm_team');
    expect(asAdmin(['init']).code).toBe(0);
    for (const actor of ROLES) {
      const password = `pw-${actor}-${randomBytes(6).toString('hex')}`;
      passwords.set(actor, password);
      const role = ROLE_OF[actor];
      const result = asAdmin(['team', 'add', login(actor), '--role', role, ...(actor === 'rep' ? ['--own'] : []), '--password-stdin'], `${password}\n`);
      expect(result.stderr).toBe(`added ${login(actor)} as ${role}${actor === 'rep' ? ' (own customers only)' : ''}\n`);
      expect(result.code).toBe(0);
      logins.add(login(actor));
    }
    // Each actor's records, written directly (ids fixed; the rep owns theirs). Customer 1000 is a
    // record nobody in the matrix touches, owned by the superuser.
    const at = '2026-12-01T10:00:00.000Z';
    const statements: string[] = [
      `INSERT INTO customers (id, name, email, owner, created_at, updated_at) VALUES (1000, 'Boss Client', 'boss@example.com', 'nobody', '${at}', '${at}')`,
    ];
    ROLES.forEach((actor, n) => {
      const base = 10 * (n + 1);
      const owner = actor === 'rep' ? login('rep') : 'nobody';
      const mine: Ids = { customer: base, spare: base + 1, merged: base + 2, sale: base, deal: base, ticket: base, task: base };
      ids.set(actor, mine);
      for (const [id, name] of [[mine.customer, `Main ${actor}`], [mine.spare, `Spare ${actor}`], [mine.merged, `Twin ${actor}`]] as const) {
        statements.push(`INSERT INTO customers (id, name, email, owner, created_at, updated_at) VALUES (${id}, '${name}', '${name.toLowerCase().replace(' ', '.')}@example.com', '${owner}', '${at}', '${at}')`);
      }
      statements.push(
        `INSERT INTO sales (id, customer_id, product, quantity, amount_cents, sold_on, created_at) VALUES (${mine.sale}, ${mine.customer}, 'Tea', 1, 1250, '2026-12-01', '${at}')`,
        `INSERT INTO deals (id, customer_id, title, value_cents, stage, created_at, updated_at) VALUES (${mine.deal}, ${mine.customer}, 'Deal', 50000, 'lead', '${at}', '${at}')`,
        `INSERT INTO tickets (id, customer_id, subject, priority, kind, status, opened_at, updated_at) VALUES (${mine.ticket}, ${mine.customer}, 'Help', 'normal', 'question', 'open', '${at}', '${at}')`,
        `INSERT INTO tasks (id, customer_id, title, due_at, created_at, updated_at) VALUES (${mine.task}, ${mine.customer}, 'Follow up', '2026-12-20', '${at}', '${at}')`,
      );
    });
    for (const table of ['customers', 'sales', 'deals', 'tickets', 'tasks']) {
      statements.push(`SELECT setval(pg_get_serial_sequence('crm.${table}', 'id'), 2000)`);
    }
    pgQuery(database, statements.join(';\n'));
    writeFileSync(join(dir, 'customers.csv'), 'name,email\nImported One,imported.one@example.com\n');
    writeFileSync(join(dir, 'sales.csv'), 'customer,product,amount,date\nboss@example.com,Tea,5,2026-12-01\n');
    writeFileSync(join(dir, 'tickets.csv'), 'customer,subject\nboss@example.com,Imported\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    dropPgDatabase(database);
    if (spareDatabase) dropPgDatabase(spareDatabase);
    for (const name of [...logins, ...ROLES.map((a) => `${prefix}new_${a}`), ...groups(database), ...(spareDatabase ? groups(spareDatabase) : [])]) {
      pgQuery('postgres', `DROP ROLE IF EXISTS "${name}"`);
    }
  });

  describe.each(ROLES)('as %s', (actor) => {
    it('is allowed exactly what the roles table allows; each refusal is one line and writes nothing', () => {
      const refused: string[] = [];
      for (const c of CASES) {
        const before = pgDump(database);
        const result = as(actor, c.args(ids.get(actor)!, actor));
        if (c.allowed.includes(actor)) {
          expect(result.stderr, `${actor}: ${c.name}`).not.toMatch(/permission denied/);
          if (c.completes) expect(result.code, `${actor}: ${c.name}\n${result.stderr}`).toBe(0);
          if (c.name === 'team add') logins.add(`${prefix}new_${actor}`);
          continue;
        }
        refused.push(c.name);
        const role = ROLE_OF[actor];
        expect(result.stderr, `${actor}: ${c.name}`).toMatch(new RegExp(`^error: permission denied: an? ${role} user may not [a-z ']+\\n`));
        expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
        expect(result.code, `${actor}: ${c.name}`).toBe(1);
        expect(pgDump(database), `${actor}: ${c.name} wrote something`).toBe(before);
      }
      const expected = CASES.filter((c) => !c.allowed.includes(actor)).map((c) => c.name);
      expect(refused).toEqual(expected);
      // The run's own record of what each role was refused (the note).
      process.stderr.write(`refused to ${actor} (${ROLE_OF[actor]}${actor === 'rep' ? ', own-only' : ''}): ${refused.join(', ') || 'nothing'}\n`);
    }, 300_000);
  });

  it('the matrix messages name the role and the action', () => {
    const result = as('support', ['sale', 'void', String(ids.get('support')!.sale), '--reason', 'x']);
    expect(result.stderr).toBe('error: permission denied: a support user may not void sales\n');
    expect(result.code).toBe(1);
  });

  it("imports land whole for a member whose row-level security applies and for the owner, each row owned by who imported it", () => {
    const owners = (domain: string) =>
      pgQuery<{ name: string; owner: string }>(database, `SELECT name, owner FROM crm.customers WHERE email LIKE '%@${domain}' ORDER BY id`).map((r) => [r.name, r.owner]);
    // A rep's rows go through a staging table (COPY is refused on a table whose policies apply to them).
    writeFileSync(join(dir, 'rep-import.csv'), 'name,email,tags\nRep One,one@rep.example,new\nRep Two,two@rep.example,\n');
    const rep = as('rep', ['import', 'customers', join(dir, 'rep-import.csv')]);
    expect(rep.stderr).toMatch(/^imported 2, updated 0, skipped 0, rejected 0 in /);
    expect(rep.code).toBe(0);
    expect(owners('rep.example')).toEqual([
      ['Rep One', login('rep')],
      ['Rep Two', login('rep')],
    ]);
    // The owner of the tables (no policy applies) copies straight in; a row naming an owner keeps it.
    writeFileSync(join(dir, 'boss-import.csv'), 'name,email,owner\nBoss One,one@boss.example,\nBoss Two,two@boss.example,someone\n');
    const boss = asAdmin(['import', 'customers', join(dir, 'boss-import.csv')]);
    expect(boss.stderr).toMatch(/^imported 2, updated 0, skipped 0, rejected 0 in /);
    expect(owners('boss.example')).toEqual([
      ['Boss One', new URL(PG_TEST_URL!).username],
      ['Boss Two', 'someone'],
    ]);
    const tagged = pgQuery<{ n: string }>(database, "SELECT count(*) AS n FROM crm.customer_tags ct JOIN crm.customers c ON c.id = ct.customer_id WHERE c.email = 'one@rep.example'");
    expect(Number(tagged[0]!.n)).toBe(1);
  });

  it('a refusal by the database itself is reported the same way, never as a stack trace', () => {
    // As if crm's table allowed more than the grants: take a grant away behind crm's back.
    const group = `${database}_crm_sales`;
    pgQuery(database, `REVOKE INSERT ON crm.activities FROM "${group}"`);
    try {
      const before = pgDump(database);
      const result = as('sales', ['activity', 'add', String(ids.get('sales')!.customer), '--type', 'note', '--summary', 'x']);
      expect(result.stderr).toBe(
        'error: permission denied: a sales user may not add activities (permission denied for table activities)\n' +
          'hint: nothing was changed; ask an owner of this database for access\n',
      );
      expect(result.code).toBe(1);
      expect(pgDump(database)).toBe(before);
    } finally {
      pgQuery(database, `GRANT INSERT ON crm.activities TO "${group}"`);
    }
  });

  it('db optimize by a manager leaves the change log to the owner and still succeeds; the owner prunes', () => {
    const manager = as('manager', ['db', 'optimize']);
    expect(manager.stderr).toMatch(/^change log: not pruned \(only the role that ran `crm init` may prune it\)\noptimized: .+ → .+\n$/);
    expect(manager.code).toBe(0);
    const owner = asAdmin(['db', 'optimize']);
    expect(owner.stderr).toMatch(/^change log: pruned \d+ entr(y|ies) older than 90 days\noptimized: /);
    expect(owner.code).toBe(0);
  });

  it('whoami names the user, role, own-only flag and backend', () => {
    const result = as('rep', ['whoami', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ whoami: { user: login('rep'), role: 'sales', own_only: 'yes', backend: 'postgresql' } });
    expect(JSON.parse(as('viewer', ['whoami', '--format', 'json']).stdout).whoami).toEqual({ user: login('viewer'), role: 'viewer', own_only: 'no', backend: 'postgresql' });
  });

  it('team list shows every member with role, own-only and enabled', () => {
    const result = asAdmin(['team', 'list', '--format', 'json']);
    expect(result.code).toBe(0);
    const members = (JSON.parse(result.stdout) as Array<{ name: string; role: string; own_only: string; enabled: string; changed_at: string | null }>).filter((m) =>
      m.name.startsWith(`${prefix}`) && !m.name.includes('_new_'),
    );
    expect(members.map((m) => [m.name, m.role, m.own_only, m.enabled])).toEqual(
      [...ROLES].sort().map((a) => [login(a), ROLE_OF[a], a === 'rep' ? 'yes' : 'no', 'yes']),
    );
    for (const m of members) expect(m.changed_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  describe('psql as each role: the database refuses by itself', () => {
    const refusedBy = (r: { code: number; stderr: string }) => r.code !== 0 && /permission denied|row-level security|cannot be changed/.test(r.stderr);

    it('writing a table the role may not write', () => {
      expect(refusedBy(psqlAs('viewer', `INSERT INTO crm.customers (name, created_at, updated_at) VALUES ('x', 'now', 'now')`))).toBe(true);
      expect(refusedBy(psqlAs('support', `UPDATE crm.sales SET amount_cents = 0`))).toBe(true);
      expect(refusedBy(psqlAs('sales', `UPDATE crm.tickets SET status = 'closed'`))).toBe(true);
      expect(refusedBy(psqlAs('manager', `INSERT INTO crm.row_changes (table_name, row_id) VALUES ('customers', 1)`))).toBe(true);
      expect(refusedBy(psqlAs('sales', `DELETE FROM crm.customers WHERE id = 1000`))).toBe(true);
      expect(pgQuery(database, 'SELECT count(*)::int AS n FROM crm.customers WHERE id = 1000')).toEqual([{ n: 1 }]);
    });

    it('deleting from the audit trail or changing an entry\'s actor, as every role', () => {
      const entries = pgQuery<{ n: number }>(database, 'SELECT count(*)::int AS n FROM crm.audit_log')[0]!.n;
      expect(entries).toBeGreaterThan(0);
      for (const actor of ROLES) {
        expect(refusedBy(psqlAs(actor, 'DELETE FROM crm.audit_log')), `${actor} deleted audit entries`).toBe(true);
        expect(refusedBy(psqlAs(actor, 'DELETE FROM crm.audit_change')), `${actor} deleted audit changes`).toBe(true);
        expect(refusedBy(psqlAs(actor, `UPDATE crm.audit_log SET actor = 'someone else'`)), `${actor} changed an actor`).toBe(true);
        expect(refusedBy(psqlAs(actor, `UPDATE crm.audit_change SET before = NULL`)), `${actor} changed an audit value`).toBe(true);
      }
      // What writers may fill in (an entry's entity) cannot be changed once set.
      const filled = pgQuery<{ id: number }>(database, 'SELECT id FROM crm.audit_log WHERE entity_id IS NOT NULL ORDER BY id LIMIT 1')[0]!.id;
      expect(refusedBy(psqlAs('manager', `UPDATE crm.audit_log SET entity_id = entity_id + 1 WHERE id = ${filled}`))).toBe(true);
      expect(pgQuery<{ n: number }>(database, 'SELECT count(*)::int AS n FROM crm.audit_log')[0]!.n).toBe(entries);
    });

    it('the actor of a new audit entry is the session user, whatever the client writes', () => {
      const result = psqlAs('sales', `INSERT INTO crm.audit_log (at, actor, command, action, entity) VALUES ('2026-12-01T00:00:00Z', 'forged', 'psql', 'test.forge', 'customer') RETURNING actor`);
      expect(result.stdout).toBe(login('sales'));
    });

    it('an own-only rep reads only their customers and what hangs off them, and cannot take over another', () => {
      const mine = ids.get('rep')!;
      const customers = psqlAs('rep', 'SELECT string_agg(DISTINCT owner, \',\') || \':\' || count(*) FROM crm.customers');
      expect(customers.stdout).toMatch(new RegExp(`^${login('rep')}:\\d+$`));
      expect(psqlAs('rep', 'SELECT count(*) FROM crm.customers WHERE id = 1000').stdout).toBe('0');
      expect(psqlAs('rep', `SELECT count(*) FROM crm.sales WHERE customer_id IS DISTINCT FROM ${mine.customer} AND customer_id NOT IN (SELECT id FROM crm.customers)`).stdout).toBe('0');
      expect(psqlAs('rep', `SELECT count(*) FROM crm.tickets WHERE customer_id = ${ids.get('support')!.customer}`).stdout).toBe('0');
      // Another rep's customer cannot be changed (invisible) nor made theirs, nor a new one given away.
      expect(psqlAs('rep', `UPDATE crm.customers SET owner = session_user WHERE id = 1000 RETURNING id`).stdout).toBe('');
      expect(refusedBy(psqlAs('rep', `INSERT INTO crm.customers (name, owner, created_at, updated_at) VALUES ('Gift', 'nobody', 'now', 'now')`))).toBe(true);
      expect(pgQuery(database, `SELECT owner FROM crm.customers WHERE id = 1000`)).toEqual([{ owner: 'nobody' }]);
      // crm shows the same: customer list and show as the rep.
      const list = as('rep', ['customer', 'list', '--format', 'json']);
      const owners = new Set((JSON.parse(list.stdout) as Array<{ id: number }>).map((c) => c.id));
      expect(owners.has(1000)).toBe(false);
      expect(owners.has(mine.customer)).toBe(true);
      expect(as('rep', ['customer', 'show', '1000']).code).toBe(1);
    });

    it('crm sql as an own-only rep returns only their customers', (ctx) => {
      const result = as('rep', ['sql', 'SELECT DISTINCT owner FROM customers']);
      if (/Cannot open database|not yet available/.test(result.stderr)) ctx.skip(); // crm sql on PostgreSQL comes with branch pgdata
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('nobody');
      expect(result.stdout).toContain(login('rep'));
    });

    it('only an owner may run the audit redaction that forget uses', () => {
      for (const actor of ['manager', 'sales', 'support', 'viewer'] as const) {
        expect(refusedBy(psqlAs(actor, `SELECT crm.redact_audit_entry(1, 'x', 'x', false)`)), actor).toBe(true);
        expect(refusedBy(psqlAs(actor, `SELECT crm.erase_audit_changes(ARRAY[1]::bigint[], 'x')`)), actor).toBe(true);
      }
      const owner = psqlAs('owner', `BEGIN; SELECT crm.redact_audit_entry(1, 'redacted', 'crm …', false); SELECT summary FROM crm.audit_log WHERE id = 1; ROLLBACK;`);
      expect(owner.stderr).toBe('');
      expect(owner.stdout).toContain('redacted');
    });
  });

  it('customer list --owner me as the rep, --owner NAME as the admin', () => {
    const mine = as('rep', ['customer', 'list', '--owner', 'me', '--format', 'csv']);
    expect(mine.code).toBe(0);
    const rows = mine.stdout.trim().split('\n').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    const all = asAdmin(['customer', 'list', '--owner', login('rep'), '--format', 'csv']);
    expect(all.stdout).toBe(mine.stdout);
    expect(asAdmin(['customer', 'list', '--owner', 'nobody', '--format', 'csv']).stdout).toContain('Boss Client');
  });

  it('an owner reassigns a customer; a sales user may not', () => {
    const customer = ids.get('sales')!.customer;
    const refused = as('sales', ['customer', 'edit', String(customer), '--owner', login('rep')]);
    expect(refused.stderr).toBe('error: permission denied: a sales user may not reassign customers\n');
    const done = as('owner', ['customer', 'edit', String(customer), '--owner', login('sales')]);
    expect(done.code).toBe(0);
    expect(pgQuery(database, `SELECT owner FROM crm.customers WHERE id = ${customer}`)).toEqual([{ owner: login('sales') }]);
  });

  it('a disabled member cannot connect; enabled again, they can', () => {
    expect(as('owner', ['team', 'disable', login('viewer')]).code).toBe(0);
    const refused = as('viewer', ['whoami']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: the PostgreSQL server at .* refused user ".*": role ".*" is not permitted to log in\n/);
    const psql = psqlAs('viewer', 'SELECT 1');
    expect(psql.code).not.toBe(0);
    const listed = JSON.parse(asAdmin(['team', 'list', '--format', 'json']).stdout) as Array<{ name: string; enabled: string }>;
    expect(listed.find((m) => m.name === login('viewer'))!.enabled).toBe('no');
    expect(as('owner', ['team', 'enable', login('viewer')]).code).toBe(0);
    expect(as('viewer', ['whoami']).code).toBe(0);
  });

  it('a role change takes effect at once; passwords change', () => {
    const name = `${prefix}temp`;
    logins.add(name);
    const added = asAdmin(['team', 'add', name, '--role', 'viewer', '--generate-password']);
    expect(added.code).toBe(0);
    const password = added.stdout.trim();
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    const run = (args: string[], pw = password) => runCrm(['--db', urlFor(name), ...args], { cwd: dir, env: { PGPASSWORD: pw, CRM_PG_UNVERIFIED: '1' } });
    expect(run(['customer', 'add', '--name', 'Nope']).code).toBe(1);
    expect(asAdmin(['team', 'role', name, 'support']).code).toBe(0);
    expect(run(['customer', 'add', '--name', 'Yes']).code).toBe(0);
    // Their own password: any member; someone else's: owners only.
    expect(run(['team', 'passwd', '--password-stdin'], password).stderr).toBe('error: the password is empty; nothing was changed\n');
    const changed = runCrm(['--db', urlFor(name), 'team', 'passwd', '--password-stdin'], { cwd: dir, input: 'new-secret\n', env: { PGPASSWORD: password, CRM_PG_UNVERIFIED: '1' } });
    expect(changed.code).toBe(0);
    expect(run(['whoami'], 'new-secret').code).toBe(0);
    expect(run(['whoami'], password).code).toBe(1);
    const other = runCrm(['--db', urlFor(name), 'team', 'passwd', login('viewer'), '--password-stdin'], { cwd: dir, input: 'x\n', env: { PGPASSWORD: 'new-secret', CRM_PG_UNVERIFIED: '1' } });
    expect(other.stderr).toBe("error: permission denied: a support user may not change another member's password\n");
    expect(asAdmin(['team', 'rm', name]).code).toBe(0);
    expect(pgQuery('postgres', `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = '${name}'`)).toEqual([{ n: 0 }]);
  });

  it('the last owner cannot be removed, demoted or disabled', () => {
    spareDatabase = createPgDatabase('crm_team_owner');
    const url = urlFor(admin().username, spareDatabase);
    const crm = (args: string[]) => runCrm(['--db', url, ...args], { cwd: dir, env: { CRM_PG_UNVERIFIED: '1' } });
    expect(crm(['init']).code).toBe(0);
    const me = admin().username;
    const before = pgDump(spareDatabase);
    for (const args of [['team', 'rm', me], ['team', 'role', me, 'manager'], ['team', 'disable', me]]) {
      const result = crm(args);
      expect(result.stderr, args.join(' ')).toMatch(new RegExp(`^error: ${me} is the last owner of this database and cannot be (removed|demoted|disabled)\\n`));
      expect(result.code).toBe(1);
    }
    expect(pgDump(spareDatabase)).toBe(before);
    expect(JSON.parse(crm(['team', 'list', '--format', 'json']).stdout)).toEqual([{ name: me, role: 'owner', own_only: 'no', enabled: 'yes', changed_at: null }]);
  });

  it('team add leaves no plain password in the server log, with every statement logged', (ctx) => {
    const log = process.env.CRM_TEST_PG_DIR ? join(process.env.CRM_TEST_PG_DIR, 'server.log') : '';
    if (!log || !existsSync(log)) ctx.skip();
    // Every statement of the owner's sessions goes to the log.
    pgQuery('postgres', `ALTER ROLE "${login('owner')}" SET log_statement = 'all'`);
    const start = statSync(log).size;
    const secret = `Plain-${randomBytes(8).toString('hex')}`;
    const name = `${prefix}logged`;
    logins.add(name);
    const result = runCrm(['--db', urlFor(login('owner')), 'team', 'add', name, '--role', 'viewer', '--password-stdin'], {
      cwd: dir,
      input: `${secret}\n`,
      env: { PGPASSWORD: passwords.get('owner')!, CRM_PG_UNVERIFIED: '1' },
    });
    expect(result.code).toBe(0);
    const written = readFileSync(log).subarray(start).toString('utf8');
    expect(written).toContain(`CREATE ROLE "${name}" LOGIN PASSWORD 'SCRAM-SHA-256$4096:`);
    expect(written).not.toContain(secret);
    // And the verifier works: the new member logs in with the secret.
    expect(runCrm(['--db', urlFor(name), 'whoami'], { cwd: dir, env: { PGPASSWORD: secret, CRM_PG_UNVERIFIED: '1' } }).code).toBe(0);
  });
});

describe('team on a SQLite file', () => {
  it('whoami says owner, the operating-system user; team explains there is no team', () => {
    const box = sandbox();
    try {
      if (box.dbPath.startsWith('postgres')) return; // the SQLite case only
      box.ok(['init']);
      const who = JSON.parse(box.ok(['whoami', '--format', 'json']));
      expect(who.whoami.role).toBe('owner');
      expect(who.whoami.backend).toBe('sqlite');
      expect(who.whoami.user).toBe(process.env.USER ?? who.whoami.user);
      expect(statSync(box.dbPath).mode & 0o777).toBe(0o600);
      const before = box.dump();
      for (const args of [['team', 'list'], ['team', 'add', 'mei', '--role', 'support', '--generate-password']]) {
        const result = box.run(args);
        expect(result.stderr).toBe(
          'error: teams need a shared PostgreSQL database: a SQLite file is private to its owner (mode 0600), who is its only user\n' +
            'hint: move the data to a server with `crm db copy --to postgres://HOST/DB`, then manage the team there (README: "Roles and access")\n',
        );
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
      }
      expect(box.dump()).toBe(before);
    } finally {
      box.cleanup();
    }
  });

  it('customers get an owner from --owner and from an import column; list --owner filters', () => {
    const box = sandbox();
    try {
      if (box.dbPath.startsWith('postgres')) return;
      box.ok(['customer', 'add', '--name', 'Ann', '--owner', 'mei']);
      box.ok(['customer', 'add', '--name', 'Bob']);
      writeFileSync(join(box.dir, 'c.csv'), 'name,owner\nCid,tom\nDee,\n');
      box.ok(['import', 'customers', join(box.dir, 'c.csv')]);
      expect(box.query('SELECT name, owner FROM customers ORDER BY id')).toEqual([
        { name: 'Ann', owner: 'mei' },
        { name: 'Bob', owner: null },
        { name: 'Cid', owner: 'tom' },
        { name: 'Dee', owner: null },
      ]);
      const names = (args: string[]) => (JSON.parse(box.ok(['customer', 'list', ...args, '--format', 'json'])) as Array<{ name: string }>).map((c) => c.name);
      expect(names(['--owner', 'tom'])).toEqual(['Cid']);
      // On a file, customers without an owner are its one person's.
      expect(names(['--owner', 'me'])).toEqual(['Bob', 'Dee']);
      box.ok(['customer', 'edit', 'Bob', '--owner', 'tom']);
      expect(names(['--owner', 'tom'])).toEqual(['Bob', 'Cid']);
    } finally {
      box.cleanup();
    }
  });
});
