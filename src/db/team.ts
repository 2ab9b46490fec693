// The team of a shared PostgreSQL database: who the session's user is, and the login roles that
// are members of this database's groups (team-setup.ts). Role management is DDL (CREATE ROLE,
// GRANT), which PostgreSQL runs inside the caller's transaction, so each change is all or nothing.
// Passwords arrive here only as SCRAM verifiers (scram.ts).
import { sql, type Kysely, type Transaction } from 'kysely';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { TEAM_ROLES, type TeamRole } from '../domain/permissions.js';
import { engineOf } from './engine.js';
import { SCRAM_VERIFIER } from './scram.js';
import type { DB } from './schema.js';
import { canCreateRoles, groupRole, hasTeamRoles, setUpTeamRoles } from './team-setup.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface Member {
  name: string;
  role: TeamRole | null;
  ownOnly: boolean;
  enabled: boolean;
  /** When crm last changed the member (role comment), or null. */
  changedAt: string | null;
}

export interface Whoami {
  user: string;
  role: TeamRole | null;
  ownOnly: boolean;
  superuser: boolean;
}

async function databaseName(db: Db): Promise<string> {
  return (await sql<{ name: string }>`SELECT current_database() AS name`.execute(db)).rows[0]!.name;
}

/**
 * The session's user and their role here: the first of owner, manager, sales, support, viewer
 * whose group they belong to (a superuser counts as owner, and sees every row).
 */
export async function currentMember(db: Db): Promise<Whoami> {
  const database = await databaseName(db);
  const groups = TEAM_ROLES.map((role) => groupRole(database, role));
  const result = await sql<{ user: string; superuser: boolean; roles: string[]; own: boolean }>`
    SELECT session_user AS "user", r.rolsuper AS superuser,
      ARRAY(SELECT g.rolname::text FROM pg_roles g WHERE g.rolname = ANY(${groups}::text[])
            AND pg_has_role(session_user, g.oid, 'MEMBER')) AS roles,
      coalesce((SELECT NOT r.rolsuper AND pg_has_role(session_user, g.oid, 'MEMBER') FROM pg_roles g WHERE g.rolname = ${groupRole(database, 'own')}), false) AS own
    FROM pg_roles r WHERE r.rolname = session_user`.execute(db);
  const row = result.rows[0]!;
  // A database without team roles (its `crm init` could not create roles) has no team yet: whoever
  // connects works with the rights the server gives them, as its owner does.
  const noTeam = !row.superuser && !(await hasTeamRoles(db));
  const role = row.superuser || noTeam ? 'owner' : (TEAM_ROLES.find((r) => row.roles.includes(groupRole(database, r))) ?? null);
  return { user: row.user, role, ownOnly: row.own, superuser: row.superuser };
}

/** Every login role that belongs to one of this database's groups, by name. */
export async function listMembers(db: Db): Promise<Member[]> {
  const database = await databaseName(db);
  const prefix = `${database}_crm_`;
  const rows = await sql<{ name: string; group: string; enabled: boolean; comment: string | null }>`
    SELECT m.rolname::text AS name, g.rolname::text AS "group", m.rolcanlogin AS enabled, shobj_description(m.oid, 'pg_authid') AS comment
    FROM pg_auth_members am JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
    WHERE starts_with(g.rolname::text, ${prefix}) AND NOT starts_with(m.rolname::text, ${prefix})
    ORDER BY m.rolname COLLATE "C"`.execute(db);
  const members = new Map<string, Member>();
  for (const row of rows.rows) {
    const member = members.get(row.name) ?? { name: row.name, role: null, ownOnly: false, enabled: row.enabled, changedAt: changedAt(row.comment) };
    const group = row.group.slice(prefix.length);
    if (group === 'own') member.ownOnly = true;
    else if ((TEAM_ROLES as readonly string[]).includes(group)) {
      const rank = (r: TeamRole | null) => (r === null ? TEAM_ROLES.length : TEAM_ROLES.indexOf(r));
      if (rank(group as TeamRole) < rank(member.role)) member.role = group as TeamRole;
    }
    members.set(row.name, member);
  }
  return [...members.values()];
}

const COMMENT_PREFIX = 'crm team member, last changed ';

function changedAt(comment: string | null): string | null {
  return comment?.startsWith(COMMENT_PREFIX) ? comment.slice(COMMENT_PREFIX.length) : null;
}

async function roleExists(db: Db, name: string): Promise<boolean> {
  const found = await sql<{ n: number }>`SELECT count(*) AS n FROM pg_roles WHERE rolname = ${name}`.execute(db);
  return Number(found.rows[0]?.n ?? 0) > 0;
}

