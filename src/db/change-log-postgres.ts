// The change log on PostgreSQL: the PostgreSQL step of migration 20261209_changes_0003 (see the
// SQLite triggers in migrations/20261206_changes_0002 for what is logged and why).
//
// Two things differ from SQLite, where one writer at a time makes every number final the moment it
// is handed out:
//
//  - Positions are given at commit. PostgreSQL hands out ids and log sequence numbers while a
//    transaction runs, so a transaction that commits later can hold a lower number than one a
//    reader has already seen; a cursor of "the highest number seen" would skip it. Here every
//    transaction that writes the log gets one row in row_change_commits, and a deferred trigger
//    numbers it as the transaction commits, under an advisory lock held until the commit is done:
//    numbers become visible in order, so the highest one a snapshot sees is a cursor that misses
//    nothing. Only the commit step is serialized, and only for transactions that changed
//    something exported.
//  - Rows added are logged too (`added`), in one statement per statement (transition tables), so
//    "added since" comes from the log by position rather than from ids.
//
// Rows written with the triggers off (`crm db copy` into PostgreSQL) have no commit row: they are
// older than any cursor this database hands out. The extra column and table are PostgreSQL's own:
// `db copy` leaves them out (POSTGRES_ONLY).
import { sql, type Kysely } from 'kysely';
import { EXPORT_KINDS, EXTERNAL_ID_KINDS } from '../domain/imports.js';
import { PG_SCHEMA } from './postgres-ddl.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export const CHANGE_LOG_MIGRATION = '20261209_changes_0003_postgres_change_log';

/** What the PostgreSQL change log adds to crm's schema, which the SQLite file does not have. */
export const POSTGRES_ONLY = {
  tables: new Set(['row_change_commits']),
  columns: new Map([['row_changes', new Set(['txid', 'added'])]]),
};

/** The advisory lock the commit step numbers transactions under (one per database). */
const COMMIT_LOCK = 7_316_202_612_090_003n;


const definer = `LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${PG_SCHEMA}, pg_temp`;

