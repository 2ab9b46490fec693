// `customer list`: filtering, searching and sorting customers. One statement (src/db/customer-list.ts)
// streamed from a row source: a prepared statement on the raw SQLite handle (no Kysely, because it
// is the command people and scripts run most, and start-up time is most of its cost), a cursor on
// PostgreSQL.
import { customerListSql, CUSTOMER_SORT_FIELDS, type CustomerSortField } from '../db/customer-list.js';
import type { RowSource } from '../db/row-source.js';
import type { CustomerRow } from '../db/schema.js';
import { phoneDigits } from '../domain/validation.js';

export { CUSTOMER_SORT_FIELDS, type CustomerSortField };

export interface CustomerFilter {
  /** Every tag must be on the customer (any case). */
  tags?: readonly string[];
  /** Exact city, any case. */
  city?: string;
  /** Only the customers this user owns (and, on a one-person SQLite file, those without an owner). */
  owner?: { name: string; orUnowned: boolean };
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

/** The customers a filter selects, streamed in the order asked for (synchronously on SQLite). */
export function listCustomers(source: RowSource, filter: CustomerFilter = {}): Iterable<CustomerListRow> | AsyncIterable<CustomerListRow> {
  const search = filter.search?.trim();
  const needle = search ? search.toLowerCase() : undefined;
  const digits = needle !== undefined && /^[\d\s+\-().]+$/.test(needle) ? phoneDigits(needle) : '';
  const { sql, params } = customerListSql(source.engine, {
    tags: (filter.tags ?? []).map((t) => t.trim()),
    city: filter.city?.trim(),
    owner: filter.owner,
    search: needle,
    searchDigits: digits.length >= 3 ? digits : undefined,
    where: filter.where,
    quietSince: filter.quietSince,
    sort: filter.sort,
    limit: filter.limit,
  });
  return source.iterate<CustomerListRow>(sql, params);
}
