// Fitting the sigmoid head on cached features when the whole base is frozen: a logistic
// regression on a handful of numbers per image, solved exactly in a few milliseconds.
//
// The objective, summed over the answers (so each answer weighs the same however many there are):
//   J(w, b) = sum_i l_eps(y_i, w.x_i + b) + (l2 / 2) sum_j s_j w_j^2 + (BIAS_L2 / 2) b^2
// l_eps is the log loss of a labeller who gives the wrong answer with chance eps:
//   P(answer 1 | z) = eps + (1 - 2 eps) sigmoid(z)
// An answer the rest of the answers contradict costs at most -log(eps), so one ambiguous or
// mis-keyed image cannot swing a whole class's weight. s_j matches the prior to the features:
// each weight's prior is as strong, per unit of logit on a typical pool image (s_j: the pool's
// mean x_j^2 over the mean of all features'), whatever the scale of its feature.
import { kernelMatrix, kernelTimes } from './kernel-times'
import { SolveMany } from './solve-many'

export interface HeadParams {
  weights: Float64Array
  bias: number
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

/** Prior strength on the weights, in answers: a lone answer moves its class to P about 0.8, not 1. */
export const L2 = 0.2
/**
 * Prior strength on the bias, much stronger. Softmax features sum to 1, so a bias is only a shift
 * of all weights; left free it carries the label prior onto classes nobody has labelled yet and
 * makes them look certain, hiding them from uncertainty sampling. Held near 0, unlabelled
 * classes stay at p = 0.5 and get asked.
 */
export const BIAS_L2 = 5
/** The chance of a wrong answer the loss allows for (a mis-key, an ambiguous image). */
export const EPS = 0.05

export interface FitOptions {
  /** Prior strength on the weights (default L2). */
  l2?: number
  /** Per-feature scales of the weights' prior (default 1 each). */
  scale?: ArrayLike<number> | null
  /** The loss's chance of a wrong answer (default EPS; 0: the plain log loss, convex). */
  eps?: number
  /** Start here instead of at zero (leave-one-out refits start from the full fit). */
  init?: HeadParams
  /** How much each answer counts (per row, default 1). */
  weights?: ArrayLike<number> | null
  /** Stop when no parameter moves more than this in a step (default 1e-10). */
  tolerance?: number
  /** The dual fit's kernel entries from earlier fits on the same features and prior (see KernelCache). */
  kernel?: KernelCache | null
  /** Each weight's prior strength, instead of l2 times its scale (the primal and leaveOneOutScores only). */
  priors?: ArrayLike<number> | null
  /** The bias's prior: its centre and strength (default 0 and BIAS_L2; the primal and leaveOneOutScores only). */
  bias?: { centre: number; l2: number } | null
  /** Wide features: the dual fit of head rules 1 (fitLogisticDualRules1), for sessions recorded under them. */
  rules1Dual?: boolean
}

/** The prior strength of every parameter (the weights', then the bias's) and the bias's centre. */
function priorOf(dim: number, opts: FitOptions): { prior: Float64Array; centre: number } {
  const { l2 = L2, scale = null, priors = null, bias = null } = opts
  const prior = Float64Array.from({ length: dim + 1 }, (_, a) =>
    a === dim ? (bias ? bias.l2 : BIAS_L2) : priors ? priors[a] : l2 * (scale ? scale[a] : 1)
  )
  return { prior, centre: bias ? bias.centre : 0 }
}

/** The prior a class's weight gets on top of L2 while the answers hold less than one clear image of that class. */
export const UNSEEN_L2 = 100
/** The answers' evidence about a class (see classEvidencePriors) that counts as one clear image of it. */
export const CLEAR_EVIDENCE = 0.8
/** The logit of an image no answer speaks for: just on the positive side, where P = 0.5 with no answers at all counts. */
export const UNSEEN_LOGIT = 0.03
/** The bias's prior under classEvidencePriors: held at UNSEEN_LOGIT. */
const HELD_BIAS_L2 = 1e4

/**
 * Priors for features that are the base's class outputs (they sum to 1, so z = sum_j x_j (w_j + b):
 * w_j + b is class j's logit). The answers' evidence about class j is sum_k weight_k x_kj^2 (a
 * clear image of j: about 1; an image only partly j: little); while it is below CLEAR_EVIDENCE,
 * w_j's prior is UNSEEN_L2 stronger, fading to L2 as it gets there, and the bias is held at
 * UNSEEN_LOGIT. So a class no answer clearly speaks for stays at UNSEEN_LOGIT, on the positive
 * side as with no answers at all, instead of tipping to the side of the ambiguous images that
 * touch it (or, through a free bias, of the answers' balance): one batch cannot flip it.
 */
export function classEvidencePriors(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  scale: ArrayLike<number> | null
): Pick<FitOptions, 'priors' | 'bias'> {
  const evidence = new Float64Array(dim)
  for (let k = 0; k < rows.length; k++) {
    const w = weights ? weights[k] : 1
    for (let j = 0, b = rows[k] * dim; j < dim; j++) evidence[j] += w * x[b + j] * x[b + j]
  }
  const priors = Float64Array.from(evidence, (e, j) => L2 * (scale ? scale[j] : 1) + UNSEEN_L2 * Math.max(0, 1 - e / CLEAR_EVIDENCE) ** 2)
  return { priors, bias: { centre: UNSEEN_LOGIT, l2: HELD_BIAS_L2 } }
}

/** The pool's features' prior scales: mean x_j^2 over the pool, relative to the mean over all features (floored). */
export function featureScale(x: Float32Array, dim: number, sample = 20000): Float64Array {
  const n = x.length / dim
  const step = Math.max(1, Math.floor(n / sample))
  const s = new Float64Array(dim)
  let rows = 0
  for (let i = 0; i < n; i += step, rows++) for (let j = 0, b = i * dim; j < dim; j++) s[j] += x[b + j] * x[b + j]
  let mean = 0
  for (let j = 0; j < dim; j++) mean += s[j] / dim
  for (let j = 0; j < dim; j++) s[j] = mean > 0 ? Math.max(s[j] / mean, 0.05) : 1
  return s
}

/** Minimises J by Newton steps (curvature clipped at 0) with a backtracking line search: deterministic, a few steps from zero. */
export function fitLogistic(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions = {}
): HeadParams {
  if (dim <= DUAL_MIN_DIM || rows.length >= dim) return fitLogisticPrimal(x, dim, rows, y, opts)
  return opts.rules1Dual ? fitLogisticDualRules1(x, dim, rows, y, opts) : fitLogisticDual(x, dim, rows, y, opts)
}

/**
 * The loss of one answer, its derivative in z and its curvature in z, clipped at 0 (the slip-
 * tolerant loss bends the wrong way for an answer far on the other side: such an answer gets no
 * curvature, so every step is a descent direction and the line search finishes it).
 */
function lossAt(z: number, y: number, eps: number, s = sigmoid(z)): { loss: number; g: number; f: number } {
  if (eps === 0) {
    // log sigmoid(z) = -softplus(-z), stable at both ends.
    const logS = z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z))
    const log1mS = logS - z
    return { loss: -(y * logS + (1 - y) * log1mS), g: s - y, f: s * (1 - s) }
  }
  const q = eps + (1 - 2 * eps) * s
  const dq = (1 - 2 * eps) * s * (1 - s)
  const ddq = dq * (1 - 2 * s)
  const a = y / q - (1 - y) / (1 - q)
  const b = y / (q * q) + (1 - y) / ((1 - q) * (1 - q))
  return { loss: -(y * Math.log(q) + (1 - y) * Math.log(1 - q)), g: -a * dq, f: Math.max(0, b * dq * dq - a * ddq) }
}

/** lossAt's derivative in z alone (the same number). */
function lossGradient(z: number, y: number, eps: number): number {
  const s = sigmoid(z)
  if (eps === 0) return s - y
  const q = eps + (1 - 2 * eps) * s
  const dq = (1 - 2 * eps) * s * (1 - s)
  // One division for an answer of 0 or 1 (the other term is 0).
  if (y === 1) return -dq / q
  if (y === 0) return dq / (1 - q)
  return -(y / q - (1 - y) / (1 - q)) * dq
}

