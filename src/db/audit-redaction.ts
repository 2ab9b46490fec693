// Redacting the audit trail (`customer forget`), the one change the trail ever takes. On SQLite a
// plain UPDATE; on PostgreSQL no team role may update the trail, so it goes through the functions
// the access-control migration made (SECURITY DEFINER, EXECUTE for the owner group only: see
// team-setup.ts), and a non-owner is refused by the database itself.
import { sql, type Kysely, type Transaction } from 'kysely';
import { engineOf } from './engine.js';
import { PG_SCHEMA } from './postgres-ddl.js';
import type { DB } from './schema.js';

type Db = Kysely<DB> | Transaction<DB>;

/** New before/after values of one audit change. */
export async function redactAuditChange(db: Db, changeId: number, before: string | null, after: string | null): Promise<void> {
  if (engineOf(db) === 'postgres') {
    await sql`SELECT ${sql.id(PG_SCHEMA, 'redact_audit_change')}(${changeId}::bigint, ${before}::text, ${after}::text)`.execute(db);
    return;
  }
  await db.updateTable('audit_change').set({ before, after }).where('id', '=', changeId).execute();
}

/** New summary and command line of one audit entry; `unlink` also forgets which customer it was about. */
export async function redactAuditEntry(db: Db, entryId: number, summary: string | null, command: string, unlink: boolean): Promise<void> {
  if (engineOf(db) === 'postgres') {
    await sql`SELECT ${sql.id(PG_SCHEMA, 'redact_audit_entry')}(${entryId}::bigint, ${summary}::text, ${command}::text, ${unlink})`.execute(db);
    return;
  }
  await db
    .updateTable('audit_log')
    .set({ summary, command, ...(unlink ? { customer_id: null } : {}) })
    .where('id', '=', entryId)
    .execute();
}

/** Erases the before/after values of these audit changes whole (those that had one become `erased`). */
export async function eraseAuditChanges(db: Db, changeIds: readonly number[], erased: string): Promise<void> {
  if (changeIds.length === 0) return;
  if (engineOf(db) === 'postgres') {
    await sql`SELECT ${sql.id(PG_SCHEMA, 'erase_audit_changes')}(${[...changeIds]}::bigint[], ${erased}::text)`.execute(db);
    return;
  }
  await sql`UPDATE audit_change SET before = CASE WHEN before IS NULL THEN NULL ELSE ${erased} END,
                                    after = CASE WHEN after IS NULL THEN NULL ELSE ${erased} END
            WHERE id IN (${sql.join(changeIds)})`.execute(db);
}
