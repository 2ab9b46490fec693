// `customer merge`: moves everything recorded about one customer onto another and deletes the
// first, as ONE audit entry listing every row it changed, so `crm undo` can put it all back.
import type { Kysely, Transaction } from 'kysely';
import type { CustomerRow, DB } from '../db/schema.js';
import { ValidationError } from '../domain/errors.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { describeCustomer } from './customers.js';

type Db = Kysely<DB> | Transaction<DB>;

/** Tables whose rows belong to a customer through `customer_id` and move with a merge. */
export const OWNED_TABLES = ['activities', 'sales', 'deals', 'tickets', 'tasks'] as const;
type OwnedTable = (typeof OWNED_TABLES)[number];

/** Profile columns that a merge fills on `keep` when they are empty there. */
const FILLABLE = ['email', 'phone', 'phone_digits', 'age', 'gender', 'company', 'city', 'source'] as const;

export interface MergePlan {
  keep: CustomerRow;
  other: CustomerRow;
  /** Row ids moving from other to keep, per table. */
  moves: Record<OwnedTable, number[]>;
  /** Tags other has and keep lacks. */
  tagsAdded: string[];
  /** Custom fields other has and keep lacks. */
  fieldsAdded: Record<string, string>;
  /** Custom fields both have with different values: keep's value wins. */
  fieldsKept: Record<string, { keep: string; other: string }>;
  /** Profile values copied from other because keep's are empty. */
  filled: Record<string, unknown>;
}

export interface MergeResult extends MergePlan {
  auditId: number | null;
}

async function planMerge(db: Db, keep: CustomerRow, other: CustomerRow): Promise<MergePlan & { otherTags: { tag_id: number; name: string }[]; keepTagIds: Set<number>; otherFields: { key: string; value: string }[] }> {
  if (keep.id === other.id) {
    throw new ValidationError(`cannot merge ${describeCustomer(keep)} with itself`, { hint: 'give two different customers: crm customer merge <keep> <other>' });
  }
  const moves = {} as Record<OwnedTable, number[]>;
  for (const table of OWNED_TABLES) {
    const rows = await db.selectFrom(table).select('id').where('customer_id', '=', other.id).orderBy('id').execute();
    moves[table] = rows.map((r) => r.id);
  }
  const tagsOf = (id: number) =>
    db.selectFrom('customer_tags').innerJoin('tags', 'tags.id', 'customer_tags.tag_id').select(['customer_tags.tag_id', 'tags.name']).where('customer_tags.customer_id', '=', id).orderBy('tags.name').execute();
  const keepTagIds = new Set((await tagsOf(keep.id)).map((t) => t.tag_id));
  const otherTags = await tagsOf(other.id);
  const fieldsOf = (id: number) => db.selectFrom('customer_fields').select(['key', 'value']).where('customer_id', '=', id).orderBy('key').execute();
  const keepFields = new Map((await fieldsOf(keep.id)).map((f) => [f.key, f.value]));
  const otherFields = await fieldsOf(other.id);
  const fieldsAdded: Record<string, string> = {};
  const fieldsKept: Record<string, { keep: string; other: string }> = {};
  for (const f of otherFields) {
    const mine = keepFields.get(f.key);
    if (mine === undefined) fieldsAdded[f.key] = f.value;
    else if (mine !== f.value) fieldsKept[f.key] = { keep: mine, other: f.value };
  }
  const filled: Record<string, unknown> = {};
  for (const column of FILLABLE) {
    const mine = keep[column];
    const theirs = other[column];
    if ((mine === null || mine === '') && theirs !== null && theirs !== '') filled[column] = theirs;
  }
  return {
    keep,
    other,
    moves,
    tagsAdded: otherTags.filter((t) => !keepTagIds.has(t.tag_id)).map((t) => t.name),
    fieldsAdded,
    fieldsKept,
    filled,
    otherTags,
    keepTagIds,
    otherFields,
  };
}

/**
 * Merges `other` into `keep`. With `dryRun` nothing is written and the plan is returned.
 * Composite-key rows (tags, fields) are audited with the customer id as row id; their key is in
 * the before/after values.
 */
