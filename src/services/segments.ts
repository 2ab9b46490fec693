// Segments: saved `--where` expressions evaluated when used, RFM groups and breakdowns.
// The expression tree from domain/segment-expression.ts is compiled (in db/segment-sql.ts) into SQL
// over `customers` in which every value typed by a user is a bound parameter, and wrapped here as a
// Kysely expression; aggregates (spend, orders, last purchase, open tickets) are correlated
// subqueries, so SQLite evaluates them only for customers that pass the cheaper conditions first.
// Other commands filter with segmentCondition(); `segment show`, `segment rfm` and `customer list
// --segment` read through a reader instead (segment-read.ts, db/reader.ts), without Kysely.
import { sql, type Kysely, type RawBuilder, type SqlBool, type Transaction } from 'kysely';
import type { DB, SegmentRow } from '../db/schema.js';
import { NotFoundError, UsageError, ValidationError } from '../domain/errors.js';
import { ExpressionError, parseSegmentExpression, type SegmentExpr } from '../domain/segment-expression.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { engineOf, highestIdIssued, idsIssuedThrough, rfmValuesIn, toPostgres as toPostgresHints, type Engine } from '../db/dialect.js';
import { compileSegmentFragment, customersThen, RFM_AGGREGATE_SQL, segmentFragment, type Fragment, type SegmentAsOf, type SegmentInfo } from '../db/segment-sql.js';
import { RFM_GROUPS, RFM_PREFIX, rfmCuts, rfmResult, type RfmResult } from '../domain/rfm.js';
import { lookUpSegment } from './segment-read.js';

export { RFM_GROUPS, RFM_PREFIX, type RfmGroupSummary, type RfmResult } from '../domain/rfm.js';
export type { SegmentInfo } from '../db/segment-sql.js';

type Db = Kysely<DB> | Transaction<DB>;
type Condition = RawBuilder<SqlBool>;

// ---------------------------------------------------------------------------------------------
// Compiling an expression (db/segment-sql.ts), as Kysely expressions

/** A fragment of segment-sql.ts as a Kysely raw expression with the same text and parameters. */
function toKysely(fragment: Fragment): Condition {
  const strings = Object.assign([...fragment.strings], { raw: [...fragment.strings] }) as unknown as TemplateStringsArray;
  return sql<SqlBool>(strings, ...fragment.values);
}

/**
 * Compiles a parsed expression into a condition on `customers` (or the given alias of it).
 * `now` fixes what `today` and ages such as `90d` mean.
 */
export function compileSegmentExpression(db: Db, expr: SegmentExpr, now: Date, alias = 'customers', asOf: SegmentAsOf | null = null): Condition {
  return toKysely(compileSegmentFragment(expr, now, engineOf(db), alias, 'subquery', asOf));
}

/**
 * Parses and compiles a `--where` expression for `db`'s engine (an ExpressionError, exit 2, when
 * it is malformed).
 */
export function whereCondition(db: Db, expression: string, now: Date, alias = 'customers', asOf: SegmentAsOf | null = null): Condition {
  return compileSegmentExpression(db, parseSegmentExpression(expression), now, alias, asOf);
}

// ---------------------------------------------------------------------------------------------
// Saved segments

export async function findSegment(db: Db, name: string): Promise<SegmentInfo> {
  return lookUpSegment(
    {
      savedRow: (wanted) => db.selectFrom('segments').select(['name', 'expression', 'description']).where('name', '=', wanted).executeTakeFirst(),
      rfmSavedAt: async () => (await db.selectFrom('segment_members').select('saved_at').where('segment', 'like', `${RFM_PREFIX}%`).limit(1).executeTakeFirst())?.saved_at,
    },
    name,
  );
}

function conditionFor(segment: SegmentInfo, now: Date, alias: string, engine: Engine, asOf: SegmentAsOf | null = null): Condition {
  return toKysely(segmentFragment(segment, now, alias, engine, asOf));
}

