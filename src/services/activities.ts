// Activities: the record of every call, email, meeting, chat and note with a customer, and the
// conversation graph they form. A record may link to earlier records of the same customer
// (`reply` to what it answers, `follows` what it continues); `activityThread` returns the
// connected component a record belongs to, laid out as a tree for printing.
import { sql, type Kysely, type Transaction } from 'kysely';
import { customerLabelSql } from '../db/customer-label.js';
import type { ActivityRow, ActivityType, DB, Direction } from '../db/schema.js';
import { isoSeconds } from '../domain/dates.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { describeCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

export const ACTIVITY_TYPES: readonly ActivityType[] = ['call', 'email', 'meeting', 'chat', 'note'];
export const DIRECTIONS: readonly Direction[] = ['in', 'out'];
export type LinkKind = 'reply' | 'follows';

export interface ActivityInput {
  customerId: number;
  type: ActivityType;
  summary: string;
  /** ISO instant; defaults to meta.now. */
  at?: string;
  direction?: Direction | null;
  replyTo?: number;
  follows?: number;
}

/** Checks that `targetId` may be linked from a new record of `customerId` at `at`. */
async function linkTarget(db: Db, targetId: number, kind: LinkKind, customerId: number, at: string): Promise<ActivityRow> {
  const flag = kind === 'reply' ? '--reply-to' : '--follows';
  const target = await db.selectFrom('activities').selectAll().where('id', '=', targetId).executeTakeFirst();
  if (!target) throw new NotFoundError(`${flag} ${targetId}: no activity with that id`, { hint: 'find ids with `crm activity list CUSTOMER`' });
  if (target.customer_id !== customerId) {
    const owner = await db.selectFrom('customers').select(['id', 'name', 'email']).where('id', '=', target.customer_id).executeTakeFirstOrThrow();
    throw new ValidationError(`${flag} ${targetId}: that activity belongs to another customer (${describeCustomer(owner)})`, {
      hint: 'a conversation stays with one customer',
    });
  }
  if (target.at > at) {
    throw new ValidationError(`${flag} ${targetId}: that activity (${isoSeconds(target.at)}) is later than this one (${isoSeconds(at)})`, {
      hint: 'a record can only answer or continue an earlier one; check --at',
    });
  }
  return target;
}

export async function addActivity(db: Kysely<DB>, input: ActivityInput, meta: WriteMeta): Promise<ActivityRow> {
  return db.transaction().execute(async (trx) => {
    const customer = await trx.selectFrom('customers').select(['id', 'name', 'email']).where('id', '=', input.customerId).executeTakeFirst();
    if (!customer) throw new NotFoundError(`no customer with id ${input.customerId}`);
    const at = input.at ?? meta.now.toISOString();
    const links: [LinkKind, number][] = [];
    if (input.replyTo !== undefined) links.push(['reply', (await linkTarget(trx, input.replyTo, 'reply', customer.id, at)).id]);
    if (input.follows !== undefined) links.push(['follows', (await linkTarget(trx, input.follows, 'follows', customer.id, at)).id]);
    const row = await trx
      .insertInto('activities')
      .values({
        customer_id: customer.id,
        type: input.type,
        direction: input.direction ?? null,
        at,
        summary: input.summary,
        created_at: meta.now.toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'activity.add',
      entity: 'activity',
      entityId: row.id,
      customerId: customer.id,
      summary: `${row.type} with ${describeCustomer(customer)}`,
    });
    await audit.inserted('activities', row.id, row);
    for (const [kind, toId] of links) {
      const link = { from_id: row.id, to_id: toId, kind };
      await trx.insertInto('activity_links').values(link).execute();
      await audit.inserted('activity_links', row.id, link);
    }
    return row;
  });
}

export interface ActivityFilter {
  customerId?: number;
  type?: ActivityType;
  /** ISO instant: records at or after it. */
  since?: string;
}

export interface ActivityListRow extends ActivityRow {
  customer_name: string;
  reply_to: number | null;
  follows: number | null;
}

const linkOf = (kind: LinkKind) =>
  sql<number | null>`(SELECT min(l.to_id) FROM activity_links l WHERE l.from_id = a.id AND l.kind = ${kind})`;

