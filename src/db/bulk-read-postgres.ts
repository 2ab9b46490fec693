// The PostgreSQL half of bulk-read.ts (`crm export`): one statement read through a server-side
// cursor in batches, inside one read-only REPEATABLE READ transaction. Loaded only for a PostgreSQL
// URL, with Kysely.
import { CompiledQuery, type Kysely } from 'kysely';
import { prunedCursorError, type ChangePosition } from '../domain/change-cursor.js';
import { EXPORT_KINDS, EXTERNAL_ID_KINDS, type ExportKind } from '../domain/imports.js';
import { exportNames, fieldColumns, FIELD_KEYS_SQL, HORIZON_SQL, QUERIES, tagCell, tagOrder, TAGS_SQL, type ExportRow, type ExportStream } from './bulk-read.js';
import { POSTGRES_POSITION_SQL } from './change-log-postgres.js';
import { PG_SCHEMA } from './postgres-ddl.js';
import type { DB } from './schema.js';

/** Rows fetched per round trip of the cursor. */
const CURSOR_BATCH = 2000;

/** A kind's export columns on PostgreSQL: the tags as an array of ids, named in JavaScript. */
function postgresColumns(kind: ExportKind): string[] {
  return QUERIES[kind].columns.map((column) =>
    column === 'NULL AS tags' ? '(SELECT array_agg(l.tag_id) FROM customer_tags l WHERE l.customer_id = c.id) AS tags' : column,
  );
}

function postgresSql(kind: ExportKind, fieldCount: number, scoped: boolean): string {
  const q = QUERIES[kind];
  const columns = postgresColumns(kind);
  const where = [q.where ?? '', scoped ? `${q.customerColumn} = ANY($${fieldCount + 1}::bigint[])` : ''].filter(Boolean);
  return `SELECT ${[...columns, ...fieldColumns(fieldCount, (i) => `$${i + 1}`)].join(', ')} FROM ${q.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${q.order}`;
}

/** A column's name in the result: its alias, else the column after the table's letter. */
function columnName(column: string): string {
  const alias = /\sAS\s+(\w+)$/i.exec(column);
  return alias ? alias[1]! : column.slice(column.lastIndexOf('.') + 1);
}

/**
 * The rows changed since commit position $N+1 (N custom fields), with their change and the
 * external id they were last logged with: edited and removed first, then added, each in id order
 * (as on SQLite). A row is added when its first entry since is its insert and no entry of it is
 * older (a row removed and put back by undo reads as edited); a row added and removed since is not
 * shown. Entries without a commit position were copied in with the triggers off: older than any cursor.
 */
function postgresChangesSql(kind: ExportKind, fieldCount: number): string {
  const q = QUERIES[kind];
  const since = `$${fieldCount + 1}`;
  const table = `$${fieldCount + 2}`;
  const columns = postgresColumns(kind);
  const rows = `SELECT ${[...columns, ...fieldColumns(fieldCount, (i) => `$${i + 1}`), `${q.order} AS export_row`].join(', ')} FROM ${q.from}${q.where ? ` WHERE ${q.where}` : ''}`;
  return `WITH recent AS (
      SELECT r.row_id, r.added, r.external_id, r.seq, p.position
      FROM row_change_commits p JOIN row_changes r ON r.txid = p.txid
      WHERE p.position > ${since} AND r.table_name = ${table}),
    changed AS (
      SELECT row_id, (array_agg(added ORDER BY position, seq))[1] AS first_added,
        (array_agg(external_id ORDER BY position DESC, seq DESC))[1] AS last_external_id
      FROM recent GROUP BY row_id),
    classified AS (
      SELECT c.row_id, c.last_external_id, c.first_added AND NOT EXISTS (
          SELECT 1 FROM row_changes o LEFT JOIN row_change_commits op ON op.txid = o.txid
          WHERE o.table_name = ${table} AND o.row_id = c.row_id AND (op.position IS NULL OR op.position <= ${since})) AS is_new
      FROM changed c)
    SELECT k.row_id AS change_row, k.is_new AND x.export_row IS NOT NULL AS change_added, k.last_external_id AS change_external_id, x.*
    FROM classified k LEFT JOIN (${rows}) x ON x.export_row = k.row_id
    WHERE NOT (k.is_new AND x.export_row IS NULL)
    ORDER BY 2, 1`;
}

