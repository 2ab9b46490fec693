// Logistic regression for the churn-risk score, and the two measures its backtest prints (AUC and
// Brier score). Pure and deterministic: features are standardised with the training rows' mean and
// standard deviation, the coefficients (not the intercept) carry an L2 penalty, and the fit is
// Newton's method (iteratively reweighted least squares) from zero with a fixed iteration limit and
// tolerance, so the same rows give the same model bit for bit. No randomness, no clock.
//
// Written here rather than taken from a library: the fit is ~60 lines over a p×p system (p ≈ 20),
// and the npm packages for it either pull in a whole numeric stack or use gradient descent with a
// learning rate and epoch count to tune (and a random start), which is slower and less exact.

export interface LogisticModel {
  /** Per feature: the mean and standard deviation used to standardise it (sd 1 for constants). */
  means: Float64Array;
  sds: Float64Array;
  /** Coefficients on the standardised features, and the intercept. */
  weights: Float64Array;
  intercept: number;
  iterations: number;
}

export interface FitOptions {
  /** L2 penalty on the standardised coefficients (default 1). */
  lambda?: number;
  maxIterations?: number;
  tolerance?: number;
}

/** Rows of `p` features stored one after another: row i is x[i*p .. i*p+p-1]. */
export interface Matrix {
  x: Float64Array;
  rows: number;
  cols: number;
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Solves A·x = b for a symmetric positive definite A (Cholesky); A and b are not changed. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new Error('matrix is not positive definite');
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/** Fits P(y = 1 | x) = sigmoid(intercept + w · standardised(x)). `y` holds 0 or 1 per row. */
export function fitLogistic(data: Matrix, y: ArrayLike<number>, options: FitOptions = {}): LogisticModel {
  const { rows: n, cols: p, x } = data;
  const lambda = options.lambda ?? 1;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-9;
  const means = new Float64Array(p);
  const sds = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) means[j]! += x[i * p + j]!;
  for (let j = 0; j < p; j++) means[j] = n > 0 ? means[j]! / n : 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const d = x[i * p + j]! - means[j]!;
      sds[j]! += d * d;
    }
  }
  for (let j = 0; j < p; j++) {
    const sd = n > 1 ? Math.sqrt(sds[j]! / (n - 1)) : 0;
    sds[j] = sd > 1e-12 ? sd : 1;
  }
  // Standardised rows with a leading 1 for the intercept: q = p + 1 columns.
  const q = p + 1;
  const z = new Float64Array(n * q);
  for (let i = 0; i < n; i++) {
    z[i * q] = 1;
    for (let j = 0; j < p; j++) z[i * q + j + 1] = (x[i * p + j]! - means[j]!) / sds[j]!;
  }
  const beta = new Float64Array(q);
  const hessian = new Float64Array(q * q);
  const gradient = new Float64Array(q);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    hessian.fill(0);
    gradient.fill(0);
    for (let i = 0; i < n; i++) {
      const row = i * q;
      let eta = 0;
      for (let j = 0; j < q; j++) eta += beta[j]! * z[row + j]!;
      const mu = sigmoid(eta);
      const w = Math.max(mu * (1 - mu), 1e-12);
      const residual = Number(y[i]) - mu;
      for (let j = 0; j < q; j++) {
        const zj = z[row + j]!;
        gradient[j]! += residual * zj;
        const wz = w * zj;
        for (let k = 0; k <= j; k++) hessian[j * q + k]! += wz * z[row + k]!;
      }
    }
    for (let j = 0; j < q; j++) for (let k = 0; k < j; k++) hessian[k * q + j] = hessian[j * q + k]!;
    // The penalty: −λ/2·|w|² on the log-likelihood, never on the intercept.
    for (let j = 1; j < q; j++) {
      gradient[j]! -= lambda * beta[j]!;
      hessian[j * q + j]! += lambda;
    }
    hessian[0]! += 1e-9;
    const step = solveSpd(hessian, gradient, q);
    let change = 0;
    for (let j = 0; j < q; j++) {
      beta[j]! += step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < tolerance) {
      iterations++;
      break;
    }
  }
  return { means, sds, weights: beta.slice(1), intercept: beta[0]!, iterations };
}

/** The standardised value of feature j for a raw value. */
export function standardise(model: LogisticModel, j: number, value: number): number {
  return (value - model.means[j]!) / model.sds[j]!;
}

/** P(y = 1) for one row of raw features. */
export function predictOne(model: LogisticModel, row: ArrayLike<number>, offset = 0): number {
  let eta = model.intercept;
  for (let j = 0; j < model.weights.length; j++) eta += model.weights[j]! * standardise(model, j, row[offset + j]!);
  return sigmoid(eta);
}

export function predict(model: LogisticModel, data: Matrix): Float64Array {
  const out = new Float64Array(data.rows);
  for (let i = 0; i < data.rows; i++) out[i] = predictOne(model, data.x, i * data.cols);
  return out;
}

/**
 * The area under the ROC curve: the chance that a random positive scores above a random negative,
 * ties counting half (Mann–Whitney U over average ranks). Null when a class is missing.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (Number(labels[order[k]!]) === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The mean squared difference between the predicted probability and what happened (0 or 1). */
export function brier(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const n = probabilities.length;
  if (n === 0) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = probabilities[i]! - Number(labels[i]);
    sum += d * d;
  }
  return sum / n;
}