/** lossAt's loss alone (the objective's line search needs no derivatives): the same number. */
function lossOnly(z: number, y: number, eps: number, s = sigmoid(z)): number {
  if (eps === 0) return lossAt(z, y, eps).loss
  const q = eps + (1 - 2 * eps) * s
  // y * log q + (1 - y) * log(1 - q) with one of the terms exactly 0 for an answer of 0 or 1.
  if (y === 1) return -Math.log(q)
  if (y === 0) return -Math.log(1 - q)
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q))
}

const MAX_STEPS = 100

/** Newton in the d + 1 parameters: O(n d^2 + d^3) a step, for narrow features (the digit CNN's 10). */
export function fitLogisticPrimal(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions = {}
): HeadParams {
  const { eps = EPS, weights = null, tolerance = 1e-10 } = opts
  const n = rows.length
  const d = dim + 1 // last coordinate is the bias
  const theta = new Float64Array(d)
  if (opts.init) {
    theta.set(opts.init.weights)
    theta[dim] = opts.init.bias
  }
  if (n === 0) return { weights: new Float64Array(dim), bias: 0 }
  const { prior, centre } = priorOf(dim, opts)
  // The answered rows gathered once, each with a 1 for the bias (float32 to float64 is exact: the same sums).
  const xs = new Float64Array(n * d)
  for (let k = 0; k < n; k++) {
    const base = rows[k] * dim
    for (let a = 0; a < dim; a++) xs[k * d + a] = x[base + a]
    xs[k * d + dim] = 1
  }
  const z = new Float64Array(n)
  // Each score's sigmoid, kept for the step after (the objective's last call is at the new theta).
  const sig = new Float64Array(n)
  const objective = (t: Float64Array): number => {
    let j = 0
    for (let k = 0, base = 0; k < n; k++, base += d) {
      let s = t[dim]
      for (let a = 0; a < dim; a++) s += t[a] * xs[base + a]
      z[k] = s
      const sg = (sig[k] = sigmoid(s))
      j += (weights ? weights[k] : 1) * lossOnly(s, y[k], eps, sg)
    }
    for (let a = 0; a < dim; a++) j += 0.5 * prior[a] * t[a] * t[a]
    j += 0.5 * prior[dim] * (t[dim] - centre) * (t[dim] - centre)
    return j
  }
  const grad = new Float64Array(d)
  const hess = new Float64Array(d * d)
  const trial = new Float64Array(d)
  let value = objective(theta)
  for (let iter = 0; iter < MAX_STEPS; iter++) {
    grad.fill(0)
    hess.fill(0)
    // Four answers at a time, then two: each sum still adds them one after the other, in order
    // (the same numbers), but the Hessian is loaded and stored once for the four.
    let k = 0
    for (let base = 0; k + 3 < n; k += 4, base += 4 * d) {
      const at0 = lossAt(z[k], y[k], eps, sig[k])
      const at1 = lossAt(z[k + 1], y[k + 1], eps, sig[k + 1])
      const at2 = lossAt(z[k + 2], y[k + 2], eps, sig[k + 2])
      const at3 = lossAt(z[k + 3], y[k + 3], eps, sig[k + 3])
      const g0 = weights ? weights[k] * at0.g : at0.g
      const f0 = weights ? weights[k] * at0.f : at0.f
      const g1 = weights ? weights[k + 1] * at1.g : at1.g
      const f1 = weights ? weights[k + 1] * at1.f : at1.f
      const g2 = weights ? weights[k + 2] * at2.g : at2.g
      const f2 = weights ? weights[k + 2] * at2.f : at2.f
      const g3 = weights ? weights[k + 3] * at3.g : at3.g
      const f3 = weights ? weights[k + 3] * at3.f : at3.f
      const [b1, b2, b3] = [base + d, base + 2 * d, base + 3 * d]
      for (let a = 0; a < d; a++) {
        const xa0 = xs[base + a]
        const xa1 = xs[b1 + a]
        const xa2 = xs[b2 + a]
        const xa3 = xs[b3 + a]
        grad[a] = grad[a] + g0 * xa0 + g1 * xa1 + g2 * xa2 + g3 * xa3
        const wa0 = f0 * xa0
        const wa1 = f1 * xa1
        const wa2 = f2 * xa2
        const wa3 = f3 * xa3
        for (let b = 0, row = a * d; b <= a; b++)
          hess[row + b] = hess[row + b] + wa0 * xs[base + b] + wa1 * xs[b1 + b] + wa2 * xs[b2 + b] + wa3 * xs[b3 + b]
      }
    }
    for (let base = k * d; k + 1 < n; k += 2, base += 2 * d) {
      const at0 = lossAt(z[k], y[k], eps, sig[k])
      const at1 = lossAt(z[k + 1], y[k + 1], eps, sig[k + 1])
      const g0 = weights ? weights[k] * at0.g : at0.g
      const f0 = weights ? weights[k] * at0.f : at0.f
      const g1 = weights ? weights[k + 1] * at1.g : at1.g
      const f1 = weights ? weights[k + 1] * at1.f : at1.f
      const next = base + d
      for (let a = 0; a < d; a++) {
        const xa0 = xs[base + a]
        const xa1 = xs[next + a]
        grad[a] = grad[a] + g0 * xa0 + g1 * xa1
        const wa0 = f0 * xa0
        const wa1 = f1 * xa1
        for (let b = 0, row = a * d; b <= a; b++) hess[row + b] = hess[row + b] + wa0 * xs[base + b] + wa1 * xs[next + b]
      }
    }
    for (let base = k * d; k < n; k++, base += d) {
      const at = lossAt(z[k], y[k], eps, sig[k])
      const g = weights ? weights[k] * at.g : at.g
      const f = weights ? weights[k] * at.f : at.f
      for (let a = 0; a < d; a++) {
        const xa = xs[base + a]
        grad[a] += g * xa
        const wa = f * xa
        for (let b = 0, row = a * d; b <= a; b++) hess[row + b] += wa * xs[base + b]
      }
    }
    for (let a = 0; a < d; a++) {
      grad[a] += prior[a] * (a === dim ? theta[a] - centre : theta[a])
      hess[a * d + a] += prior[a]
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b]
    const step = solveSpd(hess, grad, d)
    const { value: next, size } = lineSearch(theta, step, grad, value, trial, objective)
    value = next
    if (size < tolerance) break
  }
  return { weights: theta.slice(0, dim), bias: theta[dim] }
}

/**
 * Moves `theta` along -step, halving until J decreases enough (Armijo); returns the new J and
 * the largest coordinate moved. The step is a descent direction (the curvature is positive definite), so this ends.
 */
function lineSearch(
  theta: Float64Array,
  step: Float64Array,
  grad: Float64Array,
  value: number,
  trial: Float64Array,
  objective: (t: Float64Array) => number
): { value: number; size: number } {
  let slope = 0
  for (let a = 0; a < theta.length; a++) slope += grad[a] * step[a]
  let t = 1
  for (let k = 0; k < 40; k++, t /= 2) {
    for (let a = 0; a < theta.length; a++) trial[a] = theta[a] - t * step[a]
    const v = objective(trial)
    if (v <= value - 1e-4 * t * slope) {
      let size = 0
      for (let a = 0; a < theta.length; a++) size = Math.max(size, Math.abs(theta[a] - trial[a]))
      theta.set(trial)
      return { value: v, size }
    }
  }
  // No decrease left to find (at the optimum, to rounding): stay.
  objective(theta)
  return { value, size: 0 }
}

/**
 * Each answer's score (z = w.x + b) from a fit without it, approximated by one Newton step from
 * the full fit `head` (the gradient of the answer left out, through the Hessian less that answer:
 * Sherman-Morrison, O(n d^2) in all). Narrow features only (the primal's d + 1 parameters).
 */