/** Where a PostgreSQL database stands in the calling transaction's snapshot (see change-log-postgres.ts). */
async function postgresChangePosition(run: <R>(text: string) => Promise<R[]>): Promise<ChangePosition> {
  const issued = EXPORT_KINDS.map(
    (kind) => `coalesce(pg_sequence_last_value(pg_get_serial_sequence('${PG_SCHEMA}.${kind}', 'id')::regclass), 0) AS "${kind}"`,
  );
  const [row] = await run<Record<string, unknown>>(
    `SELECT (SELECT id FROM database_identity LIMIT 1) AS database, (${POSTGRES_POSITION_SQL}) AS seq, ${issued.join(', ')}`,
  );
  const highestIds = Object.fromEntries(EXPORT_KINDS.map((kind) => [kind, Number(row![kind])])) as Record<ExportKind, number>;
  return { database: String(row!.database), seq: Number(row!.seq), highestIds };
}

export async function postgresExport(db: Kysely<DB>, kind: ExportKind, customerIds: Iterable<number> | undefined, since: ChangePosition | undefined): Promise<ExportStream> {
  const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
  try {
    const run = async <R>(text: string) => (await trx.executeQuery<R>(CompiledQuery.raw(text, []))).rows;
    const fieldKeys = kind === 'customers' ? (await run<{ key: string }>(FIELD_KEYS_SQL)).map((r) => r.key) : [];
    const order = kind === 'customers' ? tagOrder((await run<{ id: number; name: string }>(TAGS_SQL)).map((t) => [t.id, t.name] as const)) : undefined;
    // The same snapshot as the rows: the next cursor.
    const position = await postgresChangePosition(run);
    if (since) {
      // In the snapshot the rows come from: an optimize may have pruned since the cursor was checked.
      const horizon = Number((await run<{ horizon: number }>(HORIZON_SQL))[0]!.horizon);
      if (since.seq < horizon) throw prunedCursorError(kind, since.seq, horizon);
    }
    const params: unknown[] = [...fieldKeys];
    if (since) params.push(since.seq, kind);
    else if (customerIds !== undefined) params.push([...new Set(customerIds)]);
    const query = CompiledQuery.raw(since ? postgresChangesSql(kind, fieldKeys.length) : postgresSql(kind, fieldKeys.length, customerIds !== undefined), params);
    const fieldNames = exportNames(
      fieldKeys.map((_, i) => `f${i}`),
      fieldKeys,
    );
    const baseNames = QUERIES[kind].columns.map(columnName);
    const withExternalId = EXTERNAL_ID_KINDS.has(kind);
    /** A row of the change query as the export shows it: its change and id first (as on SQLite). */
    const changeRow = (r: ExportRow): ExportRow => {
      const id = Number(r.change_row);
      const present = r.export_row !== null && r.export_row !== undefined;
      const row: ExportRow = { change: r.change_added ? 'added' : present ? 'edited' : 'removed', id };
      for (const name of baseNames) row[name] = present ? r[name] : null;
      for (let i = 0; i < fieldNames.length; i++) row[fieldNames[i]!] = present ? r[`f${i}`] : null;
      if (present) {
        if (order) row.tags = r.tags === null ? null : tagCell(order, (r.tags as string[]).map(Number));
      } else {
        row.id = id;
        if (withExternalId) row.external_id = r.change_external_id ?? null;
      }
      return row;
    };
    async function* rows(): AsyncGenerator<ExportRow> {
      let done = false;
      try {
        for await (const batch of trx.getExecutor().stream<ExportRow>(query, CURSOR_BATCH)) {
          for (const row of batch.rows) {
            if (since) {
              yield changeRow(row);
              continue;
            }
            if (order) row.tags = row.tags === null ? null : tagCell(order, (row.tags as string[]).map(Number));
            for (let i = 0; i < fieldNames.length; i++) {
              row[fieldNames[i]!] = row[`f${i}`];
              delete row[`f${i}`];
            }
            yield row;
          }
        }
        await trx.commit().execute();
        done = true;
      } finally {
        // Stopped early (the output failed) or failed: the connection goes back to the pool.
        if (!done) await trx.rollback().execute().catch(() => undefined);
      }
    }
    return { fieldKeys, rows: rows(), position: () => position };
  } catch (error) {
    await trx.rollback().execute().catch(() => undefined);
    throw error;
  }
}

/** Where a PostgreSQL database stands now, for checking a cursor. */
export async function postgresCurrentPosition(db: Kysely<DB>): Promise<ChangePosition> {
  return postgresChangePosition(async <R>(text: string) => (await db.executeQuery<R>(CompiledQuery.raw(text, []))).rows);
}
