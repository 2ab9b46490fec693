// Customers: the profile, tags and custom fields, and resolving a `<customer>` reference
// (id, email, or a unique name) to a row. Every write records an audit entry in its transaction.
import type { Kysely, Transaction } from 'kysely';
import type { CustomerRow, DB } from '../db/schema.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { phoneDigits, type Gender } from '../domain/validation.js';
import { beginAudit, type WriteMeta } from './audit.js';

type Db = Kysely<DB> | Transaction<DB>;

export interface CustomerInput {
  name: string;
  email?: string | null;
  phone?: string | null;
  age?: number | null;
  gender?: Gender | null;
  company?: string | null;
  city?: string | null;
  source?: string | null;
  tags?: string[];
  fields?: Record<string, string>;
}

/** One line naming a customer, for messages and candidate lists: `#12 Li Wei <li@example.com>`. */
export function describeCustomer(c: Pick<CustomerRow, 'id' | 'name' | 'email'>): string {
  return `#${c.id} ${c.name}${c.email ? ` <${c.email}>` : ''}`;
}

/**
 * Finds the one customer a reference means: all digits is an id, an `@` is an email (any case),
 * anything else a name that must match exactly one customer (any case).
 */
export async function resolveCustomer(db: Db, reference: string): Promise<CustomerRow> {
  const ref = reference.trim();
  if (/^\d+$/.test(ref)) {
    const row = await db.selectFrom('customers').selectAll().where('id', '=', Number(ref)).executeTakeFirst();
    if (!row) throw new NotFoundError(`no customer with id ${ref}`, { hint: 'find ids with `crm customer list --search TEXT`' });
    return row;
  }
  if (ref.includes('@')) {
    const row = await db.selectFrom('customers').selectAll().where('email', '=', ref).executeTakeFirst();
    if (!row) throw new NotFoundError(`no customer with email ${ref}`);
    return row;
  }
  const rows = await db
    .selectFrom('customers')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['name']), '=', ref.toLowerCase()))
    .orderBy('id')
    .limit(11)
    .execute();
  if (rows.length === 0) {
    throw new NotFoundError(`no customer named "${ref}"`, { hint: 'use an id or email, or search with `crm customer list --search TEXT`' });
  }
  if (rows.length > 1) {
    const shown = rows.slice(0, 10).map((r) => `  ${describeCustomer(r)}`);
    if (rows.length > 10) shown.push('  …');
    throw new NotFoundError(`"${ref}" matches ${rows.length > 10 ? 'more than 10' : rows.length} customers`, {
      details: shown,
      hint: 'use the id or email instead',
    });
  }
  return rows[0]!;
}

/** Throws a ValidationError when another customer already has this email. */
export async function assertEmailFree(db: Db, email: string, exceptId?: number): Promise<void> {
  let query = db.selectFrom('customers').select(['id', 'name', 'email']).where('email', '=', email);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const other = await query.executeTakeFirst();
  if (other) {
    throw new ValidationError(`a customer with email ${email} already exists: ${describeCustomer(other)}`, {
      hint: `edit that customer with \`crm customer edit ${other.id}\``,
    });
  }
}

/** Tag ids for names, creating missing tags. */
export async function ensureTags(db: Db, names: readonly string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const name of new Set(names.map((n) => n.trim()).filter(Boolean))) {
    const existing = await db.selectFrom('tags').select('id').where('name', '=', name).executeTakeFirst();
    if (existing) ids.push(existing.id);
    else ids.push((await db.insertInto('tags').values({ name }).returning('id').executeTakeFirstOrThrow()).id);
  }
  return ids;
}

export async function addCustomer(db: Kysely<DB>, input: CustomerInput, meta: WriteMeta): Promise<CustomerRow> {
  return db.transaction().execute(async (trx) => {
    if (input.email) await assertEmailFree(trx, input.email);
    const at = meta.now.toISOString();
    const row = await trx
      .insertInto('customers')
      .values({
        name: input.name,
        email: input.email ?? null,
        phone: input.phone ?? null,
        phone_digits: input.phone ? phoneDigits(input.phone) : null,
        age: input.age ?? null,
        gender: input.gender ?? null,
        company: input.company ?? null,
        city: input.city ?? null,
        source: input.source ?? null,
        created_at: at,
        updated_at: at,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'customer.add',
      entity: 'customer',
      entityId: row.id,
      customerId: row.id,
      summary: describeCustomer(row),
    });
    await audit.inserted('customers', row.id, row);
    for (const tagId of await ensureTags(trx, input.tags ?? [])) {
      await trx.insertInto('customer_tags').values({ customer_id: row.id, tag_id: tagId }).onConflict((oc) => oc.doNothing()).execute();
    }
    for (const [key, value] of Object.entries(input.fields ?? {})) {
      await trx.insertInto('customer_fields').values({ customer_id: row.id, key, value }).execute();
    }
    return row;
  });
}
