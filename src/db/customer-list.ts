// The statement behind `customer list`: filters, search, sort and limit as one SELECT for either
// engine (a prepared statement on a raw SQLite handle, a cursor on PostgreSQL; see row-source.ts).
// Every value is a bound parameter; only the fixed column names below are spliced in. Kept free of
// Kysely so `customer list` on a current SQLite file starts without loading it.
import { customerLabelSql } from './customer-label.js';
import type { Engine } from './engine.js';
import type { CustomerRow } from './schema.js';
import { containsText, groupConcatOrdered, nocase } from './engine-sql.js';

/** Fields `customer list --sort` accepts; a leading `-` sorts descending. */
export const CUSTOMER_SORT_FIELDS = ['id', 'name', 'email', 'city', 'company', 'age', 'created', 'updated'] as const;
export type CustomerSortField = (typeof CUSTOMER_SORT_FIELDS)[number];

/** Sort keys; the case-insensitive ones compare as SQLite's NOCASE (ASCII folded, then bytes). */
function sortColumn(engine: Engine, field: CustomerSortField): string {
  switch (field) {
    case 'id':
      return 'c.id';
    case 'name':
    case 'city':
    case 'company':
      return nocase(engine, `c.${field}`);
    case 'email':
      return 'c.email';
    case 'age':
      return 'c.age';
    case 'created':
      return 'c.created_at';
    case 'updated':
      return 'c.updated_at';
  }
}

// A type, not an interface, so a row is also a plain record the renderers take as it is.
export type CustomerListRow = CustomerRow & {
  /** Tag names sorted, joined with `;` (the import format). */
  tags: string;
  /** With `quietSince`: the customer's latest activity, or null. */
  last_contact?: string | null;
};

export interface CustomerListQuery {
  /** Every tag must be on the customer (any case). */
  tags?: readonly string[];
  /** Exact city, any case. */
  city?: string;
  /** Only this owner's customers (and unowned ones, with orUnowned). */
  owner?: { name: string; orUnowned: boolean };
  /** Lower-cased needle: a substring of name, email, phone, company, city or external id. */
  search?: string;
  /** Digits of the needle, when it looks like a phone number: a substring of the phone's digits. */
  searchDigits?: string;
  /** An extra condition on the customer row `c`, with `?` placeholders. */
  where?: { sql: string; params: readonly unknown[] };
  /** Only customers whose latest activity (else their creation) is before this instant; adds last_contact. */
  quietSince?: string;
  sort?: { field: CustomerSortField; descending: boolean };
  limit?: number;
}

/** The SELECT for `customer list` with its parameters, in the given engine's spelling. */
export function customerListSql(engine: Engine, query: CustomerListQuery): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const tag of query.tags ?? []) {
    // tags.name is NOCASE on SQLite and citext on PostgreSQL: = ignores case on both.
    where.push(`EXISTS (SELECT 1 FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id AND t.name = ?)`);
    params.push(tag);
  }
  if (query.city !== undefined) {
    // PostgreSQL: the column's lower() folds ASCII only ("C"), so the value is folded the same way here.
    where.push(engine === 'postgres' ? 'lower(c.city) = ?' : 'c.city = ? COLLATE NOCASE');
    params.push(engine === 'postgres' ? query.city.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : query.city);
  }
  if (query.owner !== undefined) {
    where.push(query.owner.orUnowned ? '(c.owner = ? OR c.owner IS NULL)' : 'c.owner = ?');
    params.push(query.owner.name);
  }
  if (query.search) {
    const columns = ['c.name', 'c.email', 'c.phone', 'c.company', 'c.city', 'c.external_id'];
    const clauses = columns.map((column) => containsText(engine, `lower(coalesce(${column}, ''))`, '?'));
    params.push(...columns.map(() => query.search));
    if (query.searchDigits) {
      clauses.push(containsText(engine, `coalesce(c.phone_digits, '')`, '?'));
      params.push(query.searchDigits);
    }
    where.push(`(${clauses.join(' OR ')})`);
  }
  if (query.where) {
    where.push(`(${query.where.sql})`);
    params.push(...query.where.params);
  }
  // One pass: the last contact is both the condition and a column.
  const LAST_CONTACT = '(SELECT max(a.at) FROM activities a WHERE a.customer_id = c.id)';
  const lastContact = query.quietSince === undefined ? '' : `, ${LAST_CONTACT} AS last_contact`;
  if (query.quietSince !== undefined) {
    where.push(`coalesce(${LAST_CONTACT}, c.created_at) < ?`);
    params.push(query.quietSince);
  }
  const sort = query.sort ?? { field: 'id', descending: false };
  const column = sortColumn(engine, sort.field);
  // Blank values sort last either way; ties keep id order. Ids are never blank, and in id order
  // SQLite reads the table as it is stored, with no sort.
  const order = column === 'c.id' ? `c.id ${sort.descending ? 'DESC' : 'ASC'}` : `${column} IS NULL, ${column} ${sort.descending ? 'DESC' : 'ASC'}, c.id`;
  const tags = groupConcatOrdered(engine, 't.name', ';', 'FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id', nocase(engine, 't.name'));
  let sql = `SELECT c.*, ${customerLabelSql('c')} AS name, coalesce(${tags}, '') AS tags${lastContact}
    FROM customers c
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${order}`;
  if (query.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(query.limit);
  }
  return { sql, params };
}