export function leaveOneOutScores(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  head: HeadParams,
  opts: FitOptions = {}
): Float64Array {
  return new LeaveOneOut(x, dim, rows, y, head, opts).scores
}

/** Chord steps a screening refit may take, and the slowest shrinking of its steps, before it gives up (see LeaveOneOut.refitScore). */
const CHORD_STEPS = 30
const CHORD_RATE = 0.7

/**
 * The leave-one-out problems around a full fit (narrow features): one Newton step per answer
 * (`scores`), and, for an answer the step puts in doubt, its score from the fit without it
 * converged by chord steps (refitScore). The full fit's Hessian is factored once; without answer
 * k it is that Hessian less answer k's curvature, solved by Sherman-Morrison.
 */
export class LeaveOneOut {
  /** Each answer's score one Newton step from the full fit towards the fit without it. */
  readonly scores: Float64Array
  private readonly d: number
  /** The answered rows, each with a 1 for the bias (n x d). */
  private readonly xs: Float64Array
  /** Full fit: the parameters (weights, bias), each answer's score, curvature, and H^-1 x_k, x_k.H^-1 x_k. */
  private readonly theta: Float64Array
  private readonly z: Float64Array
  private readonly f: Float64Array
  private readonly g: Float64Array
  private readonly hx: Float64Array
  private readonly h: Float64Array
  private readonly factor: Float64Array
  private readonly prior: Float64Array
  /** The bias's prior centre. */
  private readonly centre: number
  private readonly y: Float64Array
  private readonly w: Float64Array | null
  /** Each answer's weight without weights (1; answer k's is 0 while it is left out). */
  private readonly ones: Float64Array
  private readonly eps: number
  private readonly work: { theta: Float64Array; grad: Float64Array; step: Float64Array; tmp: Float64Array }

  constructor(x: Float32Array, dim: number, rows: ArrayLike<number>, y: ArrayLike<number>, head: HeadParams, opts: FitOptions = {}) {
    const { eps = EPS, weights = null } = opts
    const n = rows.length
    const d = (this.d = dim + 1)
    this.eps = eps
    this.y = Float64Array.from(y)
    this.w = weights ? Float64Array.from(weights) : null
    this.ones = new Float64Array(rows.length).fill(1)
    this.work = { theta: new Float64Array(d), grad: new Float64Array(d), step: new Float64Array(d), tmp: new Float64Array(d) }
    const theta = (this.theta = new Float64Array(d))
    theta.set(head.weights)
    theta[dim] = head.bias
    const { prior, centre } = priorOf(dim, opts)
    this.prior = prior
    this.centre = centre
    const xs = (this.xs = new Float64Array(n * d))
    const hess = new Float64Array(d * d)
    const z = (this.z = new Float64Array(n))
    const g = (this.g = new Float64Array(n))
    const f = (this.f = new Float64Array(n))
    for (let k = 0, base = 0; k < n; k++, base += d) {
      const from = rows[k] * dim
      let s = head.bias
      for (let a = 0; a < dim; a++) {
        const xa = x[from + a]
        xs[base + a] = xa
        s += head.weights[a] * xa
      }
      xs[base + dim] = 1
      z[k] = s
      const at = lossAt(s, y[k], eps)
      const wk = weights ? weights[k] : 1
      g[k] = wk * at.g
      f[k] = wk * at.f
    }
    // (f x_a) x_b: the same products, added in the same order, as summed before; four answers at a
    // time, then one, so the Hessian is loaded and stored once for four.
    let k = 0
    for (let base = 0; k + 3 < n; k += 4, base += 4 * d) {
      const [b1, b2, b3] = [base + d, base + 2 * d, base + 3 * d]
      for (let a = 0; a < d; a++) {
        const wa0 = f[k] * xs[base + a]
        const wa1 = f[k + 1] * xs[b1 + a]
        const wa2 = f[k + 2] * xs[b2 + a]
        const wa3 = f[k + 3] * xs[b3 + a]
        for (let b = 0, row = a * d; b <= a; b++)
          hess[row + b] = hess[row + b] + wa0 * xs[base + b] + wa1 * xs[b1 + b] + wa2 * xs[b2 + b] + wa3 * xs[b3 + b]
      }
    }
    for (let base = k * d; k < n; k++, base += d) {
      for (let a = 0; a < d; a++) {
        const wa = f[k] * xs[base + a]
        for (let b = 0, row = a * d; b <= a; b++) hess[row + b] += wa * xs[base + b]
      }
    }
    for (let a = 0; a < d; a++) hess[a * d + a] += this.prior[a]
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b]
    const factor = (this.factor = cholesky(hess, d))
    const scores = (this.scores = new Float64Array(n))
    const hx = (this.hx = new Float64Array(n * d))
    const h = (this.h = new Float64Array(n))
    const tmp = new Float64Array(d)
    for (let k = 0, base = 0; k < n; k++, base += d) {
      const xk = xs.subarray(base, base + d)
      const hxk = hx.subarray(base, base + d)
      solveCholeskyInto(factor, xk, d, tmp, hxk)
      let hk = 0
      for (let a = 0; a < d; a++) hk += xk[a] * hxk[a]
      h[k] = hk
      // Leaving answer k out moves its score by its gradient through the Hessian without it.
      scores[k] = z[k] + (g[k] * hk) / Math.max(1e-12, 1 - f[k] * hk)
    }
  }

  /**
   * Answer k's score from the fit without it, to about 1e-6: chord steps on that fit's objective,
   * each through the full fit's Hessian less answer k's curvature (fixed: one triangular solve a
   * step, and O(n d) for the gradient), from the Newton step of `scores` (the full fit's gradient
   * is 0 but for answer k's). With many answers the steps shrink fast (each to a few hundredths of
   * the last); null where they shrink slower than CHORD_RATE (a curvature that changed too much, as
   * with few answers): the caller then refits exactly. Close to the exact refit, not its numbers.
   */
  refitScore(k: number): number | null {
    const { d, xs, prior, centre, y, w, ones, eps, factor } = this
    const n = this.z.length
    const xk = xs.subarray(k * d, k * d + d)
    const hxk = this.hx.subarray(k * d, k * d + d)
    const downdate = this.f[k] / Math.max(1e-12, 1 - this.f[k] * this.h[k])
    const { theta, grad, step, tmp } = this.work
    // The first step: (H - f_k x_k x_k^T)^-1 (g_k x_k) = H^-1 x_k g_k / (1 - f_k h_k).
    const first = this.g[k] / Math.max(1e-12, 1 - this.f[k] * this.h[k])
    let last = 0
    let worst = 0
    let reach = 0
    for (let a = 0; a < d; a++) {
      const move = hxk[a] * first
      theta[a] = this.theta[a] + move
      last = Math.max(last, Math.abs(move))
      reach += Math.abs(xk[a])
    }
    for (let iter = 0; iter < CHORD_STEPS; iter++) {
      for (let a = 0; a < d; a++) grad[a] = prior[a] * (a === d - 1 ? theta[a] - centre : theta[a])
      // Two answers at a time (their sums do not wait on each other), answer k's weight 0.
      const wk = w ? w[k] : 1
      if (w) w[k] = 0
      else ones[k] = 0
      const weight = w ?? ones
      let i = 0
      // Four at a time first: grad gets (the first two's terms), then (the other two's), as two pairs would add them.
      for (let base = 0; i + 3 < n; i += 4, base += 4 * d) {
        const [b1, b2, b3] = [base + d, base + 2 * d, base + 3 * d]
        let z0 = 0
        let z1 = 0
        let z2 = 0
        let z3 = 0
        for (let a = 0; a < d; a++) {
          z0 += theta[a] * xs[base + a]
          z1 += theta[a] * xs[b1 + a]
          z2 += theta[a] * xs[b2 + a]
          z3 += theta[a] * xs[b3 + a]
        }
        const g0 = weight[i] * lossGradient(z0, y[i], eps)
        const g1 = weight[i + 1] * lossGradient(z1, y[i + 1], eps)
        const g2 = weight[i + 2] * lossGradient(z2, y[i + 2], eps)
        const g3 = weight[i + 3] * lossGradient(z3, y[i + 3], eps)
        for (let a = 0; a < d; a++) grad[a] = grad[a] + (g0 * xs[base + a] + g1 * xs[b1 + a]) + (g2 * xs[b2 + a] + g3 * xs[b3 + a])
      }
      for (let base = i * d; i + 1 < n; i += 2, base += 2 * d) {
        const next = base + d
        let z0 = 0
        let z1 = 0
        for (let a = 0; a < d; a++) {
          z0 += theta[a] * xs[base + a]
          z1 += theta[a] * xs[next + a]
        }
        const g0 = weight[i] * lossGradient(z0, y[i], eps)
        const g1 = weight[i + 1] * lossGradient(z1, y[i + 1], eps)
        for (let a = 0; a < d; a++) grad[a] += g0 * xs[base + a] + g1 * xs[next + a]
      }
      if (i < n) {
        const base = i * d
        let z0 = 0
        for (let a = 0; a < d; a++) z0 += theta[a] * xs[base + a]
        const g0 = weight[i] * lossGradient(z0, y[i], eps)
        for (let a = 0; a < d; a++) grad[a] += g0 * xs[base + a]
      }
      weight[k] = wk
      // (H - f_k x_k x_k^T)^-1 grad = H^-1 grad + H^-1 x_k f_k (x_k.H^-1 grad) / (1 - f_k x_k.H^-1 x_k)
      solveCholeskyInto(factor, grad, d, tmp, step)
      let along = 0
      for (let a = 0; a < d; a++) along += hxk[a] * grad[a]
      let size = 0
      for (let a = 0; a < d; a++) {
        const move = step[a] + hxk[a] * downdate * along
        theta[a] -= move
        size = Math.max(size, Math.abs(move))
      }
      // Linear convergence: each step about `rate` times the last, the steps still to come add up to
      // at most size * rate / (1 - rate). Slower than CHORD_RATE: not worth it (null).
      const rate = size / last
      if (!(rate < CHORD_RATE)) return null
      worst = Math.max(worst, rate)
      if (((size * worst) / (1 - worst)) * reach < 1e-6) {
        let s = 0
        for (let a = 0; a < d; a++) s += theta[a] * xk[a]
        return s
      }
      last = size
    }
    return null
  }

  /** refitScore of each of the answers ks (the dual's screens take theirs together). */
  refitScores(ks: number[]): (number | null)[] {
    return ks.map((k) => this.refitScore(k))
  }
}