function verifierLiteral(verifier: string) {
  if (!SCRAM_VERIFIER.test(verifier)) throw new Error('not a SCRAM-SHA-256 verifier');
  // DDL takes no parameters; the verifier's alphabet (base64, $ and :) needs no escaping.
  return sql.raw(`'${verifier}'`);
}

async function stamp(db: Db, name: string, now: Date): Promise<void> {
  await sql`COMMENT ON ROLE ${sql.id(name)} IS ${sql.lit(`${COMMENT_PREFIX}${now.toISOString()}`)}`.execute(db);
}

/** Owners may create and change roles (CREATEROLE); nobody else in the team can. */
async function setManagesRoles(db: Db, name: string, role: TeamRole): Promise<void> {
  await sql`ALTER ROLE ${sql.id(name)} ${sql.raw(role === 'owner' ? 'CREATEROLE' : 'NOCREATEROLE')}`.execute(db);
}

export interface NewMember {
  name: string;
  role: TeamRole;
  ownOnly: boolean;
  verifier: string;
}

/** The team's roles, made now if `crm init` could not (the caller then becomes the first owner). */
export async function ensureTeam(db: Db): Promise<void> {
  if (await hasTeamRoles(db)) return;
  if (!(await canCreateRoles(db))) {
    throw new ValidationError('this database has no team roles yet, and your role may not create roles', {
      hint: 'an owner with CREATEROLE (or a superuser) runs the first `crm team add`',
    });
  }
  await setUpTeamRoles(db);
}

export async function createMember(db: Db, member: NewMember, now: Date): Promise<void> {
  if (await roleExists(db, member.name)) {
    throw new ValidationError(`a role named "${member.name}" already exists on this PostgreSQL server`, {
      hint: 'roles are shared by every database of the server: choose another name',
    });
  }
  const database = await databaseName(db);
  await sql`CREATE ROLE ${sql.id(member.name)} LOGIN PASSWORD ${verifierLiteral(member.verifier)}`.execute(db);
  await sql`GRANT ${sql.id(groupRole(database, member.role))} TO ${sql.id(member.name)}`.execute(db);
  if (member.ownOnly) await sql`GRANT ${sql.id(groupRole(database, 'own'))} TO ${sql.id(member.name)}`.execute(db);
  await setManagesRoles(db, member.name, member.role);
  await stamp(db, member.name, now);
}

/** The member called `name`, or a NotFoundError. */
export async function findMember(db: Db, name: string): Promise<Member> {
  const member = (await listMembers(db)).find((m) => m.name === name);
  if (!member) throw new NotFoundError(`no team member named "${name}" in this database`, { hint: 'see `crm team list`' });
  return member;
}

export async function changeRole(db: Db, name: string, role: TeamRole, ownOnly: boolean, now: Date): Promise<void> {
  const database = await databaseName(db);
  for (const group of [...TEAM_ROLES, 'own'] as const) {
    if (group === role || (group === 'own' && ownOnly)) continue;
    await sql`REVOKE ${sql.id(groupRole(database, group))} FROM ${sql.id(name)}`.execute(db);
  }
  await sql`GRANT ${sql.id(groupRole(database, role))} TO ${sql.id(name)}`.execute(db);
  if (ownOnly) await sql`GRANT ${sql.id(groupRole(database, 'own'))} TO ${sql.id(name)}`.execute(db);
  await setManagesRoles(db, name, role);
  await stamp(db, name, now);
}

export async function setPassword(db: Db, name: string, verifier: string, now: Date, stampIt: boolean): Promise<void> {
  await sql`ALTER ROLE ${sql.id(name)} PASSWORD ${verifierLiteral(verifier)}`.execute(db);
  if (stampIt) await stamp(db, name, now);
}

export async function setEnabled(db: Db, name: string, enabled: boolean, now: Date): Promise<void> {
  await sql`ALTER ROLE ${sql.id(name)} ${sql.raw(enabled ? 'LOGIN' : 'NOLOGIN')}`.execute(db);
  await stamp(db, name, now);
}

/**
 * Takes the member out of this database's groups and drops the login role, unless it still
 * belongs to another database's team (roles are shared by the whole server): then it stays.
 */
export async function removeMember(db: Db, name: string): Promise<'dropped' | 'kept'> {
  const database = await databaseName(db);
  for (const group of [...TEAM_ROLES, 'own'] as const) {
    await sql`REVOKE ${sql.id(groupRole(database, group))} FROM ${sql.id(name)}`.execute(db);
  }
  const others = await sql<{ n: number }>`
    SELECT count(*) AS n FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member WHERE m.rolname = ${name}`.execute(db);
  if (Number(others.rows[0]?.n ?? 0) > 0) return 'kept';
  await sql`DROP ROLE ${sql.id(name)}`.execute(db);
  return 'dropped';
}

/** True on PostgreSQL, where there is a team. */
export function hasTeams(db: Db): boolean {
  return engineOf(db) === 'postgres';
}
