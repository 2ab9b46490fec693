// The counts behind the data section of `crm db check` (services/quality.ts) and the customer rows
// `customer duplicates` reads, one SQL text for SQLite and PostgreSQL through dialect.ts.
import type { Kysely } from 'kysely';
import { rawColumn, rawIterate } from './dialect.js';
import type { DB } from './schema.js';

/** Child rows and the parent they must point at. */
const PARENTS: readonly [string, string, string][] = [
  ['activities', 'customer_id', 'customers'],
  ['sales', 'customer_id', 'customers'],
  ['deals', 'customer_id', 'customers'],
  ['tickets', 'customer_id', 'customers'],
  ['tasks', 'customer_id', 'customers'],
  ['customer_tags', 'customer_id', 'customers'],
  ['customer_tags', 'tag_id', 'tags'],
  ['customer_fields', 'customer_id', 'customers'],
  ['activity_links', 'from_id', 'activities'],
  ['activity_links', 'to_id', 'activities'],
  ['deal_stage_history', 'deal_id', 'deals'],
  ['ticket_events', 'ticket_id', 'tickets'],
  ['ticket_ratings', 'ticket_id', 'tickets'],
];

async function count(db: Kysely<DB>, text: string, params: readonly unknown[] = []): Promise<number> {
  return ((await rawColumn<number | null>(db, text, params))[0] ?? 0) as number;
}

/** Customers with neither an email nor a phone. */
export function customersWithoutContact(db: Kysely<DB>): Promise<number> {
  return count(db, "SELECT count(*) FROM customers WHERE (email IS NULL OR email = '') AND (phone IS NULL OR phone = '')");
}

/** Every non-empty value of a contact column of customers, streamed. */
export async function* customerContacts(db: Kysely<DB>, column: 'email' | 'phone'): AsyncGenerator<string> {
  for await (const row of rawIterate<{ value: string }>(db, `SELECT ${column} AS value FROM customers WHERE ${column} IS NOT NULL AND ${column} != ''`)) {
    yield row.value;
  }
}

/** Customers created before `cutoff` with no activity since `cutoff` and no live sale since `cutoffDay`. */
export function quietCustomers(db: Kysely<DB>, cutoff: string, cutoffDay: string): Promise<number> {
  return count(
    db,
    `SELECT count(*) FROM customers c WHERE c.created_at < ?
       AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.customer_id = c.id AND a.at >= ?)
       AND NOT EXISTS (SELECT 1 FROM sales s WHERE s.customer_id = c.id AND s.voided_at IS NULL AND s.sold_on >= ?)`,
    [cutoff, cutoff, cutoffDay],
  );
}

/** Rows pointing at a parent row that is gone, over every child table. */
export async function orphanedRows(db: Kysely<DB>): Promise<number> {
  let total = 0;
  for (const [child, column, parent] of PARENTS) {
    total += await count(db, `SELECT count(*) FROM ${child} x WHERE x.${column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE p.id = x.${column})`);
  }
  return total;
}

/** Tags no customer carries. */
export function unusedTags(db: Kysely<DB>): Promise<number> {
  return count(db, 'SELECT count(*) FROM tags t WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tag_id = t.id)');
}

export interface DuplicateCandidateRow {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  city: string | null;
}

/** Every customer's matching fields, by id, streamed (`customer duplicates`, `db check`). */
export function duplicateCandidates(db: Kysely<DB>): AsyncGenerator<DuplicateCandidateRow> {
  return rawIterate<DuplicateCandidateRow>(db, 'SELECT id, name, email, phone, company, city FROM customers ORDER BY id');
}