/** Wider features than this, with fewer labels than features, are fitted in the dual. */
export const DUAL_MIN_DIM = 64

/**
 * Once a step moves no answer's score by more than this, the dual fit keeps its factorization for
 * the steps after (each then O(n^2) instead of O(n^3)): the curvatures it was made at are then
 * within a few percent of the optimum's, so each such step still cuts the distance to the optimum
 * many times over, and the fit stops at the same tolerance.
 */
const REFACTOR_Z = 0.05

/**
 * The same problem and the same steps for wide features (a MobileNet's 1,280): the optimum lies
 * in the span of the labelled rows (scaled by the prior), so with theta = Z^T alpha each step is
 * solved through the n x n kernel K = Z Z^T by the Woodbury identity:
 *   H^-1 Z^T u = (1/l2) Z^T (u - W^1/2 (l2 I + W^1/2 K W^1/2)^-1 W^1/2 K u),  W = diag(curvatures).
 * Z's columns are the features over sqrt(s_j) and a constant c = sqrt(l2 / BIAS_L2) for the bias,
 * so one l2 on theta gives every weight its prior and BIAS_L2 on the bias. O(n^2 d) once for K,
 * then O(n^3) a step. Plain loops in a fixed order: deterministic, identical on every backend.
 */
export function fitLogisticDual(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions = {}
): HeadParams {
  const fit = dualCoefficients(x, dim, rows, y, opts)
  if (!fit) return { weights: new Float64Array(dim), bias: 0 }
  const { alpha, cache, factor, sw0 } = fit
  const { c, inv } = cache
  const weights = new Float64Array(dim)
  let b = 0
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * dim
    for (let t = 0; t < dim; t++) weights[t] += alpha[i] * x[base + t] * inv[t]
    b += alpha[i] * c
  }
  const head = { weights, bias: b * c }
  if (factor) DUALS.set(head, { cache, rows: Int32Array.from(rows), alpha, factor, sw0 })
  return head
}

/** The dual's objective at coefficients a, its scores K a: the answers' loss plus the prior, (l2 / 2) a.K a. */
function dualObjective(
  k: Float64Array,
  n: number,
  y: ArrayLike<number>,
  omega: ArrayLike<number> | null,
  eps: number,
  l2: number
): (a: Float64Array) => number {
  const zt = new Float64Array(n)
  return (a) => {
    kernelTimes(k, n, a, zt)
    let j = 0
    for (let i = 0; i < n; i++) j += (omega ? omega[i] : 1) * lossOnly(zt[i], y[i], eps) + 0.5 * l2 * a[i] * zt[i]
    return j
  }
}

/**
 * A backtracking (Armijo) line search from alpha along -step, halving up to 40 times: the length
 * taken and the objective there, with that point left in trial; null where none descends.
 */
function backtrack(
  alpha: Float64Array,
  step: Float64Array,
  trial: Float64Array,
  value: number,
  slope: number,
  objective: (a: Float64Array) => number
): { t: number; value: number } | null {
  let t = 1
  for (let s = 0; s < 40; s++, t /= 2) {
    for (let i = 0; i < alpha.length; i++) trial[i] = alpha[i] - t * step[i]
    const next = objective(trial)
    if (next <= value - 1e-4 * t * slope) return { t, value: next }
  }
  return null
}

/**
 * The dual fit of head rules 1 (see TRUST_RULES in learner.ts), kept as it was so that sessions on
 * a wide base recorded under those rules replay exactly: from zero, a fresh factorization every
 * step, convergence read from the step's largest coordinate in theta. fitLogisticDual is faster
 * and reaches the same optimum, not the same last bits.
 */
function fitLogisticDualRules1(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions = {}
): HeadParams {
  const { l2 = L2, scale = null, eps = EPS, weights: omega = null, tolerance = 1e-10 } = opts
  const n = rows.length
  if (n === 0) return { weights: new Float64Array(dim), bias: 0 }
  const cache = opts.kernel?.fits(x, dim, scale, l2) ? opts.kernel : new KernelCache(x, dim, scale, l2)
  const { c, inv } = cache
  const k = cache.matrix(rows)
  const alpha = new Float64Array(n) // starts at zero (opts.init is not used)
  const z = new Float64Array(n)
  const scores = (a: Float64Array, out: Float64Array) => kernelTimes(k, n, a, out)
  const objective = dualObjective(k, n, y, omega, eps, l2)
  const u = new Float64Array(n)
  const sw = new Float64Array(n)
  const m = new Float64Array(n * n)
  const rhs = new Float64Array(n)
  const step = new Float64Array(n)
  const kstep = new Float64Array(n)
  const trial = new Float64Array(n)
  const thetaStep = new Float64Array(dim + 1)
  let value = objective(alpha)
  for (let iter = 0; iter < MAX_STEPS; iter++) {
    scores(alpha, z)
    for (let i = 0; i < n; i++) {
      const { g, f } = lossAt(z[i], y[i], eps)
      const w = omega ? omega[i] : 1
      u[i] = w * g + l2 * alpha[i]
      sw[i] = Math.sqrt(w * f)
    }
    for (let i = 0; i < n; i++) {
      let s = 0
      for (let j = 0; j < n; j++) s += k[i * n + j] * u[j]
      rhs[i] = sw[i] * s
      for (let j = 0; j < n; j++) m[i * n + j] = sw[i] * k[i * n + j] * sw[j] + (i === j ? l2 : 0)
    }
    const v = solveSpd(m, rhs, n)
    for (let i = 0; i < n; i++) step[i] = (u[i] - sw[i] * v[i]) / l2
    // The descent test in theta = Z^T alpha: the gradient there is Z^T u, the step Z^T step.
    scores(step, kstep)
    let slope = 0
    for (let i = 0; i < n; i++) slope += u[i] * kstep[i]
    const taken = backtrack(alpha, step, trial, value, slope, objective)
    if (!taken) break
    const { t } = taken
    value = taken.value
    // The step in theta: its largest coordinate decides convergence, as in the primal (summed
    // row by row, each coordinate over the rows in order).
    thetaStep.fill(0)
    for (let i = 0; i < n; i++) {
      const ts = t * step[i]
      for (let col = 0, base = rows[i] * dim; col < dim; col++) thetaStep[col] += ts * (x[base + col] * inv[col])
      thetaStep[dim] += ts * c
    }
    let size = 0
    for (let col = 0; col <= dim; col++) size = Math.max(size, Math.abs(thetaStep[col]))
    alpha.set(trial)
    if (size < tolerance) break
  }
  const weights = new Float64Array(dim)
  let b = 0
  for (let i = 0; i < n; i++) {
    const base = rows[i] * dim
    for (let t = 0; t < dim; t++) weights[t] += alpha[i] * x[base + t] * inv[t]
    b += alpha[i] * c
  }
  return { weights, bias: b * c }
}