export async function mergeCustomers(db: Kysely<DB>, keepId: number, otherId: number, meta: WriteMeta, options: { dryRun?: boolean } = {}): Promise<MergeResult> {
  const load = async (trx: Db, id: number) => {
    const row = await trx.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ValidationError(`customer #${id} no longer exists`);
    return row;
  };
  if (options.dryRun) {
    const plan = await planMerge(db, await load(db, keepId), await load(db, otherId));
    return { ...publicPlan(plan), auditId: null };
  }
  return db.transaction().execute(async (trx) => {
    const plan = await planMerge(trx, await load(trx, keepId), await load(trx, otherId));
    const { keep, other } = plan;
    const audit = await beginAudit(trx, meta, {
      action: 'customer.merge',
      entity: 'customer',
      entityId: keep.id,
      customerId: keep.id,
      summary: `merged ${describeCustomer(other)} into ${describeCustomer(keep)}`,
    });
    for (const table of OWNED_TABLES) {
      for (const id of plan.moves[table]) {
        await trx.updateTable(table).set({ customer_id: keep.id }).where('id', '=', id).execute();
        await audit.updated(table, id, { customer_id: other.id }, { customer_id: keep.id });
      }
    }
    for (const tag of plan.otherTags) {
      if (!plan.keepTagIds.has(tag.tag_id)) {
        await trx.insertInto('customer_tags').values({ customer_id: keep.id, tag_id: tag.tag_id }).execute();
        await audit.inserted('customer_tags', keep.id, { customer_id: keep.id, tag_id: tag.tag_id });
      }
      await trx.deleteFrom('customer_tags').where('customer_id', '=', other.id).where('tag_id', '=', tag.tag_id).execute();
      await audit.deleted('customer_tags', other.id, { customer_id: other.id, tag_id: tag.tag_id });
    }
    for (const field of plan.otherFields) {
      if (field.key in plan.fieldsAdded) {
        await trx.insertInto('customer_fields').values({ customer_id: keep.id, key: field.key, value: field.value }).execute();
        await audit.inserted('customer_fields', keep.id, { customer_id: keep.id, key: field.key, value: field.value });
      }
      await trx.deleteFrom('customer_fields').where('customer_id', '=', other.id).where('key', '=', field.key).execute();
      await audit.deleted('customer_fields', other.id, { customer_id: other.id, key: field.key, value: field.value });
    }
    // Other's stored RFM memberships go with it (keep is scored on its own; the next
    // `segment rfm --save` counts the merged history). Recorded so undo puts them back.
    for (const row of await trx.selectFrom('segment_members').selectAll().where('customer_id', '=', other.id).execute()) {
      await audit.deleted('segment_members', row.id, row);
    }
    await trx.deleteFrom('segment_members').where('customer_id', '=', other.id).execute();
    // So do other's saved churn-risk scores: keep's own stay, and the next `customer risk --save`
    // scores the merged history.
    for (const row of await trx.selectFrom('risk_scores').selectAll().where('customer_id', '=', other.id).execute()) {
      await audit.deleted('risk_scores', row.id, row);
    }
    await trx.deleteFrom('risk_scores').where('customer_id', '=', other.id).execute();
    // Delete other before filling keep: its email must be free before keep can take it.
    await trx.deleteFrom('customers').where('id', '=', other.id).execute();
    await audit.deleted('customers', other.id, other);
    if (Object.keys(plan.filled).length > 0) {
      const changes = { ...plan.filled, updated_at: meta.now.toISOString() };
      const before: Record<string, unknown> = {};
      for (const column of Object.keys(changes)) before[column] = keep[column as keyof CustomerRow];
      await trx.updateTable('customers').set(changes).where('id', '=', keep.id).execute();
      await audit.updated('customers', keep.id, before, changes);
    }
    return { ...publicPlan(plan), auditId: audit.logId };
  });
}

function publicPlan(plan: MergePlan): MergePlan {
  const { keep, other, moves, tagsAdded, fieldsAdded, fieldsKept, filled } = plan;
  return { keep, other, moves, tagsAdded, fieldsAdded, fieldsKept, filled };
}
