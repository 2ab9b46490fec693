// Pruning the change log (`crm db optimize`; see migrations/20261210_changes_0004). Entries have no
// time of their own, so each optimize notes where the log stands now (a mark); entries that were
// already in the log at a mark older than the kept window are removed, and the highest position
// removed becomes the horizon: an export cursor before it is refused, since changes it would need
// are gone. A cursor at or after it finds every entry it needs, as before.
//
// One kind of old entry stays: the last one of a row that is gone from its table. Both engines ask
// "was this id ever logged?" when a row comes back under its old id (`crm undo` of a removal) — on
// SQLite to log the insert at all, on PostgreSQL to call it edited rather than added — so without
// it a consumer that saw the removal would never hear of the return.
import type Database from 'better-sqlite3';
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { EXPORT_KINDS } from '../domain/imports.js';
import { sqliteOf } from './connection.js';
import { engineOf } from './engine.js';
import { HORIZON_SQL, sqliteChangeHorizon, sqliteChangeSeq } from './bulk-read.js';
import { POSTGRES_POSITION_SQL } from './change-log-postgres.js';
import type { DB } from './schema.js';

/** The tables that note pruning (marks and the horizon): bookkeeping of the log's positions, not data. */
export const PRUNING_NOTES: readonly string[] = ['row_change_marks', 'row_change_horizon'];

export interface PruneResult {
  /** Change-log entries removed. */
  pruned: number;
  /** The highest position pruned so far (0: none): cursors before it are refused. */
  horizon: number;
  /** False when this user may not prune (PostgreSQL: only the role that owns crm's tables may). */
  allowed: boolean;
}

/** True (1) when the row an entry names is still in its table. */
const ROW_PRESENT = `CASE table_name ${EXPORT_KINDS.map((t) => `WHEN '${t}' THEN EXISTS (SELECT 1 FROM ${t} x WHERE x.id = row_changes.row_id)`).join(' ')} ELSE 1 = 1 END`;
/** True when a later entry of the same row exists. */
const NOT_LAST = 'row_changes.seq < (SELECT max(l.seq) FROM row_changes l WHERE l.table_name = row_changes.table_name AND l.row_id = row_changes.row_id)';

function sqlitePrune(sqlite: Database.Database, now: string, cutoff: string): PruneResult {
  return sqlite.transaction((): PruneResult => {
    const horizon = sqliteChangeHorizon(sqlite);
    const upTo = sqlite.prepare('SELECT max(position) FROM row_change_marks WHERE marked_at < ?').pluck().get(cutoff) as number | null;
    let pruned = 0;
    if (upTo !== null) {
      pruned = sqlite.prepare(`DELETE FROM row_changes WHERE seq <= ? AND (${ROW_PRESENT} OR ${NOT_LAST})`).run(upTo).changes;
      sqlite.prepare('DELETE FROM row_change_marks WHERE position <= ?').run(upTo);
    }
    const next = Math.max(horizon, upTo ?? 0);
    if (next > horizon) {
      sqlite.prepare('DELETE FROM row_change_horizon').run();
      sqlite.prepare('INSERT INTO row_change_horizon (position) VALUES (?)').run(next);
    }
    // Where the log stands now, unless nothing was logged since the last note (or ever).
    const position = sqliteChangeSeq(sqlite);
    if (position > next && sqlite.prepare('SELECT 1 FROM row_change_marks WHERE position >= ?').pluck().get(position) === undefined) {
      sqlite.prepare('INSERT INTO row_change_marks (position, marked_at) VALUES (?, ?)').run(position, now);
    }
    return { pruned, horizon: next, allowed: true };
  }).immediate();
}

async function postgresPrune(db: Kysely<DB>, now: string, cutoff: string): Promise<PruneResult> {
  // Team roles cannot touch the change log (team-setup.ts); a manager's optimize still analyses
  // and vacuums what it may, and leaves the pruning to the owner.
  const may = await sql<{ may: boolean }>`SELECT has_table_privilege('row_change_horizon', 'DELETE') AND has_table_privilege('row_changes', 'DELETE') AS may`.execute(db);
  if (!may.rows[0]!.may) return { pruned: 0, horizon: 0, allowed: false };
  return db.transaction().execute(async (trx: Transaction<DB>) => {
    const one = async <R>(query: ReturnType<typeof sql<R>>) => (await query.execute(trx)).rows[0]!;
    // One prune at a time: a second waits here, then finds the marks this one used gone.
    await sql`LOCK TABLE row_change_horizon IN EXCLUSIVE MODE`.execute(trx);
    const horizon = Number((await one(sql<{ horizon: number }>`${sql.raw(HORIZON_SQL)}`)).horizon);
    const found = await one(sql<{ up_to: number | null }>`SELECT max(position) AS up_to FROM row_change_marks WHERE marked_at < ${cutoff}`);
    const upTo = found.up_to === null ? null : Number(found.up_to);
    let pruned = 0;
    if (upTo !== null) {
      // Entries of transactions numbered at or before the mark, and those copied in with the
      // triggers off (no commit row: older than any cursor).
      const old = `(row_changes.txid IN (SELECT p.txid FROM row_change_commits p WHERE p.position <= $1)
        OR NOT EXISTS (SELECT 1 FROM row_change_commits p WHERE p.txid = row_changes.txid))`;
      const gone = await trx.executeQuery<{ n: number }>(
        CompiledQuery.raw(`WITH gone AS (DELETE FROM row_changes WHERE ${old} AND (${ROW_PRESENT} OR ${NOT_LAST}) RETURNING 1) SELECT count(*) AS n FROM gone`, [upTo]),
      );
      pruned = Number(gone.rows[0]!.n);
      await sql`DELETE FROM row_change_commits WHERE position <= ${upTo}`.execute(trx);
      await sql`DELETE FROM row_change_marks WHERE position <= ${upTo}`.execute(trx);
    }
    const next = Math.max(horizon, upTo ?? 0);
    if (next > horizon) {
      await sql`DELETE FROM row_change_horizon`.execute(trx);
      await sql`INSERT INTO row_change_horizon (position) VALUES (${next})`.execute(trx);
    }
    // Where the log stands now, unless nothing was logged since the last note (or ever).
    const position = Number((await one(sql<{ seq: number }>`${sql.raw(POSTGRES_POSITION_SQL)}`)).seq);
    if (position > next) {
      const noted = await sql`SELECT 1 FROM row_change_marks WHERE position >= ${position}`.execute(trx);
      if (noted.rows.length === 0) await sql`INSERT INTO row_change_marks (position, marked_at) VALUES (${position}, ${now})`.execute(trx);
    }
    return { pruned, horizon: next, allowed: true };
  });
}

/**
 * Removes the change-log entries that were already logged `keepDays` days before `now` (as far as
 * earlier prunes noted), moves the horizon past them, and notes where the log stands now.
 */
export async function pruneChangeLog(db: Kysely<DB>, now: Date, keepDays: number): Promise<PruneResult> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  if (engineOf(db) === 'postgres') return postgresPrune(db, now.toISOString(), cutoff);
  return sqlitePrune(sqliteOf(db), now.toISOString(), cutoff);
}