/**
 * The score (z = w.x + b) of pool row `row` under fitLogisticDual's fit, without the weights:
 * sum_i alpha_i K(row, rows_i), O(n) from the kernel cache where the weights are O(n d). The
 * same fit, its score summed in another order (equal to rounding). For a refit's left-out answer.
 */
export function dualScore(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions,
  row: number
): number {
  const fit = dualCoefficients(x, dim, rows, y, opts)
  return fit ? fit.cache.dot(row, rows, fit.alpha) : 0
}

/** fitLogisticDual's coefficients alpha (theta = Z^T alpha), its kernel cache and last factor; null without rows. */
function dualCoefficients(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: FitOptions
): { alpha: Float64Array; cache: KernelCache; factor: Float64Array | null; sw0: Float64Array } | null {
  const { l2 = L2, scale = null, eps = EPS, weights: omega = null, tolerance = 1e-10 } = opts
  const n = rows.length
  if (n === 0) return null
  const cache = opts.kernel?.fits(x, dim, scale, l2) ? opts.kernel : new KernelCache(x, dim, scale, l2)
  const { inv } = cache
  const k = cache.matrix(rows)
  const alpha = new Float64Array(n)
  const z = new Float64Array(n)
  const scores = (a: Float64Array, out: Float64Array) => kernelTimes(k, n, a, out)
  const objective = dualObjective(k, n, y, omega, eps, l2)
  const u = new Float64Array(n)
  const sw = new Float64Array(n)
  const m = new Float64Array(n * n)
  const rhs = new Float64Array(n)
  const step = new Float64Array(n)
  const kstep = new Float64Array(n)
  const trial = new Float64Array(n)
  // No coordinate of a step in theta is more than `most` times its length in the scaled coordinates.
  let most = 1
  for (let col = 0; col < dim; col++) most = Math.max(most, Math.sqrt(inv[col]))
  // The factor of M at the curvatures sw0, kept while the steps are small (see REFACTOR_Z).
  let factor: Float64Array | null = null
  const sw0 = new Float64Array(n)
  let near = false
  let value = objective(alpha)
  const full = opts.init && DUALS.get(opts.init)
  const left = full && full.cache === cache ? leftOut(full.rows, rows) : -1
  if (opts.init) {
    // A refit without one answer of a dual fit starts at that fit's coefficients for the rows
    // kept, with its last factor less that row (an O(n^2) update, not an O(n^3) factorization).
    // Otherwise where init's scores are on these rows: alpha solving (K + l2 I) alpha = z, the
    // ridge keeping it finite where rows repeat.
    let start: Float64Array
    if (full && left >= 0) {
      if (!full.ridged) {
        const big = cache.matrix(full.rows)
        full.z = new Float64Array(n + 1)
        kernelTimes(big, n + 1, full.alpha, full.z)
        for (let i = 0; i <= n; i++) big[i * (n + 1) + i] += l2
        full.ridged = cholesky(big, n + 1)
      }
      start = solveCholesky(withoutRow(full.ridged, n + 1, left), without(full.z!, left), n)
    } else {
      const ridged = k.slice()
      for (let i = 0; i < n; i++) ridged[i * n + i] += l2
      start = solveSpd(ridged, scoresOf(opts.init, x, dim, rows), n)
    }
    const at = objective(start)
    if (at < value) {
      alpha.set(start)
      value = at
      if (full && left >= 0) {
        factor = withoutRow(full.factor, n + 1, left)
        sw0.set(without(full.sw0, left))
        near = true
      }
    }
  }
  for (let iter = 0; iter < MAX_STEPS; iter++) {
    scores(alpha, z)
    for (let i = 0; i < n; i++) {
      const { g, f } = lossAt(z[i], y[i], eps)
      const w = omega ? omega[i] : 1
      u[i] = w * g + l2 * alpha[i]
      sw[i] = Math.sqrt(w * f)
    }
    if (!near || !factor) {
      sw0.set(sw)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = sw0[i] * k[i * n + j] * sw0[j] + (i === j ? l2 : 0)
      factor = cholesky(m, n)
    }
    kernelTimes(k, n, u, rhs)
    for (let i = 0; i < n; i++) rhs[i] *= sw0[i]
    const v = solveCholesky(factor, rhs, n)
    for (let i = 0; i < n; i++) step[i] = (u[i] - sw0[i] * v[i]) / l2
    // The descent test in theta = Z^T alpha: the gradient there is Z^T u, the step Z^T step.
    scores(step, kstep)
    let slope = 0
    for (let i = 0; i < n; i++) slope += u[i] * kstep[i]
    const taken = backtrack(alpha, step, trial, value, slope, objective)
    if (!taken && near) {
      // The kept factor no longer gives a step that descends: a fresh one.
      near = false
      continue
    }
    if (!taken) break
    const { t } = taken
    value = taken.value
    let moves = 0
    for (let i = 0; i < n; i++) moves = Math.max(moves, Math.abs(t * kstep[i]))
    near = moves < REFACTOR_Z
    // Converged when no coordinate of the step in theta moves by the tolerance, as in the primal:
    // sure once its length in the scaled coordinates, |Z^T t step| = t sqrt(step.K step), is below
    // it over the largest feature scale (O(n), where the largest coordinate itself is O(n d)).
    let quad = 0
    for (let i = 0; i < n; i++) quad += step[i] * kstep[i]
    alpha.set(trial)
    if (t * Math.sqrt(Math.max(0, quad)) * most < tolerance) break
  }
  return { alpha, cache, factor, sw0 }
}

/** Each dual fit's rows, coefficients and last factor (at curvatures sw0): where refits without one of its answers start. */
const DUALS = new WeakMap<
  HeadParams,
  {
    cache: KernelCache
    rows: Int32Array
    alpha: Float64Array
    factor: Float64Array
    sw0: Float64Array
    ridged?: Float64Array
    z?: Float64Array
  }
>()

/** The place of the one row of `all` that `rows` leaves out, the others in order (-1: not so). */
function leftOut(all: Int32Array, rows: ArrayLike<number>): number {
  if (rows.length !== all.length - 1) return -1
  let at = 0
  while (at < rows.length && rows[at] === all[at]) at++
  for (let i = at; i < rows.length; i++) if (rows[i] !== all[i + 1]) return -1
  return at
}

const without = (a: Float64Array, at: number): Float64Array => Float64Array.from({ length: a.length - 1 }, (_, i) => a[i < at ? i : i + 1])

/**
 * The Cholesky factor of M less its row and column `at`, from M's factor (big x big): the rows
 * above stay, and the block below takes the column's rank-one term, L' L'^T = L L^T + v v^T, by
 * plane rotations: O(big^2).
 */
