// SQL expressions whose spelling differs by engine, as plain text (no Kysely, no driver), so the hot
// read paths that run on a raw SQLite handle (row-source.ts) can build their statements without
// loading anything heavier. dialect.ts re-exports them beside its other expression helpers.
import type { Engine } from './engine.js';

/**
 * `expr` as it compares and sorts ignoring ASCII case: SQLite's NOCASE; on PostgreSQL lower() of a
 * column in the "C" collation, which folds ASCII only, the same.
 */
export function nocase(engine: Engine, expr: string): string {
  return engine === 'postgres' ? `lower(${expr})` : `${expr} COLLATE NOCASE`;
}

/** True when `needle` occurs in `haystack`, case as given (SQLite instr, PostgreSQL strpos). */
export function containsText(engine: Engine, haystack: string, needle: string): string {
  return engine === 'postgres' ? `strpos(${haystack}, ${needle}) > 0` : `instr(${haystack}, ${needle}) > 0`;
}

/**
 * The values of `column` from `rows` (a FROM … WHERE … clause) joined with `separator` in the order
 * of `orderBy`, or NULL when there are none.
 */
export function groupConcatOrdered(engine: Engine, column: string, separator: string, rows: string, orderBy: string): string {
  const sep = `'${separator.replace(/'/g, "''")}'`;
  return engine === 'postgres'
    ? `(SELECT string_agg(${column}, ${sep} ORDER BY ${orderBy}) ${rows})`
    : `(SELECT group_concat(v, ${sep}) FROM (SELECT ${column} AS v ${rows} ORDER BY ${orderBy}))`;
}
