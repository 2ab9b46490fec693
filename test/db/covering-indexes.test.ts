// The statements that read every live sale (segment rfm, segment show with purchase conditions, the
// churn-risk history) read them from a covering index alone: each column they use, order_id
// included since orders with lines, is in the index. A column missing from it costs a table lookup
// per sale, which made `segment rfm` on 1M sales 4× slower (migration 20261211_sales_0003). The
// plans are checked on a database made by the real `crm init`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RISK_SQL } from '../../src/db/risk-history.js';
import { RFM_AGGREGATE_AS_OF_SQL, RFM_AGGREGATE_SQL, segmentMembersSql } from '../../src/db/segment-sql.js';
import { openDb, sandbox, type Sandbox } from '../helpers/cli.js';

let box: Sandbox;
beforeAll(() => {
  box = sandbox();
  box.ok(['init']);
});
afterAll(() => box.cleanup());

/** The lines of SQLite's query plan for a statement that read the sales table. */
function salesPlan(sql: string, params: unknown[] = []): string[] {
  const db = openDb(box.dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return rows.map((r) => r.detail).filter((detail) => /\bsales\b/.test(detail) || /\bsl\b|\bs\b/.test(detail));
  } finally {
    db.close();
  }
}

describe('reads of every live sale use a covering index', () => {
  const now = new Date('2025-07-15T09:00:00Z');
  const cases: Array<[string, () => { sql: string; params: unknown[] }]> = [
    ['the RFM aggregate (segment rfm)', () => ({ sql: RFM_AGGREGATE_SQL, params: [] })],
    ['the RFM aggregate as of a day', () => ({ sql: RFM_AGGREGATE_AS_OF_SQL, params: ['2025-06-30'] })],
    ['the risk history of sales', () => ({ sql: RISK_SQL.sales('sqlite').replace('@day', '?'), params: ['2025-06-30'] })],
    ['segment show with a purchase condition', () => segmentMembersSql({ name: 'big', kind: 'expression', expression: 'total_spent > 100 and orders >= 2', description: null }, now, 'sqlite')],
  ];
  for (const [what, statement] of cases) {
    it(what, () => {
      const { sql, params } = statement();
      const plan = salesPlan(sql, params);
      expect(plan.length).toBeGreaterThan(0);
      for (const line of plan.filter((l) => /\bINDEX\b/.test(l) || /^SCAN (sales|sl|s)\b/.test(l))) expect(line).toMatch(/COVERING INDEX sales_(customer_)?day/);
    });
  }
});
