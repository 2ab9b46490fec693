// The churn-risk features of one customer at one snapshot day, computed from their history by the
// dates the events carry: only purchases on or before the snapshot day and tickets, ratings,
// contacts and deal moves up to its end count, so no feature can see the future. Also the reasons
// in words behind a score and the next action they suggest. Pure: days are whole numbers (days
// since 1970-01-01 of the local calendar day), and the caller supplies the history.

/** A customer's history, each list in date order. */
export interface CustomerHistory {
  id: number;
  /**
   * Days of live purchases and their amounts in cents, oldest first: positions `saleStart` up to
   * (not including) `saleEnd` of columns that every customer of a read may share.
   */
  saleDays: Int32Array;
  saleCents: Float64Array;
  saleStart: number;
  saleEnd: number;
  /** Days of activities (contacts), oldest first. */
  contactDays: readonly number[];
  tickets: readonly TicketHistory[];
  /** Ratings of their tickets by the day given, oldest first. */
  ratings: ReadonlyArray<{ day: number; score: number }>;
  deals: readonly DealHistory[];
}

export interface TicketHistory {
  openedDay: number;
  /** Status changes after opening, oldest first: `done` is true for resolved or closed. */
  changes: ReadonlyArray<{ day: number; done: boolean }>;
}

export interface DealHistory {
  createdDay: number;
  /** Stage moves, oldest first: `open` is true for lead … negotiation. */
  moves: ReadonlyArray<{ day: number; open: boolean }>;
}

export const FEATURES = [
  'recency_log',
  'orders_log',
  'orders_90d',
  'orders_365d',
  'spend_365d_log',
  'spend_all_log',
  'tenure_log',
  'single_purchase',
  'usual_gap_log',
  'overdue_ratio',
  'gap_growth',
  'spend_trend',
  'contact_log',
  'never_contacted',
  'tickets_365d',
  'open_tickets',
  'last_rating',
  'has_rating',
  'low_ratings_365d',
  'open_deals',
] as const;
export const FEATURE_COUNT = FEATURES.length;
const F = Object.fromEntries(FEATURES.map((name, i) => [name, i])) as Record<(typeof FEATURES)[number], number>;

/** The facts behind a customer's features at a snapshot, in days, counts and cents. */
export interface Facts {
  daysSincePurchase: number;
  purchases: number;
  purchases365: number;
  spend365: number;
  /** The median gap between purchase days; null with purchases on one day only. */
  usualGap: number | null;
  lastGap: number | null;
  spendLast180: number;
  spendPrevious180: number;
  daysSinceContact: number | null;
  tickets365: number;
  openTickets: number;
  lastRating: number | null;
  lowRatings365: number;
  openDeals: number;
  tenure: number;
}

/** How many of the customer's purchases were on or before `day` (their days are sorted). */
export function purchasesUpTo(history: CustomerHistory, day: number): number {
  const { saleDays: days, saleStart: start } = history;
  let lo = start;
  let hi = history.saleEnd;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (days[mid]! <= day) lo = mid + 1;
    else hi = mid;
  }
  return lo - start;
}

/** The day of the customer's `i`-th purchase (0 is the first). */
export function purchaseDay(history: CustomerHistory, i: number): number {
  return history.saleDays[history.saleStart + i]!;
}

/** True when the customer bought on a day in (from, to]. */
export function boughtBetween(history: CustomerHistory, from: number, to: number): boolean {
  return purchasesUpTo(history, to) > purchasesUpTo(history, from);
}

// Scratch space for the gaps of one customer (factsAt runs for every customer at every snapshot).
let scratch = new Float64Array(64);

/** The median of the first `n` values of `values`, which it sorts in place. */
function medianOf(values: Float64Array, n: number): number {
  const part = values.subarray(0, n).sort();
  const mid = n >> 1;
  return n % 2 ? part[mid]! : (part[mid - 1]! + part[mid]!) / 2;
}

