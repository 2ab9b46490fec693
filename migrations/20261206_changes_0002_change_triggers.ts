// The triggers that write row_changes (see the previous migration): an edit or a removal of a row
// that `crm export` shows, or of what its row is made from (a customer's tags and custom fields, a
// ticket's rating, the customer a sale names), is logged with a new sequence number in the same
// transaction. Rows a bulk import is adding (change_fresh_rows) are skipped: they are new anyway.
// A row put back under its old id (`crm undo` of a removal) is logged too, since its id is not new.
import { sql, type Kysely } from 'kysely';

/** SQLite-only: PostgreSQL has no change log yet, and `export --changed-since` says so there. */
export const postgres = 'skip';

const NEVER = '9223372036854775807';
/** True for a row of `table` that existed before the running import (or when none runs). */
const old = (table: string, id: string) =>
  `${id} < coalesce((SELECT first_id FROM change_fresh_rows WHERE table_name = '${table}'), ${NEVER})`;
const log = (table: string, id: string, extra: { removed?: boolean; externalId?: string } = {}) =>
  `INSERT INTO row_changes (table_name, row_id, removed, external_id) VALUES ('${table}', ${id}, ${extra.removed ? 1 : 0}, ${extra.externalId ?? 'NULL'});`;

/** The tables `crm export` writes, and whether their rows carry an external id. */
const EXPORTED: ReadonlyArray<[string, boolean]> = [
  ['customers', false],
  ['sales', true],
  ['activities', false],
  ['tickets', true],
  ['deals', false],
];

function statements(): string[] {
  const out: string[] = [];
  for (const [table, external] of EXPORTED) {
    const ext = (row: string) => (external ? { externalId: `${row}.external_id` } : {});
    out.push(
      `CREATE TRIGGER row_changes_${table}_insert AFTER INSERT ON ${table}
       WHEN ${old(table, 'NEW.id')} AND EXISTS (SELECT 1 FROM row_changes WHERE table_name = '${table}' AND row_id = NEW.id)
       BEGIN ${log(table, 'NEW.id', ext('NEW'))} END`,
      `CREATE TRIGGER row_changes_${table}_update AFTER UPDATE ON ${table}
       WHEN ${old(table, 'NEW.id')}
       BEGIN ${log(table, 'NEW.id', ext('NEW'))} END`,
      `CREATE TRIGGER row_changes_${table}_delete AFTER DELETE ON ${table}
       BEGIN ${log(table, 'OLD.id', { removed: true, ...ext('OLD') })} END`,
    );
  }
  // A sale, activity, ticket or deal names its customer by email, else external id, else phone.
  const ref = (row: string) => `coalesce(CAST(${row}.email AS TEXT), ${row}.external_id, ${row}.phone) COLLATE BINARY`;
  out.push(`CREATE TRIGGER row_changes_customer_reference AFTER UPDATE OF email, external_id, phone ON customers
    WHEN ${old('customers', 'NEW.id')} AND ${ref('OLD')} IS NOT ${ref('NEW')}
    BEGIN
      INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'sales', id, external_id FROM sales WHERE customer_id = NEW.id;
      INSERT INTO row_changes (table_name, row_id) SELECT 'activities', id FROM activities WHERE customer_id = NEW.id;
      INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'tickets', id, external_id FROM tickets WHERE customer_id = NEW.id;
      INSERT INTO row_changes (table_name, row_id) SELECT 'deals', id FROM deals WHERE customer_id = NEW.id;
    END`);
  // A refund names the sale it refunds by that sale's external id.
  out.push(`CREATE TRIGGER row_changes_refunded_sale AFTER UPDATE OF external_id ON sales
    WHEN ${old('sales', 'NEW.id')} AND OLD.external_id IS NOT NEW.external_id
    BEGIN INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'sales', id, external_id FROM sales WHERE refund_of = NEW.id; END`);
  // A customer's row carries its tags and custom fields.
  for (const [table, ops] of [['customer_tags', ['INSERT', 'DELETE']], ['customer_fields', ['INSERT', 'UPDATE', 'DELETE']]] as const) {
    for (const op of ops) {
      const row = op === 'DELETE' ? 'OLD' : 'NEW';
      out.push(`CREATE TRIGGER row_changes_${table}_${op.toLowerCase()} AFTER ${op} ON ${table}
        WHEN ${old('customers', `${row}.customer_id`)}
        BEGIN ${log('customers', `${row}.customer_id`)} END`);
    }
  }
  out.push(`CREATE TRIGGER row_changes_tag_rename AFTER UPDATE OF name ON tags WHEN OLD.name IS NOT NEW.name
    BEGIN INSERT INTO row_changes (table_name, row_id) SELECT 'customers', customer_id FROM customer_tags WHERE tag_id = NEW.id; END`);
  // A ticket's row carries its current rating.
  for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
    const row = op === 'DELETE' ? 'OLD' : 'NEW';
    out.push(`CREATE TRIGGER row_changes_ticket_ratings_${op.toLowerCase()} AFTER ${op} ON ticket_ratings
      WHEN ${old('tickets', `${row}.ticket_id`)}
      BEGIN INSERT INTO row_changes (table_name, row_id, external_id) SELECT 'tickets', id, external_id FROM tickets WHERE id = ${row}.ticket_id; END`);
  }
  return out;
}

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements()) await sql.raw(statement).execute(db);
}
