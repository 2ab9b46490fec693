// `customer list`: filtering, searching and sorting customers. One statement (src/db/customer-list.ts)
// streamed by a reader (src/db/reader.ts): a prepared statement on the raw SQLite handle (no Kysely,
// because it is the command people and scripts run most, and start-up time is most of its cost), a
// cursor on PostgreSQL.
import { CUSTOMER_SORT_FIELDS, type CustomerListRow, type CustomerSortField } from '../db/customer-list.js';
import type { Reader, Rows } from '../db/reader.js';
import { phoneDigits } from '../domain/validation.js';
import { lookUpSegment } from './segment-read.js';

export { CUSTOMER_SORT_FIELDS, type CustomerListRow, type CustomerSortField };

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
   * Only the members of this saved segment or stored RFM group (`rfm:at-risk`), as it stands at
   * `now`; NotFoundError (exit 1) when there is none.
   */
  segment?: { name: string; now: Date };
  /**
   * Only customers not contacted since this instant (ISO): whose latest activity, or when they were
   * added if they have none, is before it. Adds `last_contact` (the latest activity, or null).
   */
  quietSince?: string;
  sort?: { field: CustomerSortField; descending: boolean };
  limit?: number;
}

/** The customers a filter selects, streamed in the order asked for (synchronously on SQLite). */
export async function listCustomers(reader: Reader, filter: CustomerFilter = {}): Promise<Rows<CustomerListRow>> {
  const search = filter.search?.trim();
  const needle = search ? search.toLowerCase() : undefined;
  const digits = needle !== undefined && /^[\d\s+\-().]+$/.test(needle) ? phoneDigits(needle) : '';
  const segment = filter.segment && { info: await lookUpSegment(reader, filter.segment.name), now: filter.segment.now };
  return reader.customers({
    tags: (filter.tags ?? []).map((t) => t.trim()),
    city: filter.city?.trim(),
    owner: filter.owner,
    search: needle,
    searchDigits: digits.length >= 3 ? digits : undefined,
    segment,
    quietSince: filter.quietSince,
    sort: filter.sort,
    limit: filter.limit,
  });
}
