// Fitting the sigmoid head on cached features when the whole base is frozen: a logistic
// regression on a handful of numbers per image, solved exactly in a few milliseconds.

export interface HeadParams {
  weights: Float64Array
  bias: number
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

/** L2 strength on the weights. Small: the softmax features separate cleanly. */
export const L2 = 0.01
/**
 * L2 strength on the bias, much stronger. Softmax features sum to 1, so a bias is only a shift
 * of all weights; left free it carries the label prior onto classes nobody has labelled yet and
 * makes them look certain, hiding them from uncertainty sampling. Held near 0, unlabelled
 * classes stay at p = 0.5 and get asked. (Measured with simulate, seeds 1-5: uncertainty's
 * median labels-to-98.5% went from 28 with a free bias to 16.)
 */
export const BIAS_L2 = 1

/**
 * Minimises mean binary cross-entropy + (L2/2)|w|^2 + (BIAS_L2/2)b^2 with Newton's method (the problem is
 * strictly convex, so it converges in a few steps from zero, deterministically).
 */
export function fitLogistic(x: Float32Array, dim: number, rows: ArrayLike<number>, y: ArrayLike<number>, l2 = L2): HeadParams {
  return dim > DUAL_MIN_DIM && rows.length < dim ? fitLogisticDual(x, dim, rows, y, l2) : fitLogisticPrimal(x, dim, rows, y, l2)
}

/** Newton in the d + 1 parameters: O(n d^2 + d^3) a step, for narrow features (the digit CNN's 10). */
export function fitLogisticPrimal(x: Float32Array, dim: number, rows: ArrayLike<number>, y: ArrayLike<number>, l2 = L2): HeadParams {
  const n = rows.length
  const d = dim + 1 // last coordinate is the bias
  const theta = new Float64Array(d)
  if (n === 0) return { weights: theta.slice(0, dim), bias: 0 }
  const grad = new Float64Array(d)
  const hess = new Float64Array(d * d)
  const xi = new Float64Array(d)
  for (let iter = 0; iter < 50; iter++) {
    grad.fill(0)
    hess.fill(0)
    for (let k = 0; k < n; k++) {
      const base = rows[k] * dim
      for (let j = 0; j < dim; j++) xi[j] = x[base + j]
      xi[dim] = 1
      let z = 0
      for (let j = 0; j < d; j++) z += theta[j] * xi[j]
      const p = sigmoid(z)
      const r = (p - y[k]) / n
      const w = (p * (1 - p)) / n
      for (let a = 0; a < d; a++) {
        grad[a] += r * xi[a]
        const wa = w * xi[a]
        for (let b = 0; b <= a; b++) hess[a * d + b] += wa * xi[b]
      }
    }
    for (let a = 0; a < d; a++) {
      const r = a === dim ? BIAS_L2 : l2
      grad[a] += r * theta[a]
      hess[a * d + a] += r
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b]
    const step = solveSpd(hess, grad, d)
    let size = 0
    for (let a = 0; a < d; a++) {
      theta[a] -= step[a]
      size = Math.max(size, Math.abs(step[a]))
    }
    if (size < 1e-10) break
  }
  return { weights: theta.slice(0, dim), bias: theta[dim] }
}

/** Wider features than this, with fewer labels than features, are fitted in the dual. */
export const DUAL_MIN_DIM = 64

/**
 * The same problem and the same Newton steps for wide features (a MobileNet's 1,280): the
 * optimum lies in the span of the labelled rows, so with theta = Z^T alpha each step is solved
 * through the n x n kernel K = Z Z^T by the Woodbury identity:
 *   H^-1 Z^T u = (1/l2) Z^T (u - W^1/2 (l2 I + W^1/2 K W^1/2)^-1 W^1/2 K u),  W = diag(p (1 - p)) / n.
 * O(n^2 d) once for K, then O(n^3) a step: the cost grows linearly with the width, not with its
 * cube. The bias is a constant feature c = sqrt(l2 / BIAS_L2), so one l2 on theta gives BIAS_L2 on
 * the bias. Plain loops in a fixed order: deterministic, identical on every backend.
 */
export function fitLogisticDual(x: Float32Array, dim: number, rows: ArrayLike<number>, y: ArrayLike<number>, l2 = L2): HeadParams {
  const n = rows.length
  if (n === 0) return { weights: new Float64Array(dim), bias: 0 }
  const c = Math.sqrt(l2 / BIAS_L2)
  const k = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const bi = rows[i] * dim
    for (let j = 0; j <= i; j++) {
      const bj = rows[j] * dim
      let s = c * c
      for (let t = 0; t < dim; t++) s += x[bi + t] * x[bj + t]
      k[i * n + j] = s
      k[j * n + i] = s
    }
  }
  const alpha = new Float64Array(n)
  const z = new Float64Array(n) // scores K alpha
  const u = new Float64Array(n)
  const ku = new Float64Array(n)
  const sw = new Float64Array(n)
  const m = new Float64Array(n * n)
  const rhs = new Float64Array(n)
  const step = new Float64Array(n)
  for (let iter = 0; iter < 50; iter++) {
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i])
      u[i] = (p - y[i]) / n + l2 * alpha[i]
      sw[i] = Math.sqrt((p * (1 - p)) / n)
    }
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < n; j++) s += k[i * n + j] * u[j]
      ku[i] = s
      rhs[i] = sw[i] * s
      for (let j = 0; j < n; j++) m[i * n + j] = sw[i] * k[i * n + j] * sw[j] + (i === j ? l2 : 0)
    }
    const v = solveSpd(m, rhs, n)
    for (let i = 0; i < n; i++) step[i] = (u[i] - sw[i] * v[i]) / l2
    // The step in theta = Z^T step: its largest coordinate decides convergence, as in the primal.
    let size = 0
    for (let t = 0; t <= dim; t++) {
      let s = 0
      for (let i = 0; i < n; i++) s += step[i] * (t < dim ? x[rows[i] * dim + t] : c)
      size = Math.max(size, Math.abs(s))
    }
    for (let i = 0; i < n; i++) alpha[i] -= step[i]
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < n; j++) s += k[i * n + j] * alpha[j]
      z[i] = s
    }
    if (size < 1e-10) break
  }
  const weights = new Float64Array(dim)
  let b = 0
  for (let i = 0; i < n; i++) {
    const base = rows[i] * dim
    for (let t = 0; t < dim; t++) weights[t] += alpha[i] * x[base + t]
    b += alpha[i] * c
  }
  return { weights, bias: b * c }
}

/** Solves A x = b for a symmetric positive-definite A by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k]
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * d + j]
    }
  }
  const z = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k]
    z[i] = s / l[i * d + i]
  }
  const out = new Float64Array(d)
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * out[k]
    out[i] = s / l[i * d + i]
  }
  return out
}

/** P(positive) for every row of a feature matrix. Hot (every iteration, every pool row): locals only, sigmoid inlined. */
export function predictLogistic(
  head: HeadParams,
  x: Float32Array,
  dim: number,
  out: Float32Array = new Float32Array(x.length / dim)
): Float32Array {
  const w = head.weights
  const bias = head.bias
  const n = out.length
  for (let i = 0, base = 0; i < n; i++, base += dim) {
    let z = bias
    for (let j = 0; j < dim; j++) z += w[j] * x[base + j]
    out[i] = 1 / (1 + Math.exp(-z))
  }
  return out
}
