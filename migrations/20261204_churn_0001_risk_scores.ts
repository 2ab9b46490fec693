// Saved churn-risk scores: `crm customer risk --save` appends each scored customer's probability of
// not buying within the horizon, with the as-of day, the horizon and the time it was saved. Earlier
// saves stay (a customer's latest row is their `churn_risk` in segments and the agenda), so how a
// customer's risk moved can be read back. Ids are never reused (AUTOINCREMENT), as elsewhere.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE risk_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    spend_12m_cents INTEGER NOT NULL,
    revenue_at_risk_cents INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    action TEXT NOT NULL,
    as_of TEXT NOT NULL,
    horizon_days INTEGER NOT NULL,
    saved_at TEXT NOT NULL
  )`.execute(db);
  await sql`CREATE INDEX risk_scores_customer ON risk_scores (customer_id, id)`.execute(db);
}
