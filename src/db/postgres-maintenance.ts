// `crm db check` and `crm db optimize` on PostgreSQL. The server keeps its own storage consistent,
// so the integrity check asks what can still go wrong there: an index left invalid (a failed
// concurrent build) or a constraint never validated. The foreign-key check looks for orphans of
// every reference (none exist while the constraints hold, so it finds what SQLite's
// foreign_key_check would). Optimizing is VACUUM (ANALYZE) of crm's tables.
import { sql, type Kysely } from 'kysely';
import { PG_SCHEMA } from './postgres-ddl.js';
import type { DB } from './schema.js';

export interface PostgresFinding {
  check: string;
  status: 'ok' | 'problem';
  detail: string;
}

function id(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function postgresIntegrity(db: Kysely<DB>): Promise<PostgresFinding[]> {
  const findings: PostgresFinding[] = [];
  const invalid = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${PG_SCHEMA} AND (NOT i.indisvalid OR NOT i.indisready) ORDER BY 1`.execute(db);
  for (const { name } of invalid.rows) findings.push({ check: 'integrity', status: 'problem', detail: `index ${name} is not valid (rebuild it with REINDEX)` });
  const unchecked = await sql<{ name: string; table: string }>`
    SELECT k.conname AS name, c.relname AS table FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${PG_SCHEMA} AND NOT k.convalidated ORDER BY 1`.execute(db);
  for (const r of unchecked.rows) findings.push({ check: 'integrity', status: 'problem', detail: `constraint ${r.name} on ${r.table} was never validated` });
  if (findings.length === 0) findings.push({ check: 'integrity', status: 'ok', detail: 'the database is intact' });

  const keys = await sql<{ child: string; columns: string[]; parent: string; parent_columns: string[] }>`
    SELECT c.relname AS child, p.relname AS parent,
           array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS columns,
           array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[] AS parent_columns
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${PG_SCHEMA} AND k.contype = 'f' ORDER BY c.relname, k.conname`.execute(db);
  const orphans: PostgresFinding[] = [];
  for (const k of keys.rows) {
    const notNull = k.columns.map((c) => `x.${id(c)} IS NOT NULL`).join(' AND ');
    const match = k.columns.map((c, i) => `y.${id(k.parent_columns[i]!)} = x.${id(c)}`).join(' AND ');
    const found = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.raw(`${id(PG_SCHEMA)}.${id(k.child)} x WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${id(PG_SCHEMA)}.${id(k.parent)} y WHERE ${match})`)}`.execute(db);
    const n = Number(found.rows[0]?.n ?? 0);
    if (n > 0) orphans.push({ check: 'foreign_keys', status: 'problem', detail: `${n} ${k.child} row${n === 1 ? '' : 's'} point${n === 1 ? 's' : ''} at a missing ${k.parent} row` });
  }
  if (orphans.length === 0) orphans.push({ check: 'foreign_keys', status: 'ok', detail: 'every reference points at an existing row' });
  return [...findings, ...orphans];
}

/** The bytes crm's tables (with their indexes and TOAST) take. */
export async function postgresSize(db: Kysely<DB>): Promise<number> {
  const size = await sql<{ bytes: number | null }>`
    SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${PG_SCHEMA} AND c.relkind = 'r'`.execute(db);
  return Number(size.rows[0]?.bytes ?? 0);
}

/** VACUUM (ANALYZE) of every crm table: planner statistics refreshed, dead rows' space reused. */
export async function optimizePostgres(db: Kysely<DB>): Promise<{ beforeBytes: number; afterBytes: number }> {
  const beforeBytes = await postgresSize(db);
  const tables = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = ${PG_SCHEMA} ORDER BY 1`.execute(db);
  for (const { name } of tables.rows) await sql.raw(`VACUUM (ANALYZE) ${id(PG_SCHEMA)}.${id(name)}`).execute(db);
  return { beforeBytes, afterBytes: await postgresSize(db) };
}
