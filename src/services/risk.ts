// Churn risk: which customers who have bought before will not buy within the horizon, learnt at run
// time from the shop's own history. Snapshots are taken every half horizon back through the
// history before the as-of day; at each, the customers who had bought by then are described by
// their features as they stood then (domain/churn-features.ts) and labelled by whether they bought
// in the following horizon. A standardised, L2-regularised logistic regression
// (domain/churn-model.ts) learns from those rows and scores every customer as of the day. The same
// procedure one horizon earlier, scored against what then happened, is the backtest (AUC and
// Brier score, beside a model that knows recency only). Deterministic: the same data and as-of day
// give the same scores; the clock is never read here.
import type { Kysely } from 'kysely';
import { readAtRiskScores, readCustomerNames, readRiskHistory } from '../db/risk-history.js';
import type { DB } from '../db/schema.js';
import { addDays, endOfLocalDay } from '../domain/dates.js';
import { ValidationError } from '../domain/errors.js';
import {
  boughtBetween,
  factsAt,
  FEATURE_COUNT,
  nextAction,
  purchaseDay,
  purchasesUpTo,
  reasonsFor,
  writeFeatures,
  type CustomerHistory,
  type Facts,
  type Reason,
} from '../domain/churn-features.js';
import { auc, brier, fitLogistic, predictOne, standardise, type LogisticModel, type Matrix } from '../domain/churn-model.js';
import { beginAudit, type WriteMeta } from './audit.js';
import { customerIdsInSegment } from './segments.js';

/** Fewer customers than this (who had bought a horizon before the as-of day) is too few to learn from. */
export const MIN_CUSTOMERS = 20;
/** Fewer customers than this who stopped (or kept) buying, in the training rows or the backtest, is too few. */
export const MIN_PER_OUTCOME = 5;
/** Training rows beyond this are thinned by a fixed hash of the customer id (never at random). */
const MAX_TRAINING_ROWS = 40_000;
const MAX_SNAPSHOTS = 10;
const LAMBDA = 1;

export interface RiskOptions {
  /** The local day scores are computed as of, `YYYY-MM-DD` (history up to its end). */
  asOf: string;
  horizonDays: number;
  segment?: string;
  limit?: number;
  /** Resolves what `today` means in a segment's expression; never used for the model. */
  now: Date;
}

export interface RiskRow {
  id: number;
  name: string;
  email: string | null;
  probability: number;
  spend12mCents: number;
  revenueAtRiskCents: number;
  lastPurchase: string;
  daysSincePurchase: number;
  usualGapDays: number | null;
  openTickets: number;
  lastRating: number | null;
  reasons: string[];
  action: string;
}

export interface Backtest {
  /** The model was trained on history up to this day and scored at it. */
  trainedUntil: string;
  /** What happened from then up to the as-of day. */
  customers: number;
  stopped: number;
  auc: number;
  brier: number;
  baselineAuc: number;
  baselineBrier: number;
}

export interface RiskResult {
  asOf: string;
  horizonDays: number;
  snapshots: number;
  trainingRows: number;
  /** Share of the training rows that did not buy within the horizon. */
  baseRate: number;
  backtest: Backtest;
  /** Every scored customer (in the segment, if one was given), by revenue at risk; `limit` applied. */
  rows: RiskRow[];
  scored: number;
  /** From the caller's clocks (wall and CPU milliseconds; 0 without them): reading the history, the rest. */
  timings: { readMs: number; modelMs: number; readCpuMs: number; modelCpuMs: number };
}

const dayNumber = (day: string) => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / 86_400_000;
const dayNames = new Map<number, string>();
const dayOf = (n: number) => {
  let name = dayNames.get(n);
  if (name === undefined) dayNames.set(n, (name = new Date(n * 86_400_000).toISOString().slice(0, 10)));
  return name;
};
const localDayNumber = (iso: string) => {
  const instant = new Date(iso);
  return Math.floor((instant.getTime() - instant.getTimezoneOffset() * 60_000) / 86_400_000);
};
const DONE_STATUSES = new Set(['resolved', 'closed']);
const OPEN_STAGES = new Set(['lead', 'qualified', 'proposal', 'negotiation']);

