// The audit trail: every write command records one audit_log entry (who, when, which command)
// and its row changes (table, id, before/after as JSON) in the same transaction as the write, so
// the trail can never disagree with the data, and `crm undo` can reverse an entry exactly.
import { sql, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import { engineOf, jsonObjectSql } from '../db/dialect.js';
import type { DB } from '../db/schema.js';

/** Who is writing: the OS user and the command line, supplied by the CLI. */
export interface Actor {
  user: string;
  command: string;
}

/** What every write service needs besides its input: the clock and the actor. */
export interface WriteMeta {
  now: Date;
  actor: Actor;
}

export interface AuditEntryInput {
  /** Dotted verb, e.g. `customer.add`, `import.customers`, `customer.merge`. */
  action: string;
  /** The main entity kind (`customer`, `sale`, …) and id, where there is one. */
  entity: string;
  entityId?: number | null;
  customerId?: number | null;
  summary?: string | null;
}

type Db = Kysely<DB> | Transaction<DB>;
type RowValues = Record<string, unknown>;

export interface AuditRecorder {
  readonly logId: number;
  inserted(table: keyof DB & string, rowId: number, after: RowValues): Promise<void>;
  updated(table: keyof DB & string, rowId: number, before: RowValues, after: RowValues): Promise<void>;
  deleted(table: keyof DB & string, rowId: number, before: RowValues): Promise<void>;
  /**
   * Records, in one statement, the rows of `table` matching `where` as deleted (call it before
   * deleting them). `columns` are all of the table's columns, so undo can put the rows back.
   * For bulk deletes; the table must have an `id`.
   */
  deletedWhere(table: keyof DB & string, columns: readonly string[], where: RawBuilder<SqlBool>): Promise<number>;
  /** Rows firstId..lastId (inclusive) of `table` were inserted by this entry (bulk imports). */
  insertedRange(table: keyof DB & string, firstId: number, lastId: number): Promise<void>;
  /** Sets the entry's main entity id once it is known (e.g. after the insert). */
  setEntity(entityId: number, customerId?: number | null): Promise<void>;
}

/** Opens an audit entry. Call inside the transaction that makes the change. */
export async function beginAudit(db: Db, meta: WriteMeta, entry: AuditEntryInput): Promise<AuditRecorder> {
  const { id: logId } = await db
    .insertInto('audit_log')
    .values({
      at: meta.now.toISOString(),
      actor: meta.actor.user,
      command: meta.actor.command,
      action: entry.action,
      entity: entry.entity,
      entity_id: entry.entityId ?? null,
      customer_id: entry.customerId ?? null,
      summary: entry.summary ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  const change = async (table: string, rowId: number, op: 'insert' | 'update' | 'delete', before: RowValues | null, after: RowValues | null) => {
    await db
      .insertInto('audit_change')
      .values({
        log_id: logId,
        table_name: table,
        row_id: rowId,
        op,
        before: before ? JSON.stringify(before) : null,
        after: after ? JSON.stringify(after) : null,
      })
      .execute();
  };

  return {
    logId,
    inserted: (table, rowId, after) => change(table, rowId, 'insert', null, after),
    updated: (table, rowId, before, after) => change(table, rowId, 'update', before, after),
    deleted: (table, rowId, before) => change(table, rowId, 'delete', before, null),
    async deletedWhere(table, columns, where) {
      const before = sql.raw(jsonObjectSql(engineOf(db), columns));
      const result = await sql`
        INSERT INTO audit_change (log_id, table_name, row_id, op, before, after)
        SELECT ${logId}, ${table}, id, 'delete', ${before}, NULL FROM ${sql.table(table)} WHERE ${where} ORDER BY id`.execute(db);
      return Number(result.numAffectedRows ?? 0n);
    },
    async insertedRange(table, firstId, lastId) {
      if (lastId < firstId) return;
      await db.insertInto('audit_range').values({ log_id: logId, table_name: table, first_id: firstId, last_id: lastId }).execute();
    },
    async setEntity(entityId, customerId) {
      await db
        .updateTable('audit_log')
        .set({ entity_id: entityId, ...(customerId !== undefined ? { customer_id: customerId } : {}) })
        .where('id', '=', logId)
        .execute();
    },
  };
}
