// `customer list`: filtering, searching and sorting customers. Written on the raw better-sqlite3
// handle with one prepared statement (no Kysely), because it is the command people and scripts run
// most, and start-up time is most of its cost. Every value is a bound parameter; only whitelisted
// column names are spliced into the SQL.
import type Database from 'better-sqlite3';
import { customerLabelSql } from '../db/customer-label.js';
import type { CustomerRow } from '../db/schema.js';
import { phoneDigits } from '../domain/validation.js';

/** Fields `customer list --sort` accepts; a leading `-` sorts descending. */
export const CUSTOMER_SORT_FIELDS = ['id', 'name', 'email', 'city', 'company', 'age', 'created', 'updated'] as const;
export type CustomerSortField = (typeof CUSTOMER_SORT_FIELDS)[number];

const SORT_COLUMNS: Record<CustomerSortField, string> = {
  id: 'c.id',
  name: 'c.name COLLATE NOCASE',
  email: 'c.email',
  city: 'c.city COLLATE NOCASE',
  company: 'c.company COLLATE NOCASE',
  age: 'c.age',
  created: 'c.created_at',
  updated: 'c.updated_at',
};

export interface CustomerFilter {
  /** Every tag must be on the customer (any case). */
  tags?: readonly string[];
  /** Exact city, any case. */
  city?: string;
  /** Case-insensitive substring of name, email, phone (digits too), company or city. */
  search?: string;
  /**
   * An extra condition on the customer row `c` with its parameters, e.g. a compiled segment
   * expression. It must use `?` placeholders only.
   */
  where?: { sql: string; params: readonly unknown[] };
  /**
   * Only customers not contacted since this instant (ISO): whose latest activity, or when they were
   * added if they have none, is before it. Adds `last_contact` (the latest activity, or null).
   */
  quietSince?: string;
  sort?: { field: CustomerSortField; descending: boolean };
  limit?: number;
}

// A type, not an interface, so a row is also a plain record the renderers take as it is.
export type CustomerListRow = CustomerRow & {
  /** Tag names sorted, joined with `;` (the import format). */
  tags: string;
  /** With `quietSince`: the customer's latest activity, or null. */
  last_contact?: string | null;
};

/** The customers a filter selects, streamed from SQLite in the order asked for. */
export function listCustomers(sqlite: Database.Database, filter: CustomerFilter = {}): IterableIterator<CustomerListRow> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const tag of filter.tags ?? []) {
    where.push(`EXISTS (SELECT 1 FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id AND t.name = ?)`);
    params.push(tag.trim());
  }
  if (filter.city !== undefined) {
    where.push('c.city = ? COLLATE NOCASE');
    params.push(filter.city.trim());
  }
  const search = filter.search?.trim();
  if (search) {
    const needle = search.toLowerCase();
    const columns = ['c.name', 'c.email', 'c.phone', 'c.company', 'c.city', 'c.external_id'];
    const clauses = columns.map((column) => `instr(lower(coalesce(${column}, '')), ?) > 0`);
    params.push(...columns.map(() => needle));
    const digits = phoneDigits(needle);
    if (/^[\d\s+\-().]+$/.test(needle) && digits.length >= 3) {
      clauses.push(`instr(coalesce(c.phone_digits, ''), ?) > 0`);
      params.push(digits);
    }
    where.push(`(${clauses.join(' OR ')})`);
  }
  if (filter.where) {
    where.push(`(${filter.where.sql})`);
    params.push(...filter.where.params);
  }
  // One pass: the last contact is both the condition and a column.
  const LAST_CONTACT = '(SELECT max(a.at) FROM activities a WHERE a.customer_id = c.id)';
  const lastContact = filter.quietSince === undefined ? '' : `, ${LAST_CONTACT} AS last_contact`;
  if (filter.quietSince !== undefined) {
    where.push(`coalesce(${LAST_CONTACT}, c.created_at) < ?`);
    params.push(filter.quietSince);
  }
  const sort = filter.sort ?? { field: 'id', descending: false };
  const column = SORT_COLUMNS[sort.field];
  // Blank values sort last either way; ties keep id order. Ids are never blank, and in id order
  // SQLite reads the table as it is stored, with no sort.
  const order = column === 'c.id' ? `c.id ${sort.descending ? 'DESC' : 'ASC'}` : `${column} IS NULL, ${column} ${sort.descending ? 'DESC' : 'ASC'}, c.id`;
  let sql = `SELECT c.*, ${customerLabelSql('c')} AS name, coalesce((SELECT group_concat(name, ';') FROM (
      SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
      WHERE ct.customer_id = c.id ORDER BY t.name COLLATE NOCASE)), '') AS tags${lastContact}
    FROM customers c
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${order}`;
  if (filter.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(filter.limit);
  }
  return sqlite.prepare(sql).iterate(...params) as IterableIterator<CustomerListRow>;
}
