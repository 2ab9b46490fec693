// Runs on the reader thread of a big `crm import sales` file (a BatchStep, see src/io/csv-worker.ts):
// works out the import key of every sale known by its content (no external_id, no order) while
// the import writes the batches before, as a key costs two SHA-1 hashes and its customer's id. It
// reads each row as the import will (same header plan, same context) and finds the customer on a
// read-only connection of its own. The import takes a key only when it finds the same customer
// for the row; any other row (a refund, an invalid row, a customer not found) it keys itself.
import type Database from 'better-sqlite3';
import { planHeader, readSale, RowReader, type BatchKeys, type RecordBatch, type RowContext, type SaleRecord } from '../domain/imports.js';
import { customerResolver } from './customer-resolver.js';
import { saleContent, saleKey, SALE_KEY_WIDTH } from './sale-key.js';
import { openSqlite } from './sqlite.js';

/** What the step starts from: the database and how the import reads the file. */
export interface SaleKeysData {
  path: string;
  ctx: Pick<RowContext, 'now' | 'dateFormat' | 'customerKey'>;
  maps: ReadonlyArray<{ from: string; to: string }>;
  ignoreUnknown: boolean;
  update: boolean;
}

const NONE = ' '.repeat(SALE_KEY_WIDTH);
/** Customers looked up by one statement: a statement a row costs three times as much. */
const LOOKUP_BATCH = 256;
/** Pages of the customers' indexes kept in memory (KiB), as the import keeps them. */
const CACHE_KIB = 65536;

/** The ids of the customers with these values of `column` (undefined: none), as the import's join finds them. */
function lookup(sqlite: Database.Database, column: 'email' | 'external_id'): (values: string[]) => Array<number | undefined> {
  const statement = (n: number) =>
    sqlite
      .prepare(`SELECT c.id FROM (VALUES ${Array.from({ length: n }, (_, i) => `(${i}, ?)`).join(', ')}) AS v LEFT JOIN customers AS c ON c.${column} = v.column2 ORDER BY v.column1`)
      .pluck();
  const full = statement(LOOKUP_BATCH);
  return (values) => {
    const ids: Array<number | undefined> = [];
    for (let i = 0; i < values.length; i += LOOKUP_BATCH) {
      const part = values.slice(i, i + LOOKUP_BATCH);
      for (const id of (part.length === LOOKUP_BATCH ? full : statement(part.length)).all(part) as Array<number | null>) ids.push(id ?? undefined);
    }
    return ids;
  };
}

export function stepOf(data: SaleKeysData): (batch: RecordBatch) => void {
  const { sqlite } = openSqlite(data.path, { readonly: true });
  sqlite.pragma(`cache_size = -${CACHE_KIB}`);
  const customers = customerResolver(sqlite);
  const byEmail = lookup(sqlite, 'email');
  const byExternalId = lookup(sqlite, 'external_id');
  const ctx: RowContext = { ...data.ctx };
  let reader: RowReader | undefined;
  // One read transaction a batch: a statement outside one opens and closes its own, which costs
  // more than the lookup.
  return sqlite.transaction((batch: RecordBatch) => {
    const { rows, lines } = batch;
    const owners = new Float64Array(rows.length).fill(-1);
    const keys: string[] = new Array<string>(rows.length).fill(NONE);
    /** The rows' sales, and the customers to find by email and by external id, with their rows. */
    const sales: Array<SaleRecord | undefined> = new Array<SaleRecord | undefined>(rows.length);
    const emails: string[] = [];
    const emailRows: number[] = [];
    const externalIds: string[] = [];
    const externalIdRows: number[] = [];
    let start = 0;
    if (!reader) {
      reader = new RowReader(planHeader('sales', rows[0]!, data.maps, data.ignoreUnknown, lines[0]!, data.update));
      start = 1;
    }
    for (let i = start; i < rows.length; i++) {
      try {
        reader.load(rows[i]!);
        const s = readSale(reader, ctx);
        if (s.externalId !== null || s.orderId !== null || s.refundOf !== null) continue;
        sales[i] = s;
        if (s.customer === null) {
          owners[i] = 0;
          continue;
        }
        const via = customers.batchKey(s.customer);
        if (via === null) owners[i] = customers.resolve(s.customer);
        else if (via.email !== null) emails.push(via.email), emailRows.push(i);
        else externalIds.push(via.externalId!), externalIdRows.push(i);
      } catch {
        // The import reports the row.
        sales[i] = undefined;
      }
    }
    byEmail(emails).forEach((id, j) => id !== undefined && (owners[emailRows[j]!] = id));
    byExternalId(externalIds).forEach((id, j) => id !== undefined && (owners[externalIdRows[j]!] = id));
    for (let i = start; i < rows.length; i++) {
      const s = sales[i];
      const owner = owners[i]!;
      if (s !== undefined && owner >= 0) keys[i] = saleKey(saleContent(owner === 0 ? null : owner, s), 1);
    }
    batch.keys = { width: SALE_KEY_WIDTH, keys: keys.join(''), owners } satisfies BatchKeys;
  });
}
