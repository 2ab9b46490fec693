// `crm export`: every customer, sale, activity, ticket or deal as rows in the import's column
// layout, so an export imports back losslessly. The rows stream from the database in constant memory
// (src/db/bulk-read.ts), so exporting millions of rows needs no more memory than exporting a thousand.
import type { Kysely } from 'kysely';
import { readExport, type ExportStream } from '../db/bulk-read.js';
import type { DB } from '../db/schema.js';
import type { ExportKind } from '../domain/imports.js';

export interface ExportInput {
  kind: ExportKind;
  /**
   * Only these customers (and their sales, activities, tickets, deals): the hook for
   * `--segment NAME`, whose members the segments engine resolves. Undefined: everyone.
   */
  customerIds?: Iterable<number>;
}

export type ExportResult = ExportStream;

export function exportRows(db: Kysely<DB>, input: ExportInput): Promise<ExportResult> {
  return readExport(db, input.kind, input.customerIds);
}