export function withoutRow(l: Float64Array, big: number, at: number): Float64Array {
  const n = big - 1
  const out = new Float64Array(n * n)
  for (let i = 0, oi = 0; i < big; i++) {
    if (i === at) continue
    for (let j = 0, oj = 0; j <= i; j++) if (j !== at) out[oi * n + oj++] = l[i * big + j]
    oi++
  }
  const m = n - at
  const v = Float64Array.from({ length: m }, (_, i) => l[(at + 1 + i) * big + at])
  for (let j = 0; j < m; j++) {
    const jj = (at + j) * n + at + j
    const d = out[jj]
    const r = Math.sqrt(d * d + v[j] * v[j])
    const [cos, sin] = [r / d, v[j] / d]
    out[jj] = r
    for (let i = j + 1; i < m; i++) {
      const ij = (at + i) * n + at + j
      out[ij] = (out[ij] + sin * v[i]) / cos
      v[i] = cos * v[i] - sin * out[ij]
    }
  }
  return out
}

/** z = w.x + b of each of these rows, each summed over the features in order. */
function scoresOf(head: HeadParams, x: Float32Array, dim: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length)
  for (let k = 0; k < rows.length; k++) {
    let s = head.bias
    for (let a = 0, base = rows[k] * dim; a < dim; a++) s += head.weights[a] * x[base + a]
    out[k] = s
  }
  return out
}

/**
 * leaveOneOutScores for the dual fit (wide features, fewer answers than features): the same one
 * Newton step per answer, its leverage h_k = x_k^T H^-1 x_k read off the n x n kernel by the
 * Woodbury identity, h_k = (K_kk - |L^-1 S K e_k|^2) / l2 with L L^T = l2 I + S K S and S the
 * answers' root curvatures: one O(n^3) factorization for all answers, nothing of order d^2.
 */
export function leaveOneOutScoresDual(
  x: Float32Array,
  dim: number,
  rows: ArrayLike<number>,
  y: ArrayLike<number>,
  head: HeadParams,
  opts: FitOptions = {}
): Float64Array {
  return new LeaveOneOutDual(x, dim, rows, y, head, opts).scores
}

/**
 * LeaveOneOut for wide features (the dual): the same one Newton step per answer (`scores`), and
 * refitScore's chord steps through the kernel, theta = Z^T alpha over all n answers with answer
 * k's loss weighed 0 (its alpha goes to 0). The full fit's curvature less answer k's, inverted on
 * Z^T u by Woodbury and Sherman-Morrison: H^-1 Z^T u = Z^T (u - S M^-1 S K u) / l2 with M = l2 I + S K S
 * factored once, then the rank-one removal of answer k; O(n^2) a step, nothing of order d.
 */
export class LeaveOneOutDual {
  readonly scores: Float64Array
  private readonly k: Float64Array
  private readonly l: Float64Array
  private readonly sw: Float64Array
  private readonly f: Float64Array
  private readonly g: Float64Array
  private readonly y: Float64Array
  private readonly w: Float64Array | null
  private readonly l2: number
  private readonly eps: number
  private readonly n: number
  /** The factor l for many right-hand sides at once. */
  private readonly solver: SolveMany
  private readonly work: {
    a: Float64Array
    b: Float64Array
    c: Float64Array
    t: Float64Array
    z: Float64Array
    alpha: Float64Array
    ck: Float64Array
  }

  constructor(x: Float32Array, dim: number, rows: ArrayLike<number>, y: ArrayLike<number>, head: HeadParams, opts: FitOptions = {}) {
    const { l2 = L2, scale = null, eps = EPS, weights = null } = opts
    const n = (this.n = rows.length)
    this.l2 = l2
    this.eps = eps
    this.y = Float64Array.from(y)
    this.w = weights ? Float64Array.from(weights) : null
    const cache = opts.kernel?.fits(x, dim, scale, l2) ? opts.kernel : new KernelCache(x, dim, scale, l2)
    const k = (this.k = cache.matrix(rows))
    const z = scoresOf(head, x, dim, rows)
    const g = (this.g = new Float64Array(n))
    const f = (this.f = new Float64Array(n))
    const sw = (this.sw = new Float64Array(n))
    for (let i = 0; i < n; i++) {
      const at = lossAt(z[i], y[i], eps)
      const w = weights ? weights[i] : 1
      g[i] = w * at.g
      f[i] = w * at.f
      sw[i] = Math.sqrt(f[i])
    }
    const m = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = sw[i] * k[i * n + j] * sw[j] + (i === j ? l2 : 0)
    const l = (this.l = cholesky(m, n))
    // V = L^-1 S K, a column per answer, by forward substitution on all columns at once.
    const v = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let col = 0; col < n; col++) v[i * n + col] = sw[i] * k[i * n + col]
    this.solver = new SolveMany(l, n, n)
    this.solver.solve(v, n, false)
    const out = (this.scores = new Float64Array(n))
    for (let col = 0; col < n; col++) {
      let q = 0
      for (let i = 0; i < n; i++) q += v[i * n + col] * v[i * n + col]
      const h = Math.max(0, (k[col * n + col] - q) / l2)
      out[col] = z[col] + (g[col] * h) / Math.max(1e-12, 1 - f[col] * h)
    }
    const vec = () => new Float64Array(n)
    this.work = { a: vec(), b: vec(), c: vec(), t: vec(), z: vec(), alpha: vec(), ck: vec() }
  }

  /** out = H^-1 on Z^T u as coefficients: (u - S M^-1 S K u) / l2 (b may not be out). */
  private inverse(u: Float64Array, out: Float64Array): Float64Array {
    const { k, n, sw, l, l2 } = this
    const { b, t } = this.work
    kernelTimes(k, n, u, b)
    for (let i = 0; i < n; i++) b[i] *= sw[i]
    solveCholeskyInto(l, b, n, t, out)
    for (let i = 0; i < n; i++) out[i] = (u[i] - sw[i] * out[i]) / l2
    return out
  }

  /**
   * Answer k's score from the fit without it, as LeaveOneOut.refitScore: chord steps from the full
   * fit (alpha = -g / l2 at its optimum), null where they shrink slower than CHORD_RATE. `decided`
   * (the lowest and highest score the steps still to come can reach) ends it early once the caller
   * needs no more: the score then is the last step's.
   */
  refitScore(k: number, decided?: (low: number, high: number) => boolean): number | null {
    const { n, l2, y, w, eps, f, g } = this
    const kk = this.k
    const { a: u, c: step, z, alpha, ck, b } = this.work
    // H^-1 x_k as coefficients, its leverage h_k and the Sherman-Morrison factor of the removal.
    const ek = this.work.a
    ek.fill(0)
    ek[k] = 1
    this.inverse(ek, ck)
    let hk = 0
    for (let i = 0; i < n; i++) hk += kk[k * n + i] * ck[i]
    const downdate = f[k] / Math.max(1e-12, 1 - f[k] * hk)
    for (let i = 0; i < n; i++) alpha[i] = -g[i] / l2
    kernelTimes(kk, n, alpha, z)
    let last = Infinity
    let worst = 0
    for (let iter = 0; iter < CHORD_STEPS; iter++) {
      for (let i = 0; i < n; i++) u[i] = (i === k ? 0 : (w ? w[i] : 1) * lossGradient(z[i], y[i], eps)) + l2 * alpha[i]
      this.inverse(u, step)
      let along = 0
      for (let i = 0; i < n; i++) along += kk[k * n + i] * step[i]
      for (let i = 0; i < n; i++) step[i] += ck[i] * downdate * along
      kernelTimes(kk, n, step, b)
      let size = 0
      for (let i = 0; i < n; i++) {
        alpha[i] -= step[i]
        z[i] -= b[i]
        size = Math.max(size, Math.abs(b[i]))
      }
      // Linear convergence, as LeaveOneOut.refitScore: what the steps to come add is at most size * rate / (1 - rate).
      const rate = size / last
      if (iter > 0) {
        if (!(rate < CHORD_RATE)) return null
        worst = Math.max(worst, rate)
        const rest = (size * worst) / (1 - worst)
        if (rest < 1e-6 || decided?.(z[k] - rest, z[k] + rest)) return z[k]
      }
      last = size
    }
    return null
  }

  /**
   * refitScore for the answers ks at once, the same numbers (each screen's every sum in the same
   * order): the screens take their steps in lockstep, so each step's triangular solves run on all
   * the screens still going together (a row of L read once for all, the screens' sums independent
   * of each other, where one screen's backward solve is one chain of subtractions).
   */
  refitScores(ks: number[], decided?: (k: number, low: number, high: number) => boolean): (number | null)[] {
    const { n, l2, y, w, eps, f, g } = this
    const kk = this.k
    const m = ks.length
    const out: (number | null)[] = ks.map(() => null)
    const ck = new Float64Array(m * n)
    const alpha = new Float64Array(m * n)
    const z = new Float64Array(m * n)
    const u = new Float64Array(m * n)
    const step = new Float64Array(m * n)
    const b = this.work.b
    const downdate = new Float64Array(m)
    const last = new Float64Array(m).fill(Infinity)
    const worst = new Float64Array(m)
    const all = ks.map((_, c) => c)
    // H^-1 x_k as coefficients for every k, its leverage h_k and the Sherman-Morrison factor.
    for (const [c, k] of ks.entries()) u[c * n + k] = 1
    this.inverseMany(u, all, ck)
    // Every screen starts at the full fit, alpha = -g / l2.
    const a0 = Float64Array.from(g, (gi) => -gi / l2)
    const z0 = new Float64Array(n)
    kernelTimes(kk, n, a0, z0)
    for (const [c, k] of ks.entries()) {
      let hk = 0
      for (let i = 0; i < n; i++) hk += kk[k * n + i] * ck[c * n + i]
      downdate[c] = f[k] / Math.max(1e-12, 1 - f[k] * hk)
      alpha.set(a0, c * n)
      z.set(z0, c * n)
    }
    let active = all
    for (let iter = 0; iter < CHORD_STEPS && active.length; iter++) {
      for (const c of active) {
        const k = ks[c]
        const [o, zc, ac] = [c * n, z.subarray(c * n, c * n + n), alpha.subarray(c * n, c * n + n)]
        for (let i = 0; i < n; i++) u[o + i] = (i === k ? 0 : (w ? w[i] : 1) * lossGradient(zc[i], y[i], eps)) + l2 * ac[i]
      }
      this.inverseMany(u, active, step)
      const going: number[] = []
      for (const c of active) {
        const k = ks[c]
        const o = c * n
        const [sc, zc, ac] = [step.subarray(o, o + n), z.subarray(o, o + n), alpha.subarray(o, o + n)]
        let along = 0
        for (let i = 0; i < n; i++) along += kk[k * n + i] * sc[i]
        for (let i = 0; i < n; i++) sc[i] += ck[o + i] * downdate[c] * along
        kernelTimes(kk, n, sc, b)
        let size = 0
        for (let i = 0; i < n; i++) {
          ac[i] -= sc[i]
          zc[i] -= b[i]
          size = Math.max(size, Math.abs(b[i]))
        }
        const rate = size / last[c]
        last[c] = size
        if (iter === 0) {
          going.push(c)
          continue
        }
        if (!(rate < CHORD_RATE)) continue
        worst[c] = Math.max(worst[c], rate)
        const rest = (size * worst[c]) / (1 - worst[c])
        if (rest < 1e-6 || decided?.(k, zc[k] - rest, zc[k] + rest)) out[c] = zc[k]
        else going.push(c)
      }
      active = going
    }
    return out
  }

  /**
   * inverse() on the rows `which` of us (n each) into the same rows of out: the kernel products one
   * by one, the two triangular solves on all of them at once (row i of the n x count block holds
   * every screen's entry i), each entry's terms in the same order as solveCholeskyInto's.
   */
  private inverseMany(us: Float64Array, which: number[], out: Float64Array): void {
    const { k, n, sw, l2 } = this
    const { b } = this.work
    const m = which.length
    if (m > n) throw new Error(`inverseMany: ${m} right-hand sides for ${n} answers`)
    const rhs = new Float64Array(n * m)
    for (const [j, c] of which.entries()) {
      kernelTimes(k, n, us.subarray(c * n, c * n + n), b)
      for (let i = 0; i < n; i++) rhs[i * m + j] = b[i] * sw[i]
    }
    this.solver.solve(rhs, m)
    for (const [j, c] of which.entries()) for (let i = 0; i < n; i++) out[c * n + i] = (us[c * n + i] - sw[i] * rhs[i * m + j]) / l2
  }
}