/** Activities in time order (oldest first), with the record each one replies to or follows. */
export async function listActivities(db: Db, filter: ActivityFilter = {}): Promise<ActivityListRow[]> {
  let query = db
    .selectFrom('activities as a')
    .innerJoin('customers as c', 'c.id', 'a.customer_id')
    .selectAll('a')
    .select([sql<string>`${sql.raw(customerLabelSql('c'))}`.as('customer_name'), linkOf('reply').as('reply_to'), linkOf('follows').as('follows')]);
  if (filter.customerId !== undefined) query = query.where('a.customer_id', '=', filter.customerId);
  if (filter.type !== undefined) query = query.where('a.type', '=', filter.type);
  if (filter.since !== undefined) query = query.where('a.at', '>=', filter.since);
  return (await query.orderBy('a.at').orderBy('a.id').execute()) as ActivityListRow[];
}

export interface ThreadNode {
  activity: ActivityRow;
  depth: number;
  /** The record this one hangs under in the tree (its reply target, else what it follows). */
  parentId: number | null;
  /** How it hangs there: `reply` or `follows`; null for a root. */
  link: LinkKind | null;
  /** Links not shown by the tree shape (a record that both replies to one and follows another). */
  alsoLinks: { kind: LinkKind; toId: number }[];
}

export interface Thread {
  customer: { id: number; name: string; email: string | null };
  /** Depth-first, each node after its parent, siblings oldest first. */
  nodes: ThreadNode[];
}

/** The conversation (connected component over reply/follows links) activity `id` belongs to. */
export async function activityThread(db: Db, id: number): Promise<Thread> {
  const start = await db.selectFrom('activities').selectAll().where('id', '=', id).executeTakeFirst();
  if (!start) throw new NotFoundError(`no activity with id ${id}`, { hint: 'find ids with `crm activity list`' });
  // Walk links both ways; UNION (not UNION ALL) drops ids already seen, so the walk ends. One
  // recursive term (PostgreSQL allows no more), started from the row so its type is the ids' own.
  const component = await sql<{ id: number }>`
    WITH RECURSIVE thread(id) AS (
      SELECT a.id FROM activities a WHERE a.id = ${id}
      UNION SELECT CASE WHEN l.from_id = t.id THEN l.to_id ELSE l.from_id END
        FROM activity_links l JOIN thread t ON l.from_id = t.id OR l.to_id = t.id
    )
    SELECT id FROM thread`.execute(db);
  const ids = component.rows.map((r) => r.id);
  const activities = await db.selectFrom('activities').selectAll().where('id', 'in', ids).execute();
  const links = await db.selectFrom('activity_links').selectAll().where('from_id', 'in', ids).execute();
  const customer = await db.selectFrom('customers').select(['id', 'name', 'email']).where('id', '=', start.customer_id).executeTakeFirstOrThrow();

  const byId = new Map(activities.map((a) => [a.id, a]));
  const chronological = (a: ActivityRow, b: ActivityRow) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id);
  const parentOf = new Map<number, { toId: number; kind: LinkKind }>();
  const extra = new Map<number, { kind: LinkKind; toId: number }[]>();
  // A reply is the stronger tie; among equals, the earliest target.
  const sortedLinks = [...links].sort((a, b) => (a.kind === b.kind ? chronological(byId.get(a.to_id)!, byId.get(b.to_id)!) : a.kind === 'reply' ? -1 : 1));
  for (const link of sortedLinks) {
    if (!parentOf.has(link.from_id)) parentOf.set(link.from_id, { toId: link.to_id, kind: link.kind });
    else extra.set(link.from_id, [...(extra.get(link.from_id) ?? []), { kind: link.kind, toId: link.to_id }]);
  }
  const children = new Map<number, ActivityRow[]>();
  const roots: ActivityRow[] = [];
  for (const a of activities) {
    const parent = parentOf.get(a.id);
    if (parent && byId.has(parent.toId)) children.set(parent.toId, [...(children.get(parent.toId) ?? []), a]);
    else roots.push(a);
  }
  const nodes: ThreadNode[] = [];
  const seen = new Set<number>();
  const visit = (a: ActivityRow, depth: number) => {
    if (seen.has(a.id)) return;
    seen.add(a.id);
    const parent = parentOf.get(a.id);
    nodes.push({ activity: a, depth, parentId: parent?.toId ?? null, link: parent?.kind ?? null, alsoLinks: extra.get(a.id) ?? [] });
    for (const child of (children.get(a.id) ?? []).sort(chronological)) visit(child, depth + 1);
  };
  for (const root of roots.sort(chronological)) visit(root, 0);
  // Links only point to earlier records, so there are no cycles; this guards imported data anyway.
  for (const a of [...activities].sort(chronological)) visit(a, 0);
  return { customer, nodes };
}
