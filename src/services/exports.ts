// `crm export`: every customer, sale, activity, ticket or deal as rows in the import's column
// layout, so an export imports back losslessly. The rows stream from the database in constant memory
// (src/db/bulk-read.ts), so exporting millions of rows needs no more memory than exporting a thousand.
// Each export ends at a position in the database's change log (the next cursor); given an earlier
// one (`--changed-since`), only what was added, edited or removed since is exported.
import type { ExportStream } from '../db/bulk-read.js';
import type { Reader } from '../db/reader.js';
import { EXPORT_KINDS, type ExportKind } from '../domain/imports.js';
import { prunedCursorError, type ChangePosition } from '../domain/change-cursor.js';
import { ValidationError } from '../domain/errors.js';

export interface ExportInput {
  kind: ExportKind;
  /**
   * Only these customers (and their sales, activities, tickets, deals): the hook for
   * `--segment NAME`, whose members the segments engine resolves. Undefined: everyone.
   */
  customerIds?: Iterable<number>;
  /** Only what changed since this position (a cursor an earlier export printed). */
  since?: ChangePosition;
}

export type ExportResult = ExportStream;

/**
 * Refuses a cursor this database cannot continue from: another database's, one from its future, or
 * one older than the change log kept (the export checks that again in its own snapshot).
 */
async function checkCursor(reader: Reader, kind: ExportKind, since: ChangePosition): Promise<void> {
  const now = await reader.currentChangePosition();
  if (now === null) {
    throw new ValidationError('--changed-since needs a change log, which this database does not keep', {
      hint: `export everything: crm export ${kind}`,
    });
  }
  const fresh = { hint: `export everything once (crm export ${kind}) and keep the cursor it prints` };
  if (since.database !== now.database) {
    throw new ValidationError(`the cursor is from another database (${since.database}), not this one (${now.database})`, fresh);
  }
  const ahead = EXPORT_KINDS.filter((k) => since.highestIds[k] > now.highestIds[k]);
  if (since.seq > now.seq || ahead.length > 0) {
    const what = since.seq > now.seq ? `change ${since.seq}, this database is at ${now.seq}` : `${ahead[0]} id ${since.highestIds[ahead[0]!]}, the highest here is ${now.highestIds[ahead[0]!]}`;
    throw new ValidationError(`the cursor is from the future of this database (${what}): was the database restored from an older backup?`, fresh);
  }
  const horizon = await reader.changeLogHorizon();
  if (since.seq < horizon) throw prunedCursorError(kind, since.seq, horizon);
}

export async function exportRows(reader: Reader, input: ExportInput): Promise<ExportResult> {
  if (input.since) await checkCursor(reader, input.kind, input.since);
  return reader.exportRows(input.kind, input.customerIds, input.since);
}
