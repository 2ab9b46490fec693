// The PostgreSQL side of access control (issue 15): group roles, grants, row-level security and the
// audit triggers. Run by the migrator right after migration 20261208_team_0001 (which adds
// customers.owner on both engines), and the grants again after any later migration, so a table
// added later is covered too. Everything here is idempotent.
//
// Roles are cluster-wide while crm's data lives in one database, so the groups are named after the
// database: `<db>_crm_owner|manager|sales|support|viewer` (NOLOGIN), plus `<db>_crm_own` marking the
// members who see only the customers they own. A teammate is a LOGIN role granted one group (see
// team.ts). The role running the migration (the one that ran `crm init`) owns the tables and is
// made the first owner.
import { sql, type Kysely } from 'kysely';
import { TEAM_ROLES, type TeamRole } from '../domain/permissions.js';
import { MIGRATION_TABLE } from './applied-migrations.js';
import { PG_SCHEMA } from './postgres-ddl.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/** The migration whose PostgreSQL step this is. */
export const TEAM_MIGRATION = '20261208_team_0001_access_control';

/** The group role of `role` (or the own-only marker) in database `database`. */
export function groupRole(database: string, role: TeamRole | 'own'): string {
  return `${database}_crm_${role}`;
}

const WRITERS: readonly TeamRole[] = ['owner', 'manager', 'sales', 'support'];
const ALL: readonly TeamRole[] = TEAM_ROLES;

/**
 * Who may INSERT/UPDATE/DELETE each table (SELECT is every role's). Deleting customers, config and
 * whole histories is for owners and managers (customer rm, merge, undo, config set); the audit
 * tables take inserts only. A table not named here (added by a later migration) is written by
 * owners and managers only until it is named.
 */
const WRITES: Record<string, { insert: readonly TeamRole[]; update: readonly TeamRole[]; delete: readonly TeamRole[] }> = {};
const rule = (tables: string[], insert: readonly TeamRole[], update: readonly TeamRole[], del: readonly TeamRole[]) => {
  for (const table of tables) WRITES[table] = { insert, update, delete: del };
};
const MANAGERS: readonly TeamRole[] = ['owner', 'manager'];
const SELLERS: readonly TeamRole[] = ['owner', 'manager', 'sales'];
const SUPPORTERS: readonly TeamRole[] = ['owner', 'manager', 'support'];
rule(['customers'], WRITERS, WRITERS, MANAGERS);
rule(['tags', 'customer_tags', 'customer_fields', 'activities', 'activity_links', 'tasks', 'segments', 'segment_members', 'risk_scores', 'change_fresh_rows'], WRITERS, WRITERS, WRITERS);
rule(['sales', 'deals', 'deal_stage_history'], SELLERS, SELLERS, MANAGERS);
rule(['tickets', 'ticket_events', 'ticket_ratings'], SUPPORTERS, SUPPORTERS, MANAGERS);
rule(['config'], MANAGERS, MANAGERS, MANAGERS);
rule(['audit_log', 'audit_change', 'audit_range'], WRITERS, [], []);
rule([MIGRATION_TABLE, `${MIGRATION_TABLE}_lock`, 'database_identity', 'row_changes', 'row_change_commits', 'row_change_marks', 'row_change_horizon'], [], [], []);

/** Tables whose rows belong to one customer (customer_id): an own-only member sees their customers' only. */
const CUSTOMER_CHILDREN = ['activities', 'sales', 'deals', 'tasks', 'tickets', 'customer_tags', 'customer_fields', 'segment_members', 'risk_scores'];
/** Tables whose rows belong to a row of a customer's table. */
const GRANDCHILDREN: ReadonlyArray<[table: string, column: string, parent: string]> = [
  ['ticket_events', 'ticket_id', 'tickets'],
  ['ticket_ratings', 'ticket_id', 'tickets'],
  ['deal_stage_history', 'deal_id', 'deals'],
  ['activity_links', 'from_id', 'activities'],
];

async function currentDatabase(db: AnyDb): Promise<string> {
  const row = await sql<{ name: string }>`SELECT current_database() AS name`.execute(db);
  return row.rows[0]!.name;
}

