// Managing the team of a shared PostgreSQL database (issue 15): members are login roles in one of
// the database's groups. The rules crm keeps besides the server's: the last owner stays, own-only
// is for sales users, and names are plain identifiers. Each change runs in one transaction.
import type { Kysely } from 'kysely';
import { UsageError, ValidationError } from '../domain/errors.js';
import type { TeamRole } from '../domain/permissions.js';
import type { DB } from '../db/schema.js';
import * as team from '../db/team.js';

export type { Member, Whoami } from '../db/team.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$/;

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(`"${name}" is not a usable member name`, {
      hint: 'use letters, digits, _ . @ and -, starting with a letter or _, at most 63 characters',
    });
  }
  if (/_crm_(owner|manager|sales|support|viewer|own)$/.test(name)) throw new UsageError(`"${name}" looks like one of crm's group roles; choose another name`);
}

function checkOwnOnly(role: TeamRole, ownOnly: boolean): void {
  if (ownOnly && role !== 'sales') throw new UsageError('--own is for sales users: they see and change only the customers they own');
}

export async function listTeam(db: Kysely<DB>): Promise<team.Member[]> {
  return team.listMembers(db);
}

export async function addMember(db: Kysely<DB>, input: team.NewMember, now: Date): Promise<void> {
  checkName(input.name);
  checkOwnOnly(input.role, input.ownOnly);
  await db.transaction().execute(async (trx) => {
    await team.ensureTeam(trx);
    await team.createMember(trx, input, now);
  });
}

/** Refuses a change that would leave no enabled owner. */
async function keepAnOwner(db: Kysely<DB>, name: string, what: string): Promise<void> {
  const owners = (await team.listMembers(db)).filter((m) => m.role === 'owner' && m.enabled);
  if (owners.length === 1 && owners[0]!.name === name) {
    throw new ValidationError(`${name} is the last owner of this database and cannot be ${what}`, {
      hint: 'make another member an owner first: crm team role NAME owner',
    });
  }
}

export async function changeRole(db: Kysely<DB>, name: string, role: TeamRole, ownOnly: boolean | undefined, now: Date): Promise<team.Member> {
  const member = await team.findMember(db, name);
  const own = ownOnly ?? (role === 'sales' && member.ownOnly);
  checkOwnOnly(role, own);
  if (member.role === 'owner' && role !== 'owner') await keepAnOwner(db, name, 'demoted');
  await db.transaction().execute((trx) => team.changeRole(trx, name, role, own, now));
  return { ...member, role, ownOnly: own };
}

/** A new password for `name` (a member of this team, or the session's own user). */
export async function changePassword(db: Kysely<DB>, name: string, verifier: string, self: boolean, now: Date): Promise<void> {
  if (!self) await team.findMember(db, name);
  await team.setPassword(db, name, verifier, now, !self);
}

export async function setEnabled(db: Kysely<DB>, name: string, enabled: boolean, now: Date): Promise<void> {
  const member = await team.findMember(db, name);
  if (!enabled && member.role === 'owner') await keepAnOwner(db, name, 'disabled');
  await db.transaction().execute((trx) => team.setEnabled(trx, name, enabled, now));
}

export async function removeMember(db: Kysely<DB>, name: string): Promise<'dropped' | 'kept'> {
  const member = await team.findMember(db, name);
  if (member.role === 'owner') await keepAnOwner(db, name, 'removed');
  return db.transaction().execute((trx) => team.removeMember(trx, name));
}
