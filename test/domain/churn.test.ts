// The churn-risk model's pieces against values worked out by hand or known by construction:
// the logistic fit, AUC, Brier score, the features at a snapshot and the reasons in words.
import { describe, expect, it } from 'vitest';
import { auc, brier, fitLogistic, predictOne, sigmoid, solveSpd } from '../../src/domain/churn-model.js';
import { factsAt, FEATURE_COUNT, nextAction, reasonsFor, writeFeatures, type CustomerHistory } from '../../src/domain/churn-features.js';
import { ExpressionError, parseSegmentExpression } from '../../src/domain/segment-expression.js';
import { rng } from '../helpers/random.js';

/** A standard normal variate from two uniform ones (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe('logistic regression', () => {
  it('recovers known coefficients from data generated with them', () => {
    const random = rng(42);
    const n = 20_000;
    const [b0, b1, b2] = [0.5, 2, -1];
    const x = new Float64Array(n * 2);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      // Features on scales of their own (mean 3, sd 2; mean −1, sd 0.5): the fit standardises them.
      const x1 = 3 + 2 * normal(random);
      const x2 = -1 + 0.5 * normal(random);
      x[2 * i] = x1;
      x[2 * i + 1] = x2;
      y[i] = random() < sigmoid(b0 + b1 * (x1 - 3) / 2 + b2 * (x2 + 1) / 0.5) ? 1 : 0;
    }
    const model = fitLogistic({ x, rows: n, cols: 2 }, y, { lambda: 0.001 });
    // On the raw scale: w / sd per feature, intercept less each w·mean/sd.
    const raw1 = model.weights[0]! / model.sds[0]!;
    const raw2 = model.weights[1]! / model.sds[1]!;
    const rawIntercept = model.intercept - model.weights[0]! * model.means[0]! / model.sds[0]! - model.weights[1]! * model.means[1]! / model.sds[1]!;
    expect(raw1).toBeCloseTo(b1 / 2, 1);
    expect(raw2).toBeCloseTo(b2 / 0.5, 1);
    // b0 − b1·3/2 − b2·(−1)/0.5 = 0.5 − 3 − 2
    expect(Math.abs(rawIntercept - -4.5)).toBeLessThan(0.15);
    expect(model.iterations).toBeLessThan(15);
    // A point at the means has log-odds b0 exactly by construction.
    expect(predictOne(model, [3, -1])).toBeCloseTo(sigmoid(b0), 1);
  });

  it('is deterministic, and the penalty pulls coefficients towards zero', () => {
    const random = rng(7);
    const n = 500;
    const x = Float64Array.from({ length: n }, () => normal(random));
    const y = Uint8Array.from(x, (v) => (random() < sigmoid(1.5 * v) ? 1 : 0));
    const a = fitLogistic({ x, rows: n, cols: 1 }, y, { lambda: 1 });
    const b = fitLogistic({ x, rows: n, cols: 1 }, y, { lambda: 1 });
    expect([...a.weights, a.intercept]).toEqual([...b.weights, b.intercept]);
    const strong = fitLogistic({ x, rows: n, cols: 1 }, y, { lambda: 1000 });
    expect(Math.abs(strong.weights[0]!)).toBeLessThan(Math.abs(a.weights[0]!) / 2);
  });

  it('fits separable data without running away (the penalty keeps the weights finite)', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const y = Uint8Array.from([0, 0, 0, 1, 1, 1]);
    const model = fitLogistic({ x, rows: 6, cols: 1 }, y, { lambda: 1 });
    expect(Number.isFinite(model.weights[0]!)).toBe(true);
    expect(predictOne(model, [6])).toBeGreaterThan(0.5);
    expect(predictOne(model, [1])).toBeLessThan(0.5);
  });

  it('solves a symmetric positive definite system', () => {
    // [4 2; 2 3] x = [2; 1] → x = [0.5, 0]
    expect([...solveSpd(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2)]).toEqual([0.5, 0]);
  });
});

describe('AUC and Brier score', () => {
  it('AUC is the share of (stopped, kept) pairs ranked the right way round', () => {
    // Stopped: 0.35, 0.8; kept: 0.1, 0.4. Pairs right: 0.35>0.1, 0.8>0.1, 0.8>0.4; wrong: 0.35<0.4 → 3/4.
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(auc([0.5, 0.5], [1, 0])).toBe(0.5);
    // Ties count half: stopped 0.5, 0.9; kept 0.5, 0.1 → (0.5 + 1 + 1 + 1) / 4.
    expect(auc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0])).toBe(0.875);
    expect(auc([0.2, 0.3], [1, 1])).toBeNull();
  });

  it('Brier is the mean squared error of the probabilities', () => {
    // (0.9 − 1)² = 0.01, (0.2 − 0)² = 0.04, (0.5 − 1)² = 0.25 → 0.3 / 3.
    expect(brier([0.9, 0.2, 0.5], [1, 0, 1])).toBeCloseTo(0.1, 12);
    expect(brier([], [])).toBeNull();
  });
});

const history = (sales: number[], extra: Partial<CustomerHistory> = {}): CustomerHistory => ({
  id: 1,
  saleDays: Int32Array.from(sales),
  saleCents: Float64Array.from(sales, () => 10_000),
  saleStart: 0,
  saleEnd: sales.length,
  contactDays: [],
  tickets: [],
  ratings: [],
  deals: [],
  ...extra,
});

describe('features at a snapshot', () => {
  it('reads only what happened up to the snapshot day', () => {
    const base = history([100, 147, 194, 241], {
      contactDays: [150],
      tickets: [{ openedDay: 230, changes: [] }, { openedDay: 235, changes: [{ day: 240, done: true }] }],
      ratings: [{ day: 240, score: 2 }],
      deals: [{ createdDay: 200, moves: [{ day: 200, open: true }] }],
    });
    const later = history([100, 147, 194, 241, 400, 420], {
      contactDays: [150, 390],
      tickets: [{ openedDay: 230, changes: [{ day: 395, done: true }] }, { openedDay: 235, changes: [{ day: 240, done: true }] }, { openedDay: 390, changes: [] }],
      ratings: [{ day: 240, score: 2 }, { day: 396, score: 5 }],
      deals: [{ createdDay: 200, moves: [{ day: 200, open: true }, { day: 398, open: false }] }],
    });
    const a = new Float64Array(FEATURE_COUNT);
    const b = new Float64Array(FEATURE_COUNT);
    writeFeatures(factsAt(base, 381)!, 381, base, a, 0);
    writeFeatures(factsAt(later, 381)!, 381, later, b, 0);
    expect([...b]).toEqual([...a]);
    expect(factsAt(base, 381)).toMatchObject({ daysSincePurchase: 140, purchases: 4, usualGap: 47, daysSinceContact: 231, openTickets: 1, lastRating: 2, openDeals: 1 });
    expect(factsAt(base, 99)).toBeNull();
  });

  it('says why in words, strongest reason first, and suggests fixing an open ticket', () => {
    const h = history([100, 147, 194, 241], { tickets: [{ openedDay: 300, changes: [] }, { openedDay: 310, changes: [] }], ratings: [{ day: 250, score: 2 }] });
    const facts = factsAt(h, 381)!;
    // Contributions by feature, as weight × standardised value; the groups' sums rank the reasons.
    const contributions = new Float64Array(FEATURE_COUNT);
    contributions[0] = 2; // recency
    contributions[15] = 1.5; // open tickets
    contributions[16] = 0.8; // last rating
    contributions[12] = 0.05; // contact: below the minimum, left out
    const reasons = reasonsFor(facts, contributions);
    expect(reasons.map((r) => r.text)).toEqual(['no purchase for 140 days, 3× their usual gap', '2 open tickets', 'last rating 2/5']);
    expect(nextAction(facts, reasons)).toBe('fix their open ticket');
    const noTicket = factsAt(history([100, 147]), 381)!;
    expect(nextAction(noTicket, reasonsFor(noTicket, contributions))).toBe('offer');
  });

  it('a customer who bought today has no purchase reason to speak of', () => {
    const h = history([100, 150, 200]);
    const facts = factsAt(h, 200)!;
    expect(facts.daysSincePurchase).toBe(0);
    const contributions = new Float64Array(FEATURE_COUNT);
    contributions[0] = -2;
    expect(reasonsFor(facts, contributions)).toEqual([]);
  });
});

describe('churn_risk in segment expressions', () => {
  it('compares with a probability or a percentage', () => {
    expect(parseSegmentExpression('churn_risk > 0.7')).toMatchObject({ type: 'compare', op: '>', value: { kind: 'number', value: 0.7 } });
    expect(parseSegmentExpression('churn_risk >= 70%')).toMatchObject({ value: { kind: 'number', value: 0.7 } });
    expect(parseSegmentExpression('churn_risk is empty')).toMatchObject({ type: 'empty' });
  });

  it.each([
    ['churn_risk > 1.5', /probability from 0 to 1/],
    ['churn_risk > 120%', /probability from 0 to 1/],
    ['churn_risk > "high"', /not text/],
    ['churn_risk ~ 0.5', /works on text/],
  ])('rejects %s', (expression, message) => {
    expect(() => parseSegmentExpression(expression)).toThrow(ExpressionError);
    expect(() => parseSegmentExpression(expression)).toThrow(message);
  });
});