function statements(): string[] {
  const out: string[] = [
    `ALTER TABLE row_changes ADD COLUMN txid bigint DEFAULT (pg_current_xact_id()::text::bigint)`,
    `ALTER TABLE row_changes ADD COLUMN added boolean NOT NULL DEFAULT false`,
    `CREATE INDEX row_changes_txid ON row_changes (txid)`,
    `CREATE TABLE row_change_commits (txid bigint PRIMARY KEY, position bigint UNIQUE)`,
    `CREATE SEQUENCE row_change_position`,
    // Numbers the transaction as it commits: the lock is held until the commit is visible, so the
    // next transaction's number comes after it.
    `CREATE FUNCTION row_change_commit_stamp() RETURNS trigger ${definer} AS $$
     BEGIN
       PERFORM pg_advisory_xact_lock(${COMMIT_LOCK});
       UPDATE row_change_commits SET position = nextval('row_change_position') WHERE txid = NEW.txid;
       RETURN NULL;
     END $$`,
    `CREATE CONSTRAINT TRIGGER row_change_commit_stamp AFTER INSERT ON row_change_commits
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION row_change_commit_stamp()`,
    // Every statement that writes the log marks its transaction (once) for numbering.
    `CREATE FUNCTION row_change_commit_mark() RETURNS trigger ${definer} AS $$
     BEGIN
       INSERT INTO row_change_commits (txid) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER row_change_commit_mark AFTER INSERT ON row_changes FOR EACH STATEMENT EXECUTE FUNCTION row_change_commit_mark()`,
  ];

  // An exported table's rows: added, edited, removed. TG_ARGV[0] says whether they carry an external id.
  const ext = (value: string) => `CASE WHEN TG_ARGV[0] = 'external' THEN ${value} END`;
  out.push(`CREATE FUNCTION row_changes_log_rows() RETURNS trigger ${definer} AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO row_changes (table_name, row_id, added, external_id)
          SELECT TG_TABLE_NAME, n.id, true, ${ext('to_jsonb(n)->>\'external_id\'')} FROM new_rows n ORDER BY n.id;
      ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO row_changes (table_name, row_id, external_id)
          SELECT TG_TABLE_NAME, n.id, ${ext('to_jsonb(n)->>\'external_id\'')} FROM new_rows n ORDER BY n.id;
      ELSE
        INSERT INTO row_changes (table_name, row_id, removed, external_id)
          SELECT TG_TABLE_NAME, o.id, 1, ${ext('to_jsonb(o)->>\'external_id\'')} FROM old_rows o ORDER BY o.id;
      END IF;
      RETURN NULL;
    END $$`);
  for (const table of EXPORT_KINDS) {
    const arg = EXTERNAL_ID_KINDS.has(table) ? "'external'" : "'plain'";
    out.push(
      `CREATE TRIGGER row_changes_${table}_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION row_changes_log_rows(${arg})`,
      `CREATE TRIGGER row_changes_${table}_update AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION row_changes_log_rows(${arg})`,
      `CREATE TRIGGER row_changes_${table}_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS old_rows
         FOR EACH STATEMENT EXECUTE FUNCTION row_changes_log_rows(${arg})`,
    );
  }

  // A sale, activity, ticket or deal names its customer by email, else external id, else phone:
  // when that changes, their rows change too.
  const ref = (row: string) => `coalesce(${row}.email::text, ${row}.external_id, ${row}.phone)`;
  const renamed = `SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ${ref('o')} IS DISTINCT FROM ${ref('n')}`;
  out.push(`CREATE FUNCTION row_changes_customer_reference() RETURNS trigger ${definer} AS $$
    BEGIN
      IF EXISTS (${renamed}) THEN
        INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'sales', s.id, s.external_id FROM sales s WHERE s.customer_id IN (${renamed}) ORDER BY s.id;
        INSERT INTO row_changes (table_name, row_id) SELECT 'activities', a.id FROM activities a WHERE a.customer_id IN (${renamed}) ORDER BY a.id;
        INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'tickets', t.id, t.external_id FROM tickets t WHERE t.customer_id IN (${renamed}) ORDER BY t.id;
        INSERT INTO row_changes (table_name, row_id) SELECT 'deals', d.id FROM deals d WHERE d.customer_id IN (${renamed}) ORDER BY d.id;
      END IF;
      RETURN NULL;
    END $$`);
  out.push(`CREATE TRIGGER row_changes_customer_reference AFTER UPDATE ON customers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION row_changes_customer_reference()`);

  // A refund names the sale it refunds by that sale's external id.
  out.push(`CREATE FUNCTION row_changes_refunded_sale() RETURNS trigger ${definer} AS $$
    BEGIN
      INSERT INTO row_changes (table_name, row_id, external_id)
        SELECT 'sales', s.id, s.external_id FROM sales s
        JOIN new_rows n ON s.refund_of = n.id JOIN old_rows o ON o.id = n.id
        WHERE o.external_id IS DISTINCT FROM n.external_id ORDER BY s.id;
      RETURN NULL;
    END $$`);
  out.push(`CREATE TRIGGER row_changes_refunded_sale AFTER UPDATE ON sales REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION row_changes_refunded_sale()`);

  // A customer's row carries its tags and custom fields; a ticket's, its current rating.
  // TG_ARGV: the logged table, the column naming its row.
  // Each event has only its own transition tables, so each reads its own.
  // Rows a running import is adding (change_fresh_rows, as on SQLite) are logged as added already.
  const old = `< coalesce((SELECT first_id FROM change_fresh_rows WHERE table_name = TG_ARGV[0]), 9223372036854775807)`;
  const id = (column: string) => `(to_jsonb(x)->>${column})::bigint`;
  const parentIds = (column: string) => ({
    INSERT: `SELECT ${id(column)} FROM new_rows x WHERE ${id(column)} ${old}`,
    DELETE: `SELECT ${id(column)} FROM old_rows x WHERE ${id(column)} ${old}`,
    UPDATE: `SELECT ${id(column)} FROM new_rows x WHERE ${id(column)} ${old} UNION SELECT ${id(column)} FROM old_rows x WHERE ${id(column)} ${old}`,
  });
  const branches = (['INSERT', 'DELETE', 'UPDATE'] as const)
    .map((op, i) => {
      const ids = parentIds('TG_ARGV[1]')[op];
      return `${i === 0 ? 'IF' : 'ELSIF'} TG_OP = '${op}' AND TG_ARGV[0] = 'tickets' THEN
        INSERT INTO row_changes (table_name, row_id, external_id)
          SELECT 'tickets', t.id, t.external_id FROM tickets t WHERE t.id IN (${ids}) ORDER BY t.id;
      ELSIF TG_OP = '${op}' THEN
        INSERT INTO row_changes (table_name, row_id) SELECT TG_ARGV[0], p.id FROM (SELECT DISTINCT id FROM (${ids}) AS x (id)) p ORDER BY p.id;`;
    })
    .join('\n      ');
  out.push(`CREATE FUNCTION row_changes_log_parent() RETURNS trigger ${definer} AS $$
    BEGIN
      ${branches}
      END IF;
      RETURN NULL;
    END $$`);
  const parents: ReadonlyArray<[table: string, parent: string, column: string, ops: readonly string[]]> = [
    ['customer_tags', 'customers', 'customer_id', ['INSERT', 'DELETE']],
    ['customer_fields', 'customers', 'customer_id', ['INSERT', 'UPDATE', 'DELETE']],
    ['ticket_ratings', 'tickets', 'ticket_id', ['INSERT', 'UPDATE', 'DELETE']],
  ];
  for (const [table, parent, column, ops] of parents) {
    for (const op of ops) {
      const referencing = op === 'INSERT' ? 'NEW TABLE AS new_rows' : op === 'DELETE' ? 'OLD TABLE AS old_rows' : 'OLD TABLE AS old_rows NEW TABLE AS new_rows';
      out.push(`CREATE TRIGGER row_changes_${table}_${op.toLowerCase()} AFTER ${op} ON ${table} REFERENCING ${referencing}
        FOR EACH STATEMENT EXECUTE FUNCTION row_changes_log_parent('${parent}', '${column}')`);
    }
  }
  // A renamed tag changes the rows of every customer who has it.
  out.push(`CREATE FUNCTION row_changes_tag_rename() RETURNS trigger ${definer} AS $$
    BEGIN
      INSERT INTO row_changes (table_name, row_id)
        SELECT DISTINCT 'customers', l.customer_id FROM customer_tags l
        JOIN new_rows n ON n.id = l.tag_id JOIN old_rows o ON o.id = n.id
        WHERE o.name IS DISTINCT FROM n.name ORDER BY 2;
      RETURN NULL;
    END $$`);
  out.push(`CREATE TRIGGER row_changes_tag_rename AFTER UPDATE ON tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION row_changes_tag_rename()`);
  return out;
}

/** The migration's PostgreSQL step (run inside the migration's transaction, search_path = crm). */
export async function setUpPostgresChangeLog(db: AnyDb): Promise<void> {
  for (const statement of statements()) await sql.raw(statement).execute(db);
}

/**
 * Where a PostgreSQL database's change log stands in the calling transaction's snapshot: the
 * highest commit position it sees (every lower one is visible too, or was rolled back), or the
 * pruned horizon when `crm db optimize` has removed the commit rows up to it and none came since.
 */
export const POSTGRES_POSITION_SQL = `SELECT greatest(
    (SELECT coalesce(max(position), 0) FROM ${PG_SCHEMA}.row_change_commits),
    (SELECT coalesce(max(position), 0) FROM ${PG_SCHEMA}.row_change_horizon)) AS seq`;
