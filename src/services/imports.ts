// `crm import`: one file's records into customers, sales, activities or tickets, all or nothing,
// under one audit entry. The pipeline itself (validation with the domain's parsers, prepared
// statements, deferred indexes) is src/db/sqlite-import.ts; on PostgreSQL it runs on a scratch
// SQLite copy of what the import reads, whose rows then go to the server with COPY (import-space.ts).
import type { Kysely } from 'kysely';
import { engineOf } from '../db/engine.js';
import type { DB } from '../db/schema.js';
import { importIntoSqlite, type ImportHooks, type ImportInput, type ImportResult } from '../db/sqlite-import.js';
import type { ImportKind } from '../domain/imports.js';
import { beginAudit, type WriteMeta } from './audit.js';

export type { ImportCounts, ImportHooks, ImportInput, ImportResult } from '../db/sqlite-import.js';

const ENTITY: Record<ImportKind, string> = { customers: 'customer', sales: 'sale', activities: 'activity', tickets: 'ticket' };

/**
 * Imports the records of one file in one transaction. Throws a ValidationError listing the first
 * problems when a row is invalid (unless skipInvalid), and rolls back for a dry run.
 */
export async function importRecords(db: Kysely<DB>, input: ImportInput, meta: WriteMeta, hooks: ImportHooks = {}): Promise<ImportResult> {
  if (engineOf(db) === 'postgres') {
    const { importThroughSpace } = await import('../db/import-space.js');
    const result = await importThroughSpace(db, input.kind, input.dryRun, (scratch) => importRecords(scratch, { ...input, dryRun: false, scratch: true }, meta, hooks));
    return { ...result, dryRun: input.dryRun };
  }
  const openAudit = () => beginAudit(db, meta, { action: `import.${input.kind}`, entity: ENTITY[input.kind], summary: `import ${input.kind} from ${input.source}` });
  return importIntoSqlite(db, input, { now: meta.now, user: meta.actor.user }, openAudit, hooks);
}