/**
 * The dual fit's kernel K = Z Z^T between answered rows, entry by entry as the fit computes them,
 * kept by pool row: the refits of an iteration and the next iterations' fits share most rows, so
 * each pair is summed over the features once (O(d) each) instead of once a fit.
 */
export class KernelCache {
  readonly c: number
  readonly inv: Float64Array
  private readonly slotOf = new Map<number, number>()
  private rowsIn: number[] = []
  private k = new Float64Array(0)
  private capacity = 0

  constructor(
    readonly x: Float32Array,
    readonly dim: number,
    readonly scale: ArrayLike<number> | null,
    readonly l2: number
  ) {
    this.c = Math.sqrt(l2 / BIAS_L2)
    this.inv = Float64Array.from({ length: dim }, (_, t) => 1 / (scale ? scale[t] : 1))
  }

  /** Whether this cache holds the kernel of these features under this prior. */
  fits(x: Float32Array, dim: number, scale: ArrayLike<number> | null, l2: number): boolean {
    return x === this.x && dim === this.dim && scale === this.scale && l2 === this.l2
  }

  /** K between these rows (n x n). */
  matrix(rows: ArrayLike<number>): Float64Array {
    const n = rows.length
    const slots = new Int32Array(n)
    for (let i = 0; i < n; i++) slots[i] = this.slotFor(rows[i])
    const out = kernelMatrix(n)
    const m = this.capacity
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = this.k[slots[i] * m + slots[j]]
    return out
  }

  /** sum_i a_i K(row, rows_i). */
  dot(row: number, rows: ArrayLike<number>, a: ArrayLike<number>): number {
    const at = this.slotFor(row)
    const slots = Int32Array.from(rows, (r) => this.slotFor(r))
    const base = at * this.capacity
    let s = 0
    for (let i = 0; i < slots.length; i++) s += a[i] * this.k[base + slots[i]]
    return s
  }

  private slotFor(row: number): number {
    const known = this.slotOf.get(row)
    if (known !== undefined) return known
    const slot = this.rowsIn.length
    if (slot === this.capacity) this.grow()
    this.slotOf.set(row, slot)
    this.rowsIn.push(row)
    const { x, dim, inv, c } = this
    const m = this.capacity
    const bi = row * dim
    for (let other = 0; other <= slot; other++) {
      const bj = this.rowsIn[other] * dim
      let s = c * c
      for (let t = 0; t < dim; t++) s += x[bi + t] * x[bj + t] * inv[t]
      this.k[slot * m + other] = s
      this.k[other * m + slot] = s
    }
    return slot
  }

  private grow(): void {
    const [old, m] = [this.k, this.capacity]
    this.capacity = Math.max(64, m * 2)
    this.k = new Float64Array(this.capacity * this.capacity)
    for (let i = 0; i < m; i++) this.k.set(old.subarray(i * m, i * m + m), i * this.capacity)
  }
}

/** Solves A x = b for a symmetric positive-definite A by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  return solveCholesky(cholesky(a, d), b, d)
}

/**
 * The lower Cholesky factor of a symmetric positive-definite A (d x d). Four entries of a row at a
 * time: each is its own sum, its terms in the same order as one entry alone (k ascending, the
 * row's own new entries last), so the same numbers come out, from four chains of additions
 * instead of one that waits on itself.
 */
