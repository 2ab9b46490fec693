// The initial schema: every table the CRM needs, so later capabilities join onto stable keys.
// Frozen once landed: change the schema with a new migration, never by editing this one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    `CREATE TABLE config (
       key TEXT PRIMARY KEY,
       value TEXT NOT NULL
     ) WITHOUT ROWID`,

    `CREATE TABLE customers (
       id INTEGER PRIMARY KEY,
       name TEXT NOT NULL,
       email TEXT COLLATE NOCASE,
       phone TEXT,
       phone_digits TEXT,
       age INTEGER CHECK (age BETWEEN 0 AND 150),
       gender TEXT CHECK (gender IN ('female', 'male', 'other')),
       company TEXT,
       city TEXT,
       source TEXT,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     )`,
    `CREATE UNIQUE INDEX customers_email ON customers (email) WHERE email IS NOT NULL`,
    `CREATE INDEX customers_phone_digits ON customers (phone_digits) WHERE phone_digits IS NOT NULL`,
    `CREATE INDEX customers_name ON customers (name COLLATE NOCASE)`,
    `CREATE INDEX customers_city ON customers (city COLLATE NOCASE)`,

    `CREATE TABLE tags (
       id INTEGER PRIMARY KEY,
       name TEXT NOT NULL UNIQUE COLLATE NOCASE
     )`,
    `CREATE TABLE customer_tags (
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
       PRIMARY KEY (customer_id, tag_id)
     ) WITHOUT ROWID`,
    `CREATE INDEX customer_tags_tag ON customer_tags (tag_id, customer_id)`,

    `CREATE TABLE customer_fields (
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       PRIMARY KEY (customer_id, key)
     ) WITHOUT ROWID`,

    `CREATE TABLE activities (
       id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       type TEXT NOT NULL CHECK (type IN ('call', 'email', 'meeting', 'chat', 'note')),
       direction TEXT CHECK (direction IN ('in', 'out')),
       at TEXT NOT NULL,
       summary TEXT NOT NULL,
       created_at TEXT NOT NULL
     )`,
    `CREATE INDEX activities_customer_at ON activities (customer_id, at)`,
    `CREATE INDEX activities_at ON activities (at)`,
    `CREATE TABLE activity_links (
       from_id INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
       to_id INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
       kind TEXT NOT NULL CHECK (kind IN ('reply', 'follows')),
       PRIMARY KEY (from_id, to_id, kind)
     ) WITHOUT ROWID`,
    `CREATE INDEX activity_links_to ON activity_links (to_id)`,

    `CREATE TABLE sales (
       id INTEGER PRIMARY KEY,
       customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
       product TEXT NOT NULL,
       quantity INTEGER NOT NULL DEFAULT 1,
       amount_cents INTEGER NOT NULL,
       sold_on TEXT NOT NULL,
       note TEXT,
       external_id TEXT UNIQUE,
       import_key TEXT,
       deal_id INTEGER,
       created_at TEXT NOT NULL,
       voided_at TEXT,
       void_reason TEXT
     )`,
    `CREATE INDEX sales_customer ON sales (customer_id, sold_on)`,
    `CREATE INDEX sales_sold_on ON sales (sold_on)`,
    `CREATE UNIQUE INDEX sales_import_key ON sales (import_key) WHERE import_key IS NOT NULL`,

    `CREATE TABLE deals (
       id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       title TEXT NOT NULL,
       value_cents INTEGER NOT NULL,
       stage TEXT NOT NULL CHECK (stage IN ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost')),
       probability INTEGER CHECK (probability BETWEEN 0 AND 100),
       close_date TEXT,
       lost_reason TEXT,
       won_sale_id INTEGER REFERENCES sales (id) ON DELETE SET NULL,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     )`,
    `CREATE INDEX deals_customer ON deals (customer_id)`,
    `CREATE INDEX deals_stage ON deals (stage)`,
    `CREATE TABLE deal_stage_history (
       id INTEGER PRIMARY KEY,
       deal_id INTEGER NOT NULL REFERENCES deals (id) ON DELETE CASCADE,
       from_stage TEXT,
       to_stage TEXT NOT NULL,
       at TEXT NOT NULL,
       reason TEXT
     )`,
    `CREATE INDEX deal_stage_history_deal ON deal_stage_history (deal_id, at)`,

    `CREATE TABLE tickets (
       id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       external_id TEXT UNIQUE,
       subject TEXT NOT NULL,
       description TEXT,
       priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
       kind TEXT NOT NULL CHECK (kind IN ('question', 'problem', 'complaint', 'feedback')),
       status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
       assignee TEXT,
       opened_at TEXT NOT NULL,
       due_at TEXT,
       first_response_at TEXT,
       resolved_at TEXT,
       closed_at TEXT,
       solution TEXT,
       updated_at TEXT NOT NULL
     )`,
    `CREATE INDEX tickets_customer ON tickets (customer_id)`,
    `CREATE INDEX tickets_status_due ON tickets (status, due_at)`,
    `CREATE TABLE ticket_events (
       id INTEGER PRIMARY KEY,
       ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
       at TEXT NOT NULL,
       kind TEXT NOT NULL,
       from_value TEXT,
       to_value TEXT,
       comment TEXT,
       actor TEXT
     )`,
    `CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, at)`,
    `CREATE TABLE ticket_ratings (
       id INTEGER PRIMARY KEY,
       ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
       score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
       comment TEXT,
       rated_at TEXT NOT NULL,
       superseded_at TEXT
     )`,
    `CREATE INDEX ticket_ratings_ticket ON ticket_ratings (ticket_id)`,

    `CREATE TABLE segments (
       id INTEGER PRIMARY KEY,
       name TEXT NOT NULL UNIQUE COLLATE NOCASE,
       expression TEXT NOT NULL,
       description TEXT,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     )`,

    `CREATE TABLE tasks (
       id INTEGER PRIMARY KEY,
       customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
       title TEXT NOT NULL,
       due_at TEXT NOT NULL,
       due_has_time INTEGER NOT NULL DEFAULT 0,
       assignee TEXT,
       priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
       deal_id INTEGER REFERENCES deals (id) ON DELETE SET NULL,
       ticket_id INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
       every TEXT,
       status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
       done_at TEXT,
       note TEXT,
       recurred_from INTEGER REFERENCES tasks (id) ON DELETE SET NULL,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     )`,
    `CREATE INDEX tasks_status_due ON tasks (status, due_at)`,
    `CREATE INDEX tasks_customer ON tasks (customer_id)`,

    `CREATE TABLE audit_log (
       id INTEGER PRIMARY KEY,
       at TEXT NOT NULL,
       actor TEXT NOT NULL,
       command TEXT NOT NULL,
       action TEXT NOT NULL,
       entity TEXT NOT NULL,
       entity_id INTEGER,
       customer_id INTEGER,
       summary TEXT,
       undone_by INTEGER REFERENCES audit_log (id),
       undoes INTEGER REFERENCES audit_log (id)
     )`,
    `CREATE INDEX audit_log_at ON audit_log (at)`,
    `CREATE INDEX audit_log_customer ON audit_log (customer_id)`,
    `CREATE TABLE audit_change (
       id INTEGER PRIMARY KEY,
       log_id INTEGER NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
       table_name TEXT NOT NULL,
       row_id INTEGER NOT NULL,
       op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
       before TEXT,
       after TEXT
     )`,
    `CREATE INDEX audit_change_log ON audit_change (log_id)`,
    `CREATE INDEX audit_change_row ON audit_change (table_name, row_id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
