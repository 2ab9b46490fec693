// Forecast math against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { fitHolt, forecastMonthly, holtFit, holtForecast, holtWintersFit, holtWintersForecast, mape } from '../../src/domain/forecast.js';

describe("Holt's linear trend", () => {
  it('follows the recurrences (α = β = 0.5 on 10, 12, 15, 15)', () => {
    // l0 = 10, b0 = 2; t1: l = 12, b = 2; t2: predicted 14, l = 14.5, b = 2.25;
    // t3: predicted 16.75, l = 15.875, b = 1.8125. SSE = 1² + 1.75² = 4.0625.
    const state = holtFit([10, 12, 15, 15], 0.5, 0.5);
    expect(state.level).toBeCloseTo(15.875, 12);
    expect(state.trend).toBeCloseTo(1.8125, 12);
    expect(state.sse).toBeCloseTo(4.0625, 12);
    expect(holtForecast(state, 2)).toEqual([17.6875, 19.5]);
  });

  it('extrapolates a straight line exactly', () => {
    const model = fitHolt([5, 8, 11, 14, 17]);
    expect(model.forecast(3)).toEqual([20, 23, 26]);
  });
});

describe('Holt-Winters (additive)', () => {
  it('follows the recurrences (season 2, α = β = γ = 0.5 on 1, 3, 3, 5, 6)', () => {
    // Start: trend (4 − 2) / 2 = 1, level 2.5, seasons −0.5, 0.5. t2, t3 predicted exactly;
    // t4: predicted 5, actual 6 → level 6, trend 1.25, season[0] −0.25.
    const state = holtWintersFit([1, 3, 3, 5, 6], 2, 0.5, 0.5, 0.5);
    expect(state.level).toBeCloseTo(6, 12);
    expect(state.trend).toBeCloseTo(1.25, 12);
    expect(state.season).toEqual([-0.25, 0.5]);
    expect(state.sse).toBeCloseTo(1, 12);
    expect(holtWintersForecast(state, 2)).toEqual([7.75, 8.25]);
  });

  it('reproduces a linear + seasonal series exactly', () => {
    const seasonal = [30, -10, 5, 0, -20, 15, 10, -5, -25, 20, -15, -5];
    const series = Array.from({ length: 36 }, (_, t) => 1000 + 10 * t + seasonal[t % 12]!);
    const result = forecastMonthly(series, 12);
    expect(result.method).toBe('holt-winters');
    result.forecast.forEach((value, k) => expect(value).toBeCloseTo(1000 + 10 * (36 + k) + seasonal[(36 + k) % 12]!, 6));
    expect(result.mapeMethod).toBeCloseTo(0, 9);
  });
});

describe('forecastMonthly', () => {
  it('backtests on the last months beside a naive last-value forecast', () => {
    const series = Array.from({ length: 12 }, (_, t) => 1000 + 100 * t);
    const result = forecastMonthly(series, 2);
    expect(result.method).toBe('holt');
    expect(result.heldOut).toBe(3);
    expect(result.forecast).toEqual([2200, 2300]);
    expect(result.mapeMethod).toBe(0);
    // Naive repeats 1800 for 1900, 2000, 2100.
    expect(result.mapeNaive).toBeCloseTo((100 / 1900 + 200 / 2000 + 300 / 2100) / 3, 12);
    expect(result.backtest.map((b) => [b.index, b.actual, b.naive])).toEqual([
      [9, 1900, 1800],
      [10, 2000, 1800],
      [11, 2100, 1800],
    ]);
  });

  it('never forecasts negative revenue', () => {
    const result = forecastMonthly([600, 500, 400, 300, 200, 100], 6);
    expect(Math.min(...result.forecast)).toBe(0);
  });

  it('uses the seasonal model from 26 months on, Holt below', () => {
    const flat = (n: number) => Array.from({ length: n }, (_, t) => 100 + (t % 3));
    expect(forecastMonthly(flat(25), 1).method).toBe('holt');
    expect(forecastMonthly(flat(26), 1)).toMatchObject({ method: 'holt-winters', heldOut: 2 });
  });

  it('refuses too little history instead of inventing numbers', () => {
    expect(() => forecastMonthly([1, 2, 3, 4, 5], 3)).toThrow(RangeError);
  });

  it('MAPE skips months with no revenue', () => {
    expect(mape([100, 0, 200], [110, 50, 150])).toBeCloseTo((0.1 + 0.25) / 2, 12);
    expect(mape([0, 0], [1, 2])).toBeNull();
  });
});
