// RFM scoring: recency, frequency and money as quintile scores 1–5, and the named groups they fall
// in. Pure: the values come from src/db (reader.ts), the groups are counted here.

/** Prefix of the stored groups written by `segment rfm --save` (`rfm:at-risk`). */
export const RFM_PREFIX = 'rfm:';

/**
 * The named groups, first matching rule wins. R, F, M are quintile scores 1–5 (5 = most recent,
 * most orders, most spent) over customers with purchases; FM is F + M. `sql` is the same rule over
 * columns r, f and m, for `segment rfm --save`, which scores every customer in one statement.
 */
export const RFM_GROUPS = [
  { group: 'champions', rule: 'R 4–5 and F+M 8–10', sql: 'r >= 4 AND f + m >= 8', test: (r: number, f: number, m: number) => r >= 4 && f + m >= 8 },
  { group: 'loyal', rule: 'R 3–5 and F+M 6–10', sql: 'r >= 3 AND f + m >= 6', test: (r: number, f: number, m: number) => r >= 3 && f + m >= 6 },
  { group: 'new', rule: 'R 4–5 and F 1', sql: 'r >= 4 AND f = 1', test: (r: number, f: number) => r >= 4 && f === 1 },
  { group: 'potential', rule: 'R 3–5, the rest', sql: 'r >= 3', test: (r: number) => r >= 3 },
  { group: 'at-risk', rule: 'R 1–2 and F+M 6–10', sql: 'f + m >= 6', test: (_r: number, f: number, m: number) => f + m >= 6 },
  { group: 'hibernating', rule: 'R 2, the rest', sql: 'r = 2', test: (r: number) => r === 2 },
  { group: 'lost', rule: 'R 1, the rest', sql: '1 = 1', test: () => true },
] as const;

/**
 * Cut points of a quintile score over `values`: with `score = 1 + (number of cut points below v)`,
 * score(v) = 1 + floor(5 × (values smaller than v) / n), the rank definition. That score reaches k
 * exactly when at least q = ceil((k−1)·n/5) values are smaller than v, i.e. when v is above the
 * q-th smallest value; so the cut points are the values at sorted positions q₂…q₅. Empty: none.
 */
export function quintileCuts(values: ArrayLike<number>): number[] {
  const n = values.length;
  if (n === 0) return [];
  const sorted = Float64Array.from(values).sort();
  return [1, 2, 3, 4].map((k) => sorted[Math.floor((k * n + 4) / 5) - 1]!);
}

export function quintileScore(value: number, cuts: readonly number[]): number {
  let score = 1;
  for (const cut of cuts) if (value > cut) score++;
  return score;
}

export interface RfmGroupSummary {
  group: string;
  rule: string;
  customers: number;
  revenue: number;
}

export interface RfmResult {
  groups: RfmGroupSummary[];
  scored: number;
  withoutPurchases: number;
  saved: number | null;
}

/** The summary from per-group counts and revenue, in RFM_GROUPS order. */
export function rfmResult(byGroup: ReadonlyMap<string, { customers: number; revenue: number }>, customers: number): RfmResult {
  const groups = RFM_GROUPS.map((g) => ({ group: g.group, rule: g.rule, customers: byGroup.get(g.group)?.customers ?? 0, revenue: byGroup.get(g.group)?.revenue ?? 0 }));
  const scored = groups.reduce((sum, g) => sum + g.customers, 0);
  return { groups, scored, withoutPurchases: customers - scored, saved: null };
}

/** R, F and M of every customer with live purchases, index by index (recency as yyyymmdd, money in cents). */
export interface RfmValues {
  recency: number[];
  frequency: number[];
  monetary: number[];
}

/** The cut points of R, F and M over every customer with live purchases. */
export function rfmCuts(values: RfmValues): { recency: number[]; frequency: number[]; monetary: number[] } {
  return { recency: quintileCuts(values.recency), frequency: quintileCuts(values.frequency), monetary: quintileCuts(values.monetary) };
}

/**
 * Group sizes and revenue of the scored customers, in one pass over their values; `customers` is
 * everyone there (those without purchases are counted apart).
 */
export function rfmGroups(values: RfmValues, customers: number): RfmResult {
  const { recency, frequency, monetary } = values;
  const cuts = rfmCuts(values);
  const counts = new Array<number>(RFM_GROUPS.length).fill(0);
  const revenue = new Array<number>(RFM_GROUPS.length).fill(0);
  for (let i = 0; i < recency.length; i++) {
    const r = quintileScore(recency[i]!, cuts.recency);
    const f = quintileScore(frequency[i]!, cuts.frequency);
    const m = quintileScore(monetary[i]!, cuts.monetary);
    const g = RFM_GROUPS.findIndex((group) => group.test(r, f, m));
    counts[g]!++;
    revenue[g]! += monetary[i]!;
  }
  return rfmResult(new Map(RFM_GROUPS.map((g, i) => [g.group, { customers: counts[i]!, revenue: revenue[i]! }])), customers);
}