/** The facts at the end of `day`; null when the customer had not bought by then. */
export function factsAt(history: CustomerHistory, day: number): Facts | null {
  const n = purchasesUpTo(history, day);
  if (n === 0) return null;
  const { saleDays, saleCents, saleStart: start } = history;
  const first = saleDays[start]!;
  const last = saleDays[start + n - 1]!;
  let purchases365 = 0;
  let spend365 = 0;
  let spendLast180 = 0;
  let spendPrevious180 = 0;
  let gapCount = 0;
  let previous = -Infinity;
  let lastGap: number | null = null;
  if (scratch.length < n) scratch = new Float64Array(2 * n);
  for (let i = start; i < start + n; i++) {
    const d = saleDays[i]!;
    const age = day - d;
    if (age < 365) {
      purchases365++;
      spend365 += saleCents[i]!;
    }
    if (age < 180) spendLast180 += saleCents[i]!;
    else if (age < 360) spendPrevious180 += saleCents[i]!;
    // Gaps between distinct purchase days.
    if (d !== previous) {
      if (previous !== -Infinity) scratch[gapCount++] = lastGap = d - previous;
      previous = d;
    }
  }
  const usualGap = gapCount > 0 ? medianOf(scratch, gapCount) : null;

  let lastContact: number | null = null;
  for (const d of history.contactDays) {
    if (d > day) break;
    lastContact = d;
  }
  let tickets365 = 0;
  let openTickets = 0;
  for (const t of history.tickets) {
    if (t.openedDay > day) continue;
    if (day - t.openedDay < 365) tickets365++;
    let done = false;
    for (const c of t.changes) {
      if (c.day > day) break;
      done = c.done;
    }
    if (!done) openTickets++;
  }
  let lastRating: number | null = null;
  let lowRatings365 = 0;
  for (const r of history.ratings) {
    if (r.day > day) break;
    lastRating = r.score;
    if (r.score <= 2 && day - r.day < 365) lowRatings365++;
  }
  let openDeals = 0;
  for (const deal of history.deals) {
    if (deal.createdDay > day) continue;
    let open = true;
    for (const m of deal.moves) {
      if (m.day > day) break;
      open = m.open;
    }
    if (open) openDeals++;
  }
  return {
    daysSincePurchase: day - last,
    purchases: n,
    purchases365,
    spend365,
    usualGap,
    lastGap,
    spendLast180,
    spendPrevious180,
    daysSinceContact: lastContact === null ? null : day - lastContact,
    tickets365,
    openTickets,
    lastRating,
    lowRatings365,
    openDeals,
    tenure: day - first,
  };
}

/** Writes the model's features for `facts` into `out` at `offset` (FEATURE_COUNT numbers). */
export function writeFeatures(facts: Facts, day: number, history: CustomerHistory, out: Float64Array, offset: number): void {
  const ordersIn90 = countSince(history, day, 90);
  const gap = facts.usualGap;
  out[offset + F.recency_log] = Math.log1p(facts.daysSincePurchase);
  out[offset + F.orders_log] = Math.log1p(facts.purchases);
  out[offset + F.orders_90d] = ordersIn90;
  out[offset + F.orders_365d] = facts.purchases365;
  out[offset + F.spend_365d_log] = Math.log1p(facts.spend365 / 100);
  out[offset + F.spend_all_log] = Math.log1p(spendUpTo(history, day) / 100);
  out[offset + F.tenure_log] = Math.log1p(facts.tenure);
  out[offset + F.single_purchase] = gap === null ? 1 : 0;
  out[offset + F.usual_gap_log] = gap === null ? 0 : Math.log1p(gap);
  out[offset + F.overdue_ratio] = gap === null ? 0 : Math.min(facts.daysSincePurchase / Math.max(gap, 1), 20);
  out[offset + F.gap_growth] = gap === null || facts.lastGap === null ? 0 : Math.log((facts.lastGap + 1) / (gap + 1));
  out[offset + F.spend_trend] = (facts.spendLast180 - facts.spendPrevious180) / (facts.spendLast180 + facts.spendPrevious180 + 100);
  out[offset + F.contact_log] = Math.log1p(facts.daysSinceContact ?? facts.tenure);
  out[offset + F.never_contacted] = facts.daysSinceContact === null ? 1 : 0;
  out[offset + F.tickets_365d] = facts.tickets365;
  out[offset + F.open_tickets] = facts.openTickets;
  out[offset + F.last_rating] = facts.lastRating === null ? 0 : facts.lastRating - 3;
  out[offset + F.has_rating] = facts.lastRating === null ? 0 : 1;
  out[offset + F.low_ratings_365d] = facts.lowRatings365;
  out[offset + F.open_deals] = facts.openDeals;
}

function countSince(history: CustomerHistory, day: number, days: number): number {
  return purchasesUpTo(history, day) - purchasesUpTo(history, day - days);
}

