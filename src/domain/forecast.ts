// Monthly revenue forecasting: Holt's linear trend, and additive Holt-Winters with a 12-month
// season once there is enough history, each fitted by a grid search on one-step-ahead squared
// error, plus a backtest (MAPE over the last months held out) beside a naive last-value forecast,
// so a user can see whether the method beats "next month looks like this month". Pure math.

export interface HoltState {
  level: number;
  trend: number;
  /** Sum of squared one-step-ahead errors (from the third point on; the first two set the start). */
  sse: number;
}

/** Holt's linear trend with smoothing `alpha` (level) and `beta` (trend); needs ≥ 2 points. */
export function holtFit(y: readonly number[], alpha: number, beta: number): HoltState {
  if (y.length < 2) throw new Error('holtFit needs at least 2 points');
  let level = y[0]!;
  let trend = y[1]! - y[0]!;
  let sse = 0;
  for (let t = 1; t < y.length; t++) {
    const predicted = level + trend;
    if (t >= 2) sse += (y[t]! - predicted) ** 2;
    const next = alpha * y[t]! + (1 - alpha) * predicted;
    trend = beta * (next - level) + (1 - beta) * trend;
    level = next;
  }
  return { level, trend, sse };
}

export function holtForecast(state: Pick<HoltState, 'level' | 'trend'>, horizon: number): number[] {
  return Array.from({ length: horizon }, (_, k) => state.level + (k + 1) * state.trend);
}

export interface HoltWintersState extends HoltState {
  /** Seasonal offsets indexed by time mod period. */
  season: number[];
  /** Number of points fitted (the next point has index n). */
  n: number;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Additive Holt-Winters with season length `period`; needs ≥ 2 full seasons. Starts from the first
 * two seasons: trend = difference of their means / period, level at the end of season one, and
 * seasonal offsets = first-season values minus the trend line (exact for a linear + seasonal series).
 */
export function holtWintersFit(y: readonly number[], period: number, alpha: number, beta: number, gamma: number): HoltWintersState {
  if (y.length < 2 * period) throw new Error(`holtWintersFit needs at least ${2 * period} points`);
  const first = mean(y.slice(0, period));
  let trend = (mean(y.slice(period, 2 * period)) - first) / period;
  const middle = (period - 1) / 2;
  const season = y.slice(0, period).map((value, i) => value - (first + (i - middle) * trend));
  let level = first + middle * trend;
  let sse = 0;
  for (let t = period; t < y.length; t++) {
    const s = season[t % period]!;
    const predicted = level + trend + s;
    sse += (y[t]! - predicted) ** 2;
    const next = alpha * (y[t]! - s) + (1 - alpha) * (level + trend);
    trend = beta * (next - level) + (1 - beta) * trend;
    season[t % period] = gamma * (y[t]! - next) + (1 - gamma) * s;
    level = next;
  }
  return { level, trend, sse, season, n: y.length };
}

export function holtWintersForecast(state: HoltWintersState, horizon: number): number[] {
  const period = state.season.length;
  return Array.from({ length: horizon }, (_, k) => state.level + (k + 1) * state.trend + state.season[(state.n + k) % period]!);
}

/** The smoothing values tried: 0.1, 0.2, … 0.9. */
export const GRID = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

export interface FittedModel {
  method: 'holt' | 'holt-winters';
  alpha: number;
  beta: number;
  gamma: number | null;
  forecast(horizon: number): number[];
}

/** Holt with the (alpha, beta) of least one-step-ahead error; the first minimum in grid order wins. */
export function fitHolt(y: readonly number[]): FittedModel {
  let best: { alpha: number; beta: number; state: HoltState } | undefined;
  for (const alpha of GRID) {
    for (const beta of GRID) {
      const state = holtFit(y, alpha, beta);
      if (!best || state.sse < best.state.sse - 1e-9 * Math.max(1, best.state.sse)) best = { alpha, beta, state };
    }
  }
  const { alpha, beta, state } = best!;
  return { method: 'holt', alpha, beta, gamma: null, forecast: (h) => holtForecast(state, h) };
}

export function fitHoltWinters(y: readonly number[], period = 12): FittedModel {
  let best: { alpha: number; beta: number; gamma: number; state: HoltWintersState } | undefined;
  for (const alpha of GRID) {
    for (const beta of GRID) {
      for (const gamma of GRID) {
        const state = holtWintersFit(y, period, alpha, beta, gamma);
        if (!best || state.sse < best.state.sse - 1e-9 * Math.max(1, best.state.sse)) best = { alpha, beta, gamma, state };
      }
    }
  }
  const { alpha, beta, gamma, state } = best!;
  return { method: 'holt-winters', alpha, beta, gamma, forecast: (h) => holtWintersForecast(state, h) };
}

/** Mean absolute percentage error over the points whose actual value is not zero; null if none. */
export function mape(actual: readonly number[], forecast: readonly number[]): number | null {
  let sum = 0;
  let count = 0;
  actual.forEach((a, i) => {
    if (a === 0) return;
    sum += Math.abs(a - forecast[i]!) / Math.abs(a);
    count++;
  });
  return count === 0 ? null : sum / count;
}

/** Fewest months of history a forecast is made from. */
export const MIN_HISTORY = 6;
/** History needed for the seasonal model: 24 months to fit plus at least 2 held out. */
export const SEASONAL_HISTORY = 26;
const SEASON = 12;

export interface BacktestPoint {
  index: number;
  actual: number;
  method: number;
  naive: number;
}

export interface ForecastResult {
  method: 'holt' | 'holt-winters';
  alpha: number;
  beta: number;
  gamma: number | null;
  /** Forecast values (never below zero), one per month ahead. */
  forecast: number[];
  /** How many of the last months were held out to measure the error. */
  heldOut: number;
  backtest: BacktestPoint[];
  mapeMethod: number | null;
  mapeNaive: number | null;
}

/**
 * Chooses the method by history length, backtests it on the last months held out, then refits on
 * all history and forecasts `horizon` months. Throws RangeError when history is too short.
 */
export function forecastMonthly(history: readonly number[], horizon: number): ForecastResult {
  const n = history.length;
  if (n < MIN_HISTORY) throw new RangeError(`needs at least ${MIN_HISTORY} months of history`);
  let heldOut = Math.min(12, Math.max(2, Math.floor(n / 4)));
  const seasonal = n >= SEASONAL_HISTORY;
  if (seasonal) heldOut = Math.min(heldOut, n - 2 * SEASON);
  const fit = (y: readonly number[]) => (seasonal ? fitHoltWinters(y, SEASON) : fitHolt(y));
  const training = history.slice(0, n - heldOut);
  const tested = fit(training).forecast(heldOut).map((v) => Math.max(0, v));
  const last = training[training.length - 1]!;
  const actual = history.slice(n - heldOut);
  const backtest = actual.map((a, i) => ({ index: n - heldOut + i, actual: a, method: tested[i]!, naive: last }));
  const model = fit(history);
  return {
    method: model.method,
    alpha: model.alpha,
    beta: model.beta,
    gamma: model.gamma,
    forecast: model.forecast(horizon).map((v) => Math.max(0, v)),
    heldOut,
    backtest,
    mapeMethod: mape(actual, tested),
    mapeNaive: mape(actual, actual.map(() => last)),
  };
}