/**
 * The condition "customer is in segment NAME", for `.where(...)` on a query over `customers`
 * (pass `alias` when the query names the table differently, e.g. `selectFrom('customers as c')`).
 * Throws NotFoundError (exit 1) for an unknown segment.
 */
export async function segmentCondition(db: Db, name: string, now: Date, alias = 'customers', asOf: SegmentAsOf | null = null): Promise<Condition> {
  return conditionFor(await findSegment(db, name), now, alias, engineOf(db), asOf);
}

/** Ids of the customers in segment NAME, ascending. */
export async function customerIdsInSegment(db: Db, name: string, now: Date): Promise<number[]> {
  const condition = await segmentCondition(db, name, now);
  const rows = await db.selectFrom('customers').select('customers.id').where(condition).orderBy('customers.id').execute();
  return rows.map((r) => r.id);
}

/** Every saved segment with its condition, e.g. for `report sales --by segment`. */
export async function allSegmentConditions(db: Db, now: Date, alias = 'customers', asOf: SegmentAsOf | null = null): Promise<Array<{ name: string; condition: Condition }>> {
  const rows = await db.selectFrom('segments').select(['name', 'expression']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, condition: whereCondition(db, r.expression, now, alias, asOf) }));
}

const SEGMENT_NAME = /^[\p{L}\p{N}][\p{L}\p{N}_.\- ]{0,63}$/u;

/** Checks a new segment's name: letters, digits, `_ . -` and spaces, no `:` (reserved for rfm:). */
export function parseSegmentName(input: string): string {
  const name = input.trim();
  if (!SEGMENT_NAME.test(name)) {
    throw new UsageError(`segment name "${input}" is not allowed`, {
      hint: 'use up to 64 letters, digits, spaces and _ . - (starting with a letter or digit); `rfm:` names are reserved',
    });
  }
  return name;
}

export interface SegmentInput {
  name: string;
  expression: string;
  description?: string | null;
}

async function countWhere(db: Db, condition: Condition): Promise<number> {
  const row = await db.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).where(condition).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Saves a segment after checking its expression; returns the row and its current size. */
export async function createSegment(db: Kysely<DB>, input: SegmentInput, meta: WriteMeta): Promise<{ segment: SegmentRow; size: number }> {
  const name = parseSegmentName(input.name);
  const expression = input.expression.trim();
  const condition = whereCondition(db, expression, meta.now);
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('segments').select(['name', 'expression']).where('name', '=', name).executeTakeFirst();
    if (existing) {
      throw new ValidationError(`a segment named "${existing.name}" already exists: ${existing.expression}`, {
        hint: `remove it first with \`crm segment rm "${existing.name}"\`, or choose another name`,
      });
    }
    const at = meta.now.toISOString();
    const segment = await trx
      .insertInto('segments')
      .values({ name, expression, description: input.description?.trim() || null, created_at: at, updated_at: at })
      .returningAll()
      .executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, { action: 'segment.create', entity: 'segment', entityId: segment.id, summary: `${name}: ${expression}` });
    await audit.inserted('segments', segment.id, segment);
    return { segment, size: await countWhere(trx, condition) };
  });
}

/** Removes a saved segment (the customers are untouched); returns the removed row. */
export async function removeSegment(db: Kysely<DB>, name: string, meta: WriteMeta): Promise<SegmentRow> {
  return db.transaction().execute(async (trx) => {
    if (name.trim().toLowerCase().startsWith(RFM_PREFIX)) {
      throw new ValidationError(`"${name}" is a stored RFM group, not a saved segment`, { hint: 'RFM groups are replaced by `crm segment rfm --save`' });
    }
    const segment = await trx.selectFrom('segments').selectAll().where('name', '=', name.trim()).executeTakeFirst();
    if (!segment) throw new NotFoundError(`no segment named "${name.trim()}"`, { hint: 'list segments with `crm segment list`' });
    await trx.deleteFrom('segments').where('id', '=', segment.id).execute();
    const audit = await beginAudit(trx, meta, { action: 'segment.rm', entity: 'segment', entityId: segment.id, summary: `${segment.name}: ${segment.expression}` });
    await audit.deleted('segments', segment.id, segment);
    return segment;
  });
}

