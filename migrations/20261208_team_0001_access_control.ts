// Access control for a team (issue 15): every customer has an owner, the person who looks after
// them. On SQLite (one person) it stays empty unless given; on PostgreSQL it defaults to the
// session's user, and this migration's PostgreSQL step (src/db/team-setup.ts) creates the
// database's group roles, their grants, the row-level security policies and the audit triggers.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE customers ADD COLUMN owner TEXT`.execute(db);
  await sql`CREATE INDEX customers_owner ON customers (owner) WHERE owner IS NOT NULL`.execute(db);
}