function spendUpTo(history: CustomerHistory, day: number): number {
  const start = history.saleStart;
  const end = start + purchasesUpTo(history, day);
  let sum = 0;
  for (let i = start; i < end; i++) sum += history.saleCents[i]!;
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Reasons and the next action

/** Which facts a reason speaks of; the feature groups the model's weights are summed over. */
export type ReasonKind = 'purchases' | 'frequency' | 'spend' | 'tenure' | 'contact' | 'tickets' | 'rating' | 'deals';

const GROUPS: Record<ReasonKind, number[]> = {
  purchases: [F.recency_log, F.single_purchase, F.usual_gap_log, F.overdue_ratio, F.gap_growth],
  frequency: [F.orders_log, F.orders_90d, F.orders_365d],
  spend: [F.spend_365d_log, F.spend_all_log, F.spend_trend],
  tenure: [F.tenure_log],
  contact: [F.contact_log, F.never_contacted],
  tickets: [F.tickets_365d, F.open_tickets],
  rating: [F.last_rating, F.has_rating, F.low_ratings_365d],
  deals: [F.open_deals],
};

export interface Reason {
  kind: ReasonKind;
  /** How much this group of facts raised the log-odds of not buying. */
  weight: number;
  text: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatRatio(ratio: number): string {
  return ratio >= 10 ? `${Math.round(ratio)}×` : `${Math.round(ratio * 10) / 10}×`;
}

function reasonText(kind: ReasonKind, facts: Facts): string | null {
  switch (kind) {
    case 'purchases': {
      const days = facts.daysSincePurchase;
      if (facts.usualGap === null) return `no purchase for ${plural(days, 'day')} (bought only once)`;
      const ratio = days / Math.max(facts.usualGap, 1);
      if (ratio >= 1.5) return `no purchase for ${plural(days, 'day')}, ${formatRatio(ratio)} their usual gap`;
      if (facts.lastGap !== null && facts.lastGap >= 1.5 * facts.usualGap) return `gaps growing: the last one ${plural(facts.lastGap, 'day')}, usually ${plural(Math.round(facts.usualGap), 'day')}`;
      return `no purchase for ${plural(days, 'day')}`;
    }
    case 'frequency':
      return `${plural(facts.purchases365, 'purchase')} in the last 12 months`;
    case 'spend': {
      const { spendLast180: a, spendPrevious180: b } = facts;
      if (b > 0 && a < b) return `spend in the last 6 months down ${Math.round((100 * (b - a)) / b)}% on the 6 before`;
      return null;
    }
    case 'tenure':
      // How long someone has been a customer explains little to the person reading the list.
      return null;
    case 'contact':
      return facts.daysSinceContact === null ? 'never contacted' : `no contact for ${plural(facts.daysSinceContact, 'day')}`;
    case 'tickets':
      if (facts.openTickets > 0) return plural(facts.openTickets, 'open ticket');
      return facts.tickets365 > 0 ? `${plural(facts.tickets365, 'ticket')} in the last 12 months` : null;
    case 'rating':
      return facts.lastRating === null ? null : `last rating ${facts.lastRating}/5`;
    case 'deals':
      return facts.openDeals > 0 ? plural(facts.openDeals, 'deal') + ' in progress' : 'no deal in progress';
  }
}

/**
 * The reasons that raised this customer's risk most, strongest first: each group of features whose
 * contribution (weight × standardised value, summed) pushes towards "will not buy" by at least
 * `minimum` log-odds, at most `limit` of them.
 */
export function reasonsFor(
  facts: Facts,
  contributions: ArrayLike<number>,
  options: { limit?: number; minimum?: number } = {},
): Reason[] {
  const minimum = options.minimum ?? 0.1;
  const reasons: Reason[] = [];
  for (const kind of Object.keys(GROUPS) as ReasonKind[]) {
    const weight = GROUPS[kind].reduce((sum, j) => sum + contributions[j]!, 0);
    if (weight < minimum) continue;
    const text = reasonText(kind, facts);
    if (text !== null) reasons.push({ kind, weight, text });
  }
  reasons.sort((a, b) => b.weight - a.weight || a.kind.localeCompare(b.kind));
  return reasons.slice(0, options.limit ?? 3);
}

export type NextAction = 'fix their open ticket' | 'call' | 'offer';

/** What to do about a customer at risk, from the reasons: a ticket first, then a call or an offer. */
export function nextAction(facts: Facts, reasons: readonly Reason[]): NextAction {
  if (facts.openTickets > 0 && reasons.some((r) => r.kind === 'tickets')) return 'fix their open ticket';
  const top = reasons[0]?.kind;
  if (top === 'rating' || top === 'contact' || top === 'tickets') return 'call';
  if (facts.lastRating !== null && facts.lastRating <= 2) return 'call';
  return 'offer';
}