/** Every customer with a purchase up to the as-of day, with their whole history up to then. */
async function histories(db: Kysely<DB>, asOf: string): Promise<CustomerHistory[]> {
  const rows = await readRiskHistory(db, asOf, endOfLocalDay(asOf).toISOString());
  const { customers, blockOf, starts, ends, blocks } = rows.sales;
  const out: CustomerHistory[] = [];
  // Most customers have no tickets, ratings or deals: they share one empty list until they do.
  const NONE: readonly never[] = Object.freeze([]);
  for (let i = 0; i < customers.length; i++) {
    const { days, cents } = blocks[blockOf[i]!]!;
    out.push({ id: customers[i]!, saleDays: days, saleCents: cents, saleStart: starts[i]!, saleEnd: ends[i]!, contactDays: NONE, tickets: NONE, ratings: NONE, deals: NONE });
  }
  // The customers come by id: a binary search finds one without a map of them all.
  const historyOf = (id: number): CustomerHistory | undefined => {
    let lo = 0;
    let hi = customers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (customers[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return customers[lo] === id ? out[lo] : undefined;
  };
  const own = <K extends 'contactDays' | 'tickets' | 'ratings' | 'deals'>(h: CustomerHistory, key: K) => {
    if (h[key] === NONE) (h as Record<K, unknown>)[key] = [];
    return h[key] as unknown as Array<CustomerHistory[K] extends ReadonlyArray<infer T> ? T : never>;
  };
  for (const [id, at] of rows.activities) {
    const h = historyOf(id);
    if (h) own(h, 'contactDays').push(localDayNumber(at));
  }
  const changes = new Map<number, Array<{ day: number; done: boolean }>>();
  for (const [ticketId, at, to] of rows.ticketChanges) {
    let list = changes.get(ticketId);
    if (!list) changes.set(ticketId, (list = []));
    list.push({ day: localDayNumber(at), done: DONE_STATUSES.has(to) });
  }
  for (const [id, customerId, openedAt, resolvedAt, closedAt, hasHistory] of rows.tickets) {
    const h = historyOf(customerId);
    if (!h) continue;
    // Imported tickets have no status history: their resolution (or closing) time is the change.
    const doneAt = resolvedAt ?? closedAt;
    const list = hasHistory ? (changes.get(id) ?? []) : doneAt ? [{ day: localDayNumber(doneAt), done: true }] : [];
    own(h, 'tickets').push({ openedDay: localDayNumber(openedAt), changes: list });
  }
  for (const [customerId, ratedAt, score] of rows.ratings) {
    const h = historyOf(customerId);
    if (h) own(h, 'ratings').push({ day: localDayNumber(ratedAt), score });
  }
  const moves = new Map<number, Array<{ day: number; open: boolean }>>();
  for (const [dealId, at, stage] of rows.dealMoves) {
    let list = moves.get(dealId);
    if (!list) moves.set(dealId, (list = []));
    list.push({ day: localDayNumber(at), open: OPEN_STAGES.has(stage) });
  }
  for (const [id, customerId, createdAt, stage] of rows.deals) {
    const h = historyOf(customerId);
    if (!h) continue;
    const created = localDayNumber(createdAt);
    own(h, 'deals').push({ createdDay: created, moves: moves.get(id) ?? [{ day: created, open: OPEN_STAGES.has(stage) }] });
  }
  return out;
}

/** Knuth's multiplicative hash of an id into [0, 1): a fixed, even thinning of customers. */
const idFraction = (id: number) => (Math.imul(id, 2654435761) >>> 0) / 4294967296;

interface TrainingSet {
  data: Matrix;
  labels: Uint8Array;
  snapshots: number;
}

/**
 * Rows for a model that will score as of day `until`: snapshots at until − horizon, then every half
 * horizon back while anyone had bought, each labelled by a purchase in the horizon after it (which
 * ends on or before `until`, so nothing after `until` is read).
 */
function trainingSet(all: readonly CustomerHistory[], until: number, horizon: number, firstDay: number): TrainingSet {
  const step = Math.max(7, Math.round(horizon / 2));
  const days: number[] = [];
  for (let t = until - horizon; t >= firstDay && days.length < MAX_SNAPSHOTS; t -= step) days.push(t);
  let estimate = 0;
  for (const t of days) for (const h of all) if (purchaseDay(h, 0) <= t) estimate++;
  // The same customers at every snapshot, chosen by id: thinning never depends on the outcome.
  const keep = estimate > MAX_TRAINING_ROWS ? MAX_TRAINING_ROWS / estimate : 1;
  const sample = keep < 1 ? all.filter((h) => idFraction(h.id) < keep) : all;
  let buffer = new Float64Array((Math.ceil(Math.min(estimate, MAX_TRAINING_ROWS * 1.1)) + 16) * FEATURE_COUNT);
  const labels: number[] = [];
  let rows = 0;
  for (const t of days) {
    for (const h of sample) {
      if (purchaseDay(h, 0) > t) continue;
      const facts = factsAt(h, t)!;
      if ((rows + 1) * FEATURE_COUNT > buffer.length) {
        const grown = new Float64Array(buffer.length * 2);
        grown.set(buffer);
        buffer = grown;
      }
      writeFeatures(facts, t, h, buffer, rows * FEATURE_COUNT);
      labels.push(boughtBetween(h, t, t + horizon) ? 0 : 1);
      rows++;
    }
  }
  return { data: { x: buffer, rows, cols: FEATURE_COUNT }, labels: Uint8Array.from(labels), snapshots: days.length };
}

/** The same rows with the recency feature only, for the baseline. */
function recencyOnly(data: Matrix): Matrix {
  const x = new Float64Array(data.rows);
  for (let i = 0; i < data.rows; i++) x[i] = data.x[i * data.cols]!;
  return { x, rows: data.rows, cols: 1 };
}

function count(labels: Uint8Array, value: number): number {
  let n = 0;
  for (const l of labels) if (l === value) n++;
  return n;
}

function refuseUnlessBothOutcomes(labels: Uint8Array, where: string): void {
  const stopped = count(labels, 1);
  const kept = labels.length - stopped;
  if (stopped < MIN_PER_OUTCOME) {
    throw new ValidationError(`too few customers who stopped buying to learn from: ${stopped} ${where} (at least ${MIN_PER_OUTCOME} are needed)`, {
      hint: 'the score needs customers who stopped buying in the history; try a shorter --horizon or a later --as-of',
    });
  }
  if (kept < MIN_PER_OUTCOME) {
    throw new ValidationError(`too few customers who kept buying to learn from: ${kept} ${where} (at least ${MIN_PER_OUTCOME} are needed)`, {
      hint: 'when (nearly) every customer has stopped buying there is nothing to tell apart; try a longer --horizon or an earlier --as-of',
    });
  }
}

/** Every customer who had bought by `day`, with their facts, score and (if asked) reasons. */
function scoreAt(model: LogisticModel, all: readonly CustomerHistory[], day: number, explain: boolean) {
  const row = new Float64Array(FEATURE_COUNT);
  const contributions = new Float64Array(FEATURE_COUNT);
  const out: Array<{ history: CustomerHistory; facts: Facts; probability: number; reasons: Reason[] }> = [];
  for (const h of all) {
    const facts = factsAt(h, day);
    if (!facts) continue;
    writeFeatures(facts, day, h, row, 0);
    let reasons: Reason[] = [];
    if (explain) {
      for (let j = 0; j < FEATURE_COUNT; j++) contributions[j] = model.weights[j]! * standardise(model, j, row[j]!);
      reasons = reasonsFor(facts, contributions);
    }
    out.push({ history: h, facts, probability: predictOne(model, row), reasons });
  }
  return out;
}

/** Trains on the history before `until` and scores everyone at it. */
function modelAt(all: readonly CustomerHistory[], until: number, horizon: number, firstDay: number, what: string) {
  const training = trainingSet(all, until, horizon, firstDay);
  refuseUnlessBothOutcomes(training.labels, `in the ${training.data.rows} training rows ${what}`);
  const model = fitLogistic(training.data, training.labels, { lambda: LAMBDA });
  return { training, model };
}

export async function customerRisk(
  db: Kysely<DB>,
  options: RiskOptions,
  clock: () => number = () => 0,
  cpuClock: () => number = () => 0,
): Promise<RiskResult> {
  const { asOf, horizonDays: horizon } = options;
  // An unknown segment is reported before any work is done.
  const members = options.segment !== undefined ? new Set(await customerIdsInSegment(db, options.segment, options.now)) : null;
  const started = clock();
  const startedCpu = cpuClock();
  const all = await histories(db, asOf);
  const readMs = clock() - started;
  const readCpuMs = cpuClock() - startedCpu;
  const day = dayNumber(asOf);
  if (all.length === 0) {
    throw new ValidationError(`no purchases up to ${asOf}: there is no history to learn from`, { hint: 'record or import sales first, or give a later --as-of' });
  }
  let firstDay = Infinity;
  for (const h of all) firstDay = Math.min(firstDay, purchaseDay(h, 0));
  if (firstDay > day - 2 * horizon) {
    throw new ValidationError(
      `the history is shorter than two horizons: the first purchase is on ${dayOf(firstDay)}, and a ${horizon}-day horizon as of ${asOf} needs purchases from ${dayOf(day - 2 * horizon)} or earlier`,
      { hint: 'one horizon to learn from and one to check the backtest against; try a shorter --horizon' },
    );
  }
  const backtestDay = day - horizon;
  const earlier = all.filter((h) => purchaseDay(h, 0) <= backtestDay);
  if (earlier.length < MIN_CUSTOMERS) {
    throw new ValidationError(`too few customers to learn from: ${earlier.length} had bought by ${dayOf(backtestDay)} (at least ${MIN_CUSTOMERS} are needed)`, {
      hint: 'the score learns from the shop\'s own customers; it needs more of them',
    });
  }

  // The backtest: trained one horizon earlier, scored at that day against what happened since.
  const past = modelAt(all, backtestDay, horizon, firstDay, `before ${dayOf(backtestDay)}`);
  const outcomes = Uint8Array.from(earlier, (h) => (boughtBetween(h, backtestDay, day) ? 0 : 1));
  refuseUnlessBothOutcomes(outcomes, `in the backtest (bought by ${dayOf(backtestDay)}, followed up to ${asOf})`);
  const pastScores = Float64Array.from(scoreAt(past.model, earlier, backtestDay, false), (s) => s.probability);
  const baseline = fitLogistic(recencyOnly(past.training.data), past.training.labels, { lambda: LAMBDA });
  const baselineScores = Float64Array.from(earlier, (h) => predictOne(baseline, [Math.log1p(backtestDay - purchaseDay(h, purchasesUpTo(h, backtestDay) - 1))]));
  const backtest: Backtest = {
    trainedUntil: dayOf(backtestDay),
    customers: earlier.length,
    stopped: count(outcomes, 1),
    auc: auc(pastScores, outcomes)!,
    brier: brier(pastScores, outcomes)!,
    baselineAuc: auc(baselineScores, outcomes)!,
    baselineBrier: brier(baselineScores, outcomes)!,
  };

  // The model itself: every snapshot whose horizon has ended by the as-of day.
  const current = modelAt(all, day, horizon, firstDay, `before ${asOf}`);
  let scored = scoreAt(current.model, all, day, true);
  if (members) scored = scored.filter((s) => members.has(s.history.id));
  const names = await readCustomerNames(db, new Set(scored.map((s) => s.history.id)));
  const rows: RiskRow[] = scored.map(({ history, facts, probability, reasons }) => {
    const spend = Math.round(facts.spend365);
    const customer = names.get(history.id);
    return {
      id: history.id,
      name: customer?.name ?? '',
      email: customer?.email ?? null,
      probability,
      spend12mCents: spend,
      revenueAtRiskCents: Math.round(probability * spend),
      lastPurchase: dayOf(day - facts.daysSincePurchase),
      daysSincePurchase: facts.daysSincePurchase,
      usualGapDays: facts.usualGap === null ? null : Math.round(facts.usualGap),
      openTickets: facts.openTickets,
      lastRating: facts.lastRating,
      reasons: reasons.map((r) => r.text),
      action: nextAction(facts, reasons),
    };
  });
  rows.sort((a, b) => b.revenueAtRiskCents - a.revenueAtRiskCents || b.probability - a.probability || a.id - b.id);
  const trainingLabels = current.training.labels;
  return {
    asOf,
    horizonDays: horizon,
    snapshots: current.training.snapshots,
    trainingRows: current.training.data.rows,
    baseRate: count(trainingLabels, 1) / trainingLabels.length,
    backtest,
    rows: options.limit !== undefined ? rows.slice(0, options.limit) : rows,
    scored: rows.length,
    timings: { readMs, modelMs: clock() - started - readMs, readCpuMs, modelCpuMs: cpuClock() - startedCpu - readCpuMs },
  };
}

// ---------------------------------------------------------------------------------------------
// Saved scores

/**
 * Stores every scored customer's probability, spend, reasons and suggested action with the time,
 * as one audited entry (undo removes them again). Earlier scores are kept: `churn_risk` in segments
 * and the agenda read each customer's latest.
 */
export async function saveRiskScores(db: Kysely<DB>, result: RiskResult, rows: readonly RiskRow[], meta: WriteMeta): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const audit = await beginAudit(trx, meta, {
      action: 'customer.risk.save',
      entity: 'risk_score',
      summary: `saved churn-risk scores of ${rows.length} customers as of ${result.asOf} (horizon ${result.horizonDays} days)`,
    });
    const at = meta.now.toISOString();
    // Ids come from the table (never reused on either engine); the audit entry records them as runs.
    const ids: number[] = [];
    const CHUNK = 500;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const inserted = await trx
        .insertInto('risk_scores')
        .values(
          rows.slice(i, i + CHUNK).map((r) => ({
            customer_id: r.id,
            probability: r.probability,
            spend_12m_cents: r.spend12mCents,
            revenue_at_risk_cents: r.revenueAtRiskCents,
            reasons: r.reasons.join('; '),
            action: r.action,
            as_of: result.asOf,
            horizon_days: result.horizonDays,
            saved_at: at,
          })),
        )
        .returning('id')
        .execute();
      for (const { id } of inserted) ids.push(Number(id));
    }
    ids.sort((a, b) => a - b);
    for (let start = 0; start < ids.length; ) {
      let end = start;
      while (end + 1 < ids.length && ids[end + 1] === ids[end]! + 1) end++;
      await audit.insertedRange('risk_scores', ids[start]!, ids[end]!);
      start = end + 1;
    }
    return rows.length;
  });
}