export function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    const ri = i * d
    let j = 0
    for (; j + 3 < i; j += 4) {
      const [r0, r1, r2, r3] = [j * d, (j + 1) * d, (j + 2) * d, (j + 3) * d]
      let [s0, s1, s2, s3] = [a[ri + j], a[ri + j + 1], a[ri + j + 2], a[ri + j + 3]]
      for (let k = 0; k < j; k++) {
        const lik = l[ri + k]
        s0 -= lik * l[r0 + k]
        s1 -= lik * l[r1 + k]
        s2 -= lik * l[r2 + k]
        s3 -= lik * l[r3 + k]
      }
      const l0 = (l[ri + j] = s0 / l[r0 + j])
      s1 -= l0 * l[r1 + j]
      s2 -= l0 * l[r2 + j]
      s3 -= l0 * l[r3 + j]
      const l1 = (l[ri + j + 1] = s1 / l[r1 + j + 1])
      s2 -= l1 * l[r2 + j + 1]
      s3 -= l1 * l[r3 + j + 1]
      const l2 = (l[ri + j + 2] = s2 / l[r2 + j + 2])
      s3 -= l2 * l[r3 + j + 2]
      l[ri + j + 3] = s3 / l[r3 + j + 3]
    }
    for (; j <= i; j++) {
      let s = a[i * d + j]
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k]
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * d + j]
    }
  }
  return l
}

/** Solves L L^T x = b for the factor L of cholesky(). */
export function solveCholesky(l: Float64Array, b: Float64Array, d: number): Float64Array {
  return solveCholeskyInto(l, b, d, new Float64Array(d), new Float64Array(d))
}

/**
 * solveCholesky into `out`, with `z` for the forward solve (d each; b may not be out). The forward
 * solve takes four rows at a time, each row's terms in the same order as alone (k ascending, the
 * rows just solved last): the same numbers, from four chains of subtractions instead of one.
 */
function solveCholeskyInto(l: Float64Array, b: Float64Array, d: number, z: Float64Array, out: Float64Array): Float64Array {
  let i = 0
  for (; i + 3 < d; i += 4) {
    const [r0, r1, r2, r3] = [i * d, (i + 1) * d, (i + 2) * d, (i + 3) * d]
    let [s0, s1, s2, s3] = [b[i], b[i + 1], b[i + 2], b[i + 3]]
    for (let k = 0; k < i; k++) {
      const zk = z[k]
      s0 -= l[r0 + k] * zk
      s1 -= l[r1 + k] * zk
      s2 -= l[r2 + k] * zk
      s3 -= l[r3 + k] * zk
    }
    const z0 = (z[i] = s0 / l[r0 + i])
    s1 -= l[r1 + i] * z0
    s2 -= l[r2 + i] * z0
    s3 -= l[r3 + i] * z0
    const z1 = (z[i + 1] = s1 / l[r1 + i + 1])
    s2 -= l[r2 + i + 1] * z1
    s3 -= l[r3 + i + 1] * z1
    const z2 = (z[i + 2] = s2 / l[r2 + i + 2])
    s3 -= l[r3 + i + 2] * z2
    z[i + 3] = s3 / l[r3 + i + 3]
  }
  for (; i < d; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k]
    z[i] = s / l[i * d + i]
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * out[k]
    out[i] = s / l[i * d + i]
  }
  return out
}

/**
 * The head's logit (z = w.x + b) for every row of a feature matrix. Hot (every iteration, every
 * pool row): four rows at a time, so the additions of one row do not wait on each other; each
 * row's sum is taken in the same order as a row on its own.
 */
export function logits(head: HeadParams, x: Float32Array, dim: number, out: Float64Array = new Float64Array(x.length / dim)): Float64Array {
  const w = head.weights
  const bias = head.bias
  const n = out.length
  let i = 0
  for (let base = 0; i + 4 <= n; i += 4, base += 4 * dim) {
    let z0 = bias
    let z1 = bias
    let z2 = bias
    let z3 = bias
    for (let j = 0, b1 = base + dim, b2 = b1 + dim, b3 = b2 + dim; j < dim; j++) {
      const wj = w[j]
      z0 += wj * x[base + j]
      z1 += wj * x[b1 + j]
      z2 += wj * x[b2 + j]
      z3 += wj * x[b3 + j]
    }
    out[i] = z0
    out[i + 1] = z1
    out[i + 2] = z2
    out[i + 3] = z3
  }
  for (let base = i * dim; i < n; i++, base += dim) {
    let z = bias
    for (let j = 0; j < dim; j++) z += w[j] * x[base + j]
    out[i] = z
  }
  return out
}

/** P(positive) at a logit, as stored (float32). */
export const probability = (z: number): number => Math.fround(1 / (1 + Math.exp(-z)))

/**
 * Whether P(positive) at logit z is >= 0.5, as the stored P says: z >= 0 always is; a z just
 * below 0 may round up to 0.5 in float32, so only those compute P.
 */
export const positiveAt = (z: number): boolean => z >= 0 || (z > -1e-6 && probability(z) >= 0.5)

/** The bins of the histogram of P(positive). */
export const BINS = 11
export const binOfP = (p: number) => Math.min(BINS - 1, Math.floor(p * BINS))

/**
 * The bin of P(positive) by logit, without computing P: the logits between the first and last
 * bin edges (P = k/11) are cut into CELLS cells, each holding the bin every logit in it gets, or
 * -1 where a cell or its neighbour comes within EDGE_MARGIN of an edge (float32 rounding moves P
 * by < 3e-8, z by < 1e-6 at these edges): logits there compute P. The same bins as P gives.
 */
const EDGES = Float64Array.from({ length: BINS - 1 }, (_, k) => Math.log((k + 1) / (BINS - k - 1)))
const EDGE_MARGIN = 1e-5
const CELLS = 2048
const LOW = EDGES[0] - EDGE_MARGIN
const HIGH = EDGES[BINS - 2] + EDGE_MARGIN
const PER_CELL = CELLS / (HIGH - LOW)
const CELL_BIN = Int8Array.from({ length: CELLS }, (_, c) => {
  const [from, to] = [LOW + (c - 1) / PER_CELL, LOW + (c + 2) / PER_CELL]
  if (EDGES.some((e) => e + EDGE_MARGIN > from && e - EDGE_MARGIN < to)) return -1
  return EDGES.filter((e) => e < from).length
})

/** CELL_BIN with a cell for the logits below LOW (bin 0) before it and one for those from HIGH (the last bin) after it. */
const BIN_OF_CELL = Int8Array.from([0, ...CELL_BIN, BINS - 1])
/** binOfLogit's cells, for the pool pass's WebAssembly count (pool-bins.ts). */
export const BIN_CELLS = { table: BIN_OF_CELL, low: LOW, perCell: PER_CELL, cells: CELLS }

/**
 * Without a branch on where z falls (a pool's logits fall anywhere: a missed guess per image): the
 * cell is clamped into BIN_OF_CELL (min and max, no branch; NaN falls in cell 0's slow path, bin
 * 0). A cell a rounding off by one still gets the right bin: every cell's bin holds for its
 * neighbours' logits too, or it is -1.
 */
export function binOfLogit(v: number): number {
  const bin = BIN_OF_CELL[(Math.min(Math.max((v - LOW) * PER_CELL, -1), CELLS) | 0) + 1]
  // | 0: an int either way, so a loop indexing by it stays on integers.
  return bin >= 0 ? bin : binOfP(probability(v)) | 0
}

export function binsOfLogits(z: Float64Array, bins: Uint8Array = new Uint8Array(z.length)): Uint8Array {
  for (let i = 0; i < z.length; i++) bins[i] = binOfLogit(z[i])
  return bins
}

export function binsOfP(p: Float32Array): Uint8Array {
  return Uint8Array.from(p, binOfP)
}

/** P(positive) for every row of a feature matrix. */
export function predictLogistic(
  head: HeadParams,
  x: Float32Array,
  dim: number,
  out: Float32Array = new Float32Array(x.length / dim)
): Float32Array {
  const z = logits(head, x, dim)
  for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-z[i]))
  return out
}