export interface SegmentSummary {
  name: string;
  expression: string;
  description: string | null;
  /** Null when the saved expression cannot be read (then `crm segment show` explains why). */
  customers: number | null;
  createdAt: string | null;
}

/**
 * Saved segments with their current sizes, then the stored RFM groups if any. With `asOf`, the sizes
 * as of that day (see SegmentAsOf), and no stored RFM groups: they are a snapshot of when they were saved.
 */
export async function listSegments(db: Db, now: Date, asOf: SegmentAsOf | null = null): Promise<SegmentSummary[]> {
  const rows = await db.selectFrom('segments').selectAll().orderBy('name').execute();
  const out: SegmentSummary[] = [];
  for (const row of rows) {
    let customers: number | null = null;
    try {
      const condition = whereCondition(db, row.expression, now, 'customers', asOf);
      customers = await countWhere(db, asOf === null ? condition : sql<SqlBool>`${condition} AND ${toKysely(customersThen(asOf, engineOf(db), 'customers'))}`);
    } catch (error) {
      // A saved expression this version cannot read is listed without a size, not fatal to the list.
      if (!(error instanceof ExpressionError)) throw error;
    }
    out.push({ name: row.name, expression: row.expression, description: row.description, customers, createdAt: row.created_at });
  }
  if (asOf !== null) return out;
  const groups = await db
    .selectFrom('segment_members')
    .select(['segment', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('saved_at').as('saved_at')])
    .where('segment', 'like', `${RFM_PREFIX}%`)
    .groupBy('segment')
    .execute();
  const bySlug = new Map(groups.map((g) => [g.segment.toLowerCase(), g]));
  for (const group of RFM_GROUPS) {
    const saved = bySlug.get(`${RFM_PREFIX}${group.group}`);
    if (!saved && groups.length === 0) continue;
    out.push({
      name: `${RFM_PREFIX}${group.group}`,
      expression: `(saved RFM group: ${group.rule})`,
      description: null,
      customers: Number(saved?.n ?? 0),
      createdAt: saved?.saved_at ?? groups[0]?.saved_at ?? null,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RFM

// Scores for `--save`: the quintile cut points come from domain/rfm.ts (rfmCuts), and each
// customer's scores are the number of cut points below their values (see quintileCuts). The CASE
// text is fixed by RFM_GROUPS, never user input; the cut points are bound parameters.
function rfmScoredSql(cuts: ReturnType<typeof rfmCuts>, engine: Engine) {
  const above = (column: string, points: number[]) =>
    sql.join((points.length ? points : [0, 0, 0, 0]).map((p) => sql`CASE WHEN ${sql.raw(column)} > ${p} THEN 1 ELSE 0 END`), sql` + `);
  return sql`
    WITH agg AS (${sql.raw(engine === 'postgres' ? toPostgresHints(RFM_AGGREGATE_SQL) : RFM_AGGREGATE_SQL)}),
    scored AS (
      SELECT customer_id, spent,
        1 + ${above('last_key', cuts.recency)} AS r,
        1 + ${above('orders', cuts.frequency)} AS f,
        1 + ${above('spent', cuts.monetary)} AS m
      FROM agg
    )
    SELECT customer_id, spent, r, f, m, CASE ${sql.raw(RFM_GROUPS.map((g) => `WHEN ${g.sql} THEN '${g.group}'`).join(' '))} END AS grp FROM scored`;
}

/** Scores and stores every customer's RFM group (`rfm:<group>`), replacing the previous snapshot. */
export async function saveRfmGroups(db: Kysely<DB>, meta: WriteMeta): Promise<RfmResult> {
  const engine = engineOf(db);
  // The temporary schema's name: SQLite's temp, PostgreSQL's pg_temp.
  const scored = sql.raw(engine === 'postgres' ? 'pg_temp.segments_rfm_scored' : 'temp.segments_rfm_scored');
  return db.transaction().execute(async (trx) => {
    // Score once into a temporary table, then both store and summarise from it.
    await sql`DROP TABLE IF EXISTS ${scored}`.execute(trx);
    // On SQLite the raw handle behind db reads inside this same transaction (one connection).
    const cuts = rfmCuts(await rfmValuesIn(engine === 'sqlite' ? db : trx));
    await sql`CREATE TEMP TABLE segments_rfm_scored AS ${rfmScoredSql(cuts, engine)}`.execute(trx);
    const { rows } = await sql<{ grp: string; customers: number; revenue: number | null }>`
      SELECT grp, count(*) AS customers, sum(spent) AS revenue FROM ${scored} GROUP BY grp`.execute(trx);
    const total = await trx.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const result = rfmResult(new Map(rows.map((r) => [r.grp, { customers: Number(r.customers), revenue: Number(r.revenue ?? 0) }])), Number(total.n));
    const stored = sql<SqlBool>`segment LIKE ${`${RFM_PREFIX}%`}`;
    const previous = await trx.selectFrom('segment_members').select((eb) => eb.fn.countAll<number>().as('n')).where(stored).executeTakeFirstOrThrow();
    const audit = await beginAudit(trx, meta, {
      action: 'segment.rfm.save',
      entity: 'segment',
      summary: `saved RFM groups of ${result.scored} customers (replacing ${Number(previous.n)} stored memberships)`,
    });
    // The replaced snapshot is recorded row by row (one statement), so undo can put it back.
    await audit.deletedWhere('segment_members', ['id', 'segment', 'customer_id', 'recency', 'frequency', 'monetary', 'saved_at'], stored);
    // New rows never take the ids of the rows they replace: the trail names each row once.
    const first = (await highestIdIssued(trx, 'segment_members')) + 1;
    await trx.deleteFrom('segment_members').where(stored).execute();
    const at = meta.now.toISOString();
    const inserted = await sql`
      INSERT INTO segment_members (id, segment, customer_id, recency, frequency, monetary, saved_at)
      SELECT ${first - 1} + row_number() OVER (ORDER BY customer_id), ${RFM_PREFIX} || grp, customer_id, r, f, m, ${at}
      FROM ${scored} ORDER BY customer_id`.execute(trx);
    await sql`DROP TABLE ${scored}`.execute(trx);
    const last = first + Number(inserted.numAffectedRows ?? 0n) - 1;
    await idsIssuedThrough(trx, 'segment_members', last);
    await audit.insertedRange('segment_members', first, last);
    return { ...result, saved: result.scored };
  });
}

// ---------------------------------------------------------------------------------------------
// Breakdowns

export type BreakdownBy = { kind: 'age'; breakpoints: number[] } | { kind: 'gender' | 'city' | 'tag' | 'source' };

/** `age:18,25,35,50` (or `age` for those), `gender`, `city`, `tag`, `source`. */
export function parseBreakdownBy(input: string): BreakdownBy {
  const text = input.trim().toLowerCase();
  if (text === 'gender' || text === 'city' || text === 'tag' || text === 'source') return { kind: text };
  if (text === 'age') return { kind: 'age', breakpoints: [18, 25, 35, 50] };
  const match = /^age:(.*)$/.exec(text);
  if (!match) {
    throw new UsageError(`--by "${input}" is not a breakdown`, { hint: 'use age:18,25,35,50, gender, city, tag or source' });
  }
  const parts = match[1]!.split(',').map((p) => p.trim());
  const breakpoints: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 150) {
      throw new UsageError(`--by ${input}: "${part}" is not a whole number from 0 to 150`, { hint: 'give increasing ages, e.g. age:18,25,35,50' });
    }
    const value = Number(part);
    if (breakpoints.length > 0 && value <= breakpoints.at(-1)!) {
      throw new UsageError(`--by ${input}: the ages must increase (${breakpoints.at(-1)} then ${value})`, { hint: 'e.g. age:18,25,35,50' });
    }
    breakpoints.push(value);
  }
  return { kind: 'age', breakpoints };
}

/** Labels of half-open age bands: `<18`, `18–24`, …, `50+`. */
export function ageBandLabels(breakpoints: readonly number[]): string[] {
  const labels = [`<${breakpoints[0]}`];
  for (let i = 0; i + 1 < breakpoints.length; i++) {
    const low = breakpoints[i]!;
    const high = breakpoints[i + 1]! - 1;
    labels.push(low === high ? `${low}` : `${low}–${high}`);
  }
  labels.push(`${breakpoints.at(-1)}+`);
  return labels;
}

export interface BreakdownRow {
  class: string;
  customers: number;
  share: number;
  revenue: number;
  average_spend: number;
}

export interface Breakdown {
  rows: BreakdownRow[];
  total: number;
  revenue: number;
}

// Spend per customer over every live sale, read in customer order from the covering index
// sales_customer_day (3-4x faster than the table), pinned on SQLite so its planner never prefers
// the table (PostgreSQL has no such hint and plans by itself).
function spendCte(engine: Engine, asOf: SegmentAsOf | null) {
  const soldBy = asOf === null ? sql.raw('') : sql` AND sold_on <= ${asOf.day}`;
  return sql`spend AS (
  SELECT customer_id, sum(amount_cents) AS spent FROM sales${sql.raw(engine === 'postgres' ? '' : ' INDEXED BY sales_customer_day')}
  WHERE voided_at IS NULL AND customer_id IS NOT NULL${soldBy} GROUP BY customer_id
)`;
}

/**
 * Customers per class with their share, revenue (non-voided sales) and average spend per customer.
 * Each customer is in exactly one class, except for tags, where a customer with several tags counts
 * once per tag and customers without tags form `(untagged)`. With `asOf`, by the dates sales carry:
 * the customers there by the end of that day and their purchases made by then.
 */
export async function breakdown(db: Db, by: BreakdownBy, now: Date, segment?: string, asOf: SegmentAsOf | null = null): Promise<Breakdown> {
  const engine = engineOf(db);
  const SPEND = spendCte(engine, asOf);
  const inSegment = segment ? await segmentCondition(db, segment, now, 'c', asOf) : sql<SqlBool>`${sql.raw(engine === 'postgres' ? 'TRUE' : '1')}`;
  // As of a day: the customers there by then (created, or with a purchase by then).
  const filter = asOf === null ? inSegment : sql<SqlBool>`${inSegment} AND ${toKysely(customersThen(asOf, engine, 'c'))}`;
  let classes: Array<{ label: string; customers: number; revenue: number }>;

  if (by.kind === 'age') {
    const labels = ageBandLabels(by.breakpoints);
    const bandCase = sql.join(
      by.breakpoints.map((b, i) => sql`WHEN c.age < ${b} THEN ${i}`),
      sql` `,
    );
    const { rows } = await sql<{ band: number; customers: number; revenue: number | null }>`
      WITH ${SPEND}
      SELECT CASE WHEN c.age IS NULL THEN -1 ${bandCase} ELSE ${by.breakpoints.length} END AS band,
             count(*) AS customers, sum(spend.spent) AS revenue
      FROM customers c LEFT JOIN spend ON spend.customer_id = c.id
      WHERE ${filter}
      GROUP BY band`.execute(db);
    const byBand = new Map(rows.map((r) => [Number(r.band), r]));
    classes = [...labels.map((label, i) => ({ label, band: i })), { label: 'unknown', band: -1 }].map(({ label, band }) => ({
      label,
      customers: Number(byBand.get(band)?.customers ?? 0),
      revenue: Number(byBand.get(band)?.revenue ?? 0),
    }));
  } else if (by.kind === 'gender') {
    const { rows } = await sql<{ gender: string | null; customers: number; revenue: number | null }>`
      WITH ${SPEND}
      SELECT c.gender AS gender, count(*) AS customers, sum(spend.spent) AS revenue
      FROM customers c LEFT JOIN spend ON spend.customer_id = c.id
      WHERE ${filter}
      GROUP BY c.gender`.execute(db);
    const byGender = new Map(rows.map((r) => [r.gender ?? 'unknown', r]));
    classes = ['female', 'male', 'other', 'unknown'].map((label) => ({
      label,
      customers: Number(byGender.get(label)?.customers ?? 0),
      revenue: Number(byGender.get(label)?.revenue ?? 0),
    }));
  } else if (by.kind === 'city' || by.kind === 'source') {
    const column = sql.ref(`c.${by.kind}`);
    const { rows } = await sql<{ label: string | null; customers: number; revenue: number | null }>`
      WITH ${SPEND}
      SELECT min(CASE WHEN trim(${column}) <> '' THEN ${column} END) AS label,
             count(*) AS customers, sum(spend.spent) AS revenue
      FROM customers c LEFT JOIN spend ON spend.customer_id = c.id
      WHERE ${filter}
      GROUP BY CASE WHEN ${column} IS NULL OR trim(${column}) = '' THEN NULL ELSE lower(trim(${column})) END`.execute(db);
    classes = rows
      .map((r) => ({ label: r.label ?? '', customers: Number(r.customers), revenue: Number(r.revenue ?? 0) }))
      .sort((a, b) => (a.label === '' ? 1 : b.label === '' ? -1 : b.customers - a.customers || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)))
      .map((c) => ({ ...c, label: c.label === '' ? 'unknown' : c.label }));
  } else {
    // One statement, so the per-customer spend is computed once for the tags, the untagged and
    // the total (SQLite materialises a CTE that is used more than once).
    const { rows } = await sql<{ kind: number; label: string | null; customers: number; revenue: number | null }>`
      WITH ${SPEND},
      base AS (SELECT c.id AS id, spend.spent AS spent FROM customers c LEFT JOIN spend ON spend.customer_id = c.id WHERE ${filter})
      SELECT 0 AS kind, t.name AS label, count(*) AS customers, sum(base.spent) AS revenue
        FROM base JOIN customer_tags ct ON ct.customer_id = base.id JOIN tags t ON t.id = ct.tag_id GROUP BY t.id
      UNION ALL
      SELECT 1, NULL, count(*), sum(base.spent) FROM base WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = base.id)
      UNION ALL
      SELECT 2, NULL, count(*), sum(base.spent) FROM base`.execute(db);
    const untagged = rows.find((r) => Number(r.kind) === 1);
    const all = rows.find((r) => Number(r.kind) === 2);
    classes = rows
      .filter((r) => Number(r.kind) === 0)
      .map((r) => ({ label: r.label ?? '', customers: Number(r.customers), revenue: Number(r.revenue ?? 0) }))
      .sort((a, b) => b.customers - a.customers || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    classes.push({ label: '(untagged)', customers: Number(untagged?.customers ?? 0), revenue: Number(untagged?.revenue ?? 0) });
    return summarise(classes, Number(all?.customers ?? 0), Number(all?.revenue ?? 0));
  }

  // Every other breakdown puts each customer in exactly one class: the totals are the sums.
  return summarise(
    classes,
    classes.reduce((sum, c) => sum + c.customers, 0),
    classes.reduce((sum, c) => sum + c.revenue, 0),
  );
}

function summarise(classes: Array<{ label: string; customers: number; revenue: number }>, total: number, revenue: number): Breakdown {
  return {
    total,
    revenue,
    rows: classes.map((c) => ({
      class: c.label,
      customers: c.customers,
      share: total > 0 ? c.customers / total : 0,
      revenue: c.revenue,
      average_spend: c.customers > 0 ? Math.round(c.revenue / c.customers) : 0,
    })),
  };
}