async function tablesOfSchema(db: AnyDb): Promise<string[]> {
  const rows = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = ${PG_SCHEMA} ORDER BY 1`.execute(db);
  return rows.rows.map((r) => r.name);
}

const id = (name: string) => sql.id(name);
const qualified = (table: string) => sql.id(PG_SCHEMA, table);

/** True when this database has crm's group roles (the access-control migration ran here). */
export async function hasTeamRoles(db: AnyDb): Promise<boolean> {
  const database = await currentDatabase(db);
  const found = await sql<{ n: number }>`SELECT count(*) AS n FROM pg_roles WHERE rolname = ${groupRole(database, 'owner')}`.execute(db);
  return Number(found.rows[0]?.n ?? 0) > 0;
}

/** Grants on every table of the schema, by the table above; revokes what a role should not have. */
export async function applyTeamGrants(db: AnyDb): Promise<void> {
  const database = await currentDatabase(db);
  const groups = ALL.map((role) => groupRole(database, role));
  const groupList = sql.join(groups.map(id));
  await sql`GRANT USAGE ON SCHEMA ${id(PG_SCHEMA)} TO ${groupList}`.execute(db);
  for (const table of await tablesOfSchema(db)) {
    await sql`REVOKE ALL ON ${qualified(table)} FROM ${groupList}`.execute(db);
    await sql`GRANT SELECT ON ${qualified(table)} TO ${groupList}`.execute(db);
    const writes = WRITES[table] ?? { insert: MANAGERS, update: MANAGERS, delete: MANAGERS };
    for (const [privilege, roles] of [['INSERT', writes.insert], ['UPDATE', writes.update], ['DELETE', writes.delete]] as const) {
      if (roles.length === 0) continue;
      await sql`GRANT ${sql.raw(privilege)} ON ${qualified(table)} TO ${sql.join(roles.map((r) => id(groupRole(database, r))))}`.execute(db);
    }
  }
  // The audit trail: an entry's entity and customer are filled in once known, and undo links an
  // entry to the one it undoes; nothing else of an entry can be changed (see the guard trigger).
  await sql`GRANT UPDATE (entity_id, customer_id) ON ${qualified('audit_log')} TO ${sql.join(WRITERS.map((r) => id(groupRole(database, r))))}`.execute(db);
  await sql`GRANT UPDATE (undone_by, undoes) ON ${qualified('audit_log')} TO ${sql.join(MANAGERS.map((r) => id(groupRole(database, r))))}`.execute(db);
  // Identity sequences: nextval for inserts, setval for undo and imports that keep ids.
  await sql`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${id(PG_SCHEMA)} TO ${sql.join(WRITERS.map((r) => id(groupRole(database, r))))}`.execute(db);
  await sql`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${id(PG_SCHEMA)} TO ${id(groupRole(database, 'viewer'))}`.execute(db);
  // The change log's commit positions are numbered by its own trigger only.
  const positions = await sql<{ ok: boolean }>`SELECT to_regclass(${`${PG_SCHEMA}.row_change_position`}) IS NOT NULL AS ok`.execute(db);
  if (positions.rows[0]?.ok) await sql`REVOKE UPDATE ON SEQUENCE ${qualified('row_change_position')} FROM ${groupList}`.execute(db);
  await securityDefinerChangeLog(db);
}

/**
 * The change-log triggers write crm.row_changes, which no team role may write directly: their
 * functions run as their owner (SECURITY DEFINER), with a fixed search_path so that cannot be
 * turned against them.
 */
async function securityDefinerChangeLog(db: AnyDb): Promise<void> {
  const functions = await sql<{ signature: string }>`
    SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
    WHERE p.pronamespace = ${PG_SCHEMA}::regnamespace AND p.prorettype = 'trigger'::regtype
      AND p.prosrc ILIKE '%row_changes%' AND NOT p.prosecdef`.execute(db);
  for (const { signature } of functions.rows) {
    await sql`ALTER FUNCTION ${sql.raw(signature)} SECURITY DEFINER SET search_path = ${sql.raw(`${PG_SCHEMA}, pg_temp`)}`.execute(db);
  }
}

/** True when the session's role may create roles (CREATEROLE or superuser). */
export async function canCreateRoles(db: AnyDb): Promise<boolean> {
  const row = await sql<{ ok: boolean }>`SELECT rolcreaterole OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user`.execute(db);
  return Boolean(row.rows[0]?.ok);
}

/**
 * The PostgreSQL step of the access-control migration: what every database gets (the owner
 * default, the audit triggers, the redaction functions), then the team's roles when the role
 * running it may create roles. Without CREATEROLE a single user's `crm init` still works; the
 * team is set up by the first `crm team add` of someone who may.
 */
export async function setUpTeam(db: AnyDb): Promise<void> {
  await sql`ALTER TABLE ${qualified('customers')} ALTER COLUMN owner SET DEFAULT session_user`.execute(db);

  // The audit trail's actor is the session's user, set by the database, whatever the client sends.
  await sql.raw(`CREATE FUNCTION ${PG_SCHEMA}.audit_log_actor() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.actor := session_user; RETURN NEW; END $$`).execute(db);
  await sql.raw(`CREATE TRIGGER audit_log_actor BEFORE INSERT ON ${PG_SCHEMA}.audit_log FOR EACH ROW EXECUTE FUNCTION ${PG_SCHEMA}.audit_log_actor()`).execute(db);
  // What the grants leave updatable (an entry's entity, customer and undo links) can be filled in
  // once, never changed; only the table's owner (the redaction functions below run as it) may.
  await sql.raw(`CREATE FUNCTION ${PG_SCHEMA}.audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT relowner FROM pg_class WHERE oid = TG_RELID) = (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NEW;
      END IF;
      IF NEW.at IS DISTINCT FROM OLD.at OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.command IS DISTINCT FROM OLD.command
         OR NEW.action IS DISTINCT FROM OLD.action OR NEW.entity IS DISTINCT FROM OLD.entity OR NEW.summary IS DISTINCT FROM OLD.summary
         OR (OLD.entity_id IS NOT NULL AND NEW.entity_id IS DISTINCT FROM OLD.entity_id)
         OR (OLD.customer_id IS NOT NULL AND NEW.customer_id IS DISTINCT FROM OLD.customer_id)
         OR (OLD.undone_by IS NOT NULL AND NEW.undone_by IS DISTINCT FROM OLD.undone_by)
         OR (OLD.undoes IS NOT NULL AND NEW.undoes IS DISTINCT FROM OLD.undoes) THEN
        RAISE EXCEPTION 'permission denied for table audit_log: an audit entry cannot be changed' USING ERRCODE = '42501';
      END IF;
      RETURN NEW;
    END $$`).execute(db);
  await sql.raw(`CREATE TRIGGER audit_log_guard BEFORE UPDATE ON ${PG_SCHEMA}.audit_log FOR EACH ROW EXECUTE FUNCTION ${PG_SCHEMA}.audit_log_guard()`).execute(db);

  // `customer forget` redacts the trail through these, which only owners may run.
  await sql.raw(`CREATE FUNCTION ${PG_SCHEMA}.redact_audit_change(change_id bigint, new_before text, new_after text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = ${PG_SCHEMA}, pg_temp AS $$
    UPDATE ${PG_SCHEMA}.audit_change SET before = new_before, after = new_after WHERE id = change_id $$`).execute(db);
  await sql.raw(`CREATE FUNCTION ${PG_SCHEMA}.redact_audit_entry(entry_id bigint, new_summary text, new_command text, unlink boolean) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = ${PG_SCHEMA}, pg_temp AS $$
    UPDATE ${PG_SCHEMA}.audit_log SET summary = new_summary, command = new_command,
      customer_id = CASE WHEN unlink THEN NULL ELSE customer_id END WHERE id = entry_id $$`).execute(db);
  await sql.raw(`CREATE FUNCTION ${PG_SCHEMA}.erase_audit_changes(change_ids bigint[], erased text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = ${PG_SCHEMA}, pg_temp AS $$
    UPDATE ${PG_SCHEMA}.audit_change SET before = CASE WHEN before IS NULL THEN NULL ELSE erased END,
      after = CASE WHEN after IS NULL THEN NULL ELSE erased END WHERE id = ANY(change_ids) $$`).execute(db);
  for (const fn of REDACTION_FUNCTIONS) await sql.raw(`REVOKE EXECUTE ON FUNCTION ${PG_SCHEMA}.${fn} FROM PUBLIC`).execute(db);

  if (await canCreateRoles(db)) await setUpTeamRoles(db);
}

const REDACTION_FUNCTIONS = ['redact_audit_change(bigint, text, text)', 'redact_audit_entry(bigint, text, text, boolean)', 'erase_audit_changes(bigint[], text)'];

/**
 * The database's group roles, with the session's user as the first owner, their grants and the
 * row-level security policies. Needs CREATEROLE (or a superuser); run by the migration, or by
 * `crm team add` on a database whose `crm init` could not.
 */
export async function setUpTeamRoles(db: AnyDb): Promise<void> {
  const database = await currentDatabase(db);
  for (const role of [...ALL, 'own'] as const) {
    const name = groupRole(database, role);
    const exists = await sql<{ n: number }>`SELECT count(*) AS n FROM pg_roles WHERE rolname = ${name}`.execute(db);
    if (Number(exists.rows[0]?.n ?? 0) === 0) await sql`CREATE ROLE ${id(name)} NOLOGIN`.execute(db);
  }
  // The role that runs this (the one that ran `crm init`) is the first owner, and so is the owner
  // of crm's tables when someone else sets the team up later.
  await sql`GRANT ${id(groupRole(database, 'owner'))} TO ${sql.raw('SESSION_USER')}`.execute(db);
  const tablesOwner = await sql<{ owner: string }>`SELECT tableowner AS owner FROM pg_tables WHERE schemaname = ${PG_SCHEMA} AND tablename = 'customers'`.execute(db);
  const owner = tablesOwner.rows[0]?.owner;
  if (owner !== undefined) await sql`GRANT ${id(groupRole(database, 'owner'))} TO ${id(owner)}`.execute(db);

  // Row-level security: every team role sees every row (a permissive policy for all), except the
  // own-only members, for whom a restrictive policy keeps their own customers and what hangs off them.
  const own = id(groupRole(database, 'own'));
  const policies: Array<[table: string, condition: string]> = [
    ['customers', 'owner = session_user'],
    ...CUSTOMER_CHILDREN.map((table): [string, string] => [table, `customer_id IN (SELECT id FROM ${PG_SCHEMA}.customers)`]),
    ...GRANDCHILDREN.map(([table, column, parent]): [string, string] => [table, `${column} IN (SELECT id FROM ${PG_SCHEMA}.${parent})`]),
    // Their own audit entries only; the details of changes (other people's data) not at all.
    ['audit_log', 'actor = session_user'],
    ['audit_change', `log_id IN (SELECT id FROM ${PG_SCHEMA}.audit_log)`],
  ];
  for (const [table, condition] of policies) {
    await sql`ALTER TABLE ${qualified(table)} ENABLE ROW LEVEL SECURITY`.execute(db);
    await sql`DROP POLICY IF EXISTS crm_team ON ${qualified(table)}`.execute(db);
    await sql`DROP POLICY IF EXISTS crm_own_only ON ${qualified(table)}`.execute(db);
    await sql`CREATE POLICY crm_team ON ${qualified(table)} FOR ALL TO PUBLIC USING (true) WITH CHECK (true)`.execute(db);
    await sql`CREATE POLICY crm_own_only ON ${qualified(table)} AS RESTRICTIVE FOR ALL TO ${own} USING (${sql.raw(condition)}) WITH CHECK (${sql.raw(condition)})`.execute(db);
  }
  for (const fn of REDACTION_FUNCTIONS) {
    await sql`GRANT EXECUTE ON FUNCTION ${sql.raw(`${PG_SCHEMA}.${fn}`)} TO ${id(groupRole(database, 'owner'))}`.execute(db);
  }
  await applyTeamGrants(db);
}