/** The agenda's section: saved risk at least this, nobody in touch for this many days, this many listed. */
export const AT_RISK = { threshold: 0.7, quietDays: 30, limit: 10 } as const;

export interface AtRiskCustomer {
  id: number;
  name: string;
  email: string | null;
  phone: string | null;
  probability: number;
  spend12mCents: number;
  revenueAtRiskCents: number;
  reasons: string;
  action: string;
  lastContact: string | null;
  savedAt: string;
}

/**
 * For the agenda: customers whose latest saved score is at least `threshold`, with spend at risk,
 * and whom nobody contacted from `quietDays` days before `day` to its end, biggest revenue at risk
 * first. Contacts after `day` are ignored, so a past agenda reads as it would have then.
 */
export async function atRiskCustomers(db: Kysely<DB>, input: { day: string; quietDays: number; threshold: number; limit: number }): Promise<{ customers: AtRiskCustomer[]; total: number }> {
  const end = endOfLocalDay(input.day).toISOString();
  const cutoff = endOfLocalDay(addDays(input.day, -input.quietDays - 1)).toISOString();
  const rows = await readAtRiskScores(db, { end, cutoff, threshold: input.threshold, limit: input.limit });
  return {
    total: Number(rows[0]?.total ?? 0),
    customers: rows.map((r) => ({
      id: Number(r.id),
      name: r.name,
      email: r.email,
      phone: r.phone,
      probability: Number(r.probability),
      spend12mCents: Number(r.spend_12m_cents),
      revenueAtRiskCents: Number(r.revenue_at_risk_cents),
      reasons: r.reasons,
      action: r.action,
      lastContact: r.last_contact,
      savedAt: r.saved_at,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The report

export const RISK_BANDS = [
  { band: 'very high', from: 0.9, to: 1.0001 },
  { band: 'high', from: 0.7, to: 0.9 },
  { band: 'medium', from: 0.5, to: 0.7 },
  { band: 'low', from: 0.3, to: 0.5 },
  { band: 'very low', from: 0, to: 0.3 },
] as const;

export interface RiskReport {
  bands: Array<{ band: string; range: string; customers: number; spend12mCents: number; revenueAtRiskCents: number }>;
  total: { customers: number; spend12mCents: number; revenueAtRiskCents: number };
  segments: Array<{ segment: string; customers: number; spend12mCents: number; revenueAtRiskCents: number; averageProbability: number | null }>;
}

/** Customers per risk band and revenue at risk, in total and per saved segment (membership as of now). */
export async function riskReport(db: Kysely<DB>, result: RiskResult, now: Date): Promise<RiskReport> {
  const rows = result.rows;
  const bands = RISK_BANDS.map((b) => {
    const inBand = rows.filter((r) => r.probability >= b.from && r.probability < b.to);
    return {
      band: b.band,
      range: `${Math.round(b.from * 100)}–${Math.min(100, Math.round(b.to * 100))}%`,
      customers: inBand.length,
      spend12mCents: inBand.reduce((s, r) => s + r.spend12mCents, 0),
      revenueAtRiskCents: inBand.reduce((s, r) => s + r.revenueAtRiskCents, 0),
    };
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const segments: RiskReport['segments'] = [];
  const saved = await db.selectFrom('segments').select('name').orderBy('name').execute();
  for (const { name } of saved) {
    const members = (await customerIdsInSegment(db, name, now)).map((id) => byId.get(id)).filter((r): r is RiskRow => r !== undefined);
    segments.push({
      segment: name,
      customers: members.length,
      spend12mCents: members.reduce((s, r) => s + r.spend12mCents, 0),
      revenueAtRiskCents: members.reduce((s, r) => s + r.revenueAtRiskCents, 0),
      averageProbability: members.length ? members.reduce((s, r) => s + r.probability, 0) / members.length : null,
    });
  }
  segments.sort((a, b) => b.revenueAtRiskCents - a.revenueAtRiskCents || a.segment.localeCompare(b.segment));
  return {
    bands,
    total: {
      customers: rows.length,
      spend12mCents: rows.reduce((s, r) => s + r.spend12mCents, 0),
      revenueAtRiskCents: rows.reduce((s, r) => s + r.revenueAtRiskCents, 0),
    },
    segments,
  };
}
