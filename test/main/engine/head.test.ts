import { describe, it, expect } from 'vitest'
import {
  fitLogistic,
  fitLogisticDual,
  fitLogisticPrimal,
  KernelCache,
  leaveOneOutScores,
  leaveOneOutScoresDual,
  predictLogistic,
  logits,
  probability,
  positiveAt,
  binsOfLogits,
  binOfP,
  BINS,
  sigmoid,
  L2,
  BIAS_L2,
  cholesky,
  withoutRow,
  EPS,
  featureScale,
  FitOptions,
  HeadParams,
  LeaveOneOut,
  classEvidencePriors,
  UNSEEN_LOGIT
} from '../../../src/main/engine/head'
import { Rng } from '../../../src/main/util/rng'

/** Standard normal by Box-Muller, from the seeded RNG. */
const gauss = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())

/** n points in dim dimensions: label 1 around +mu, label 0 around -mu, with noise sd. */
function blobs(n: number, dim: number, sep: number, sd: number, seed: number) {
  const rng = new Rng(seed)
  const mu = Array.from({ length: dim }, () => gauss(rng))
  const norm = Math.hypot(...mu)
  const x = new Float32Array(n * dim)
  const y: number[] = []
  for (let i = 0; i < n; i++) {
    const label = i % 2
    y.push(label)
    for (let j = 0; j < dim; j++) x[i * dim + j] = ((label ? 1 : -1) * sep * mu[j]) / norm + sd * gauss(rng) + 0.3
  }
  return { x, y, rows: Array.from({ length: n }, (_, i) => i) }
}

/**
 * The objective's gradient: sum_i w_i l_eps(y_i, z_i) + (l2/2) sum_j s_j w_j^2 + (BIAS_L2/2) b^2
 * (or each weight's own prior, and the bias's around its centre),
 * with P(answer 1 | z) = eps + (1 - 2 eps) sigmoid(z); written out independently of the solver.
 */
function gradient(
  x: Float32Array,
  dim: number,
  rows: number[],
  y: number[],
  w: ArrayLike<number>,
  b: number,
  o: FitOptions = {}
): Float64Array {
  const { l2 = L2, eps = EPS, scale = null, weights = null, priors = null, bias = null } = o
  const g = new Float64Array(dim + 1)
  for (let k = 0; k < rows.length; k++) {
    let z = b
    for (let j = 0; j < dim; j++) z += w[j] * x[rows[k] * dim + j]
    const s = sigmoid(z)
    const q = eps + (1 - 2 * eps) * s
    // d/dz of -(y log q + (1 - y) log(1 - q)).
    const r = (weights ? weights[k] : 1) * (-(y[k] / q) + (1 - y[k]) / (1 - q)) * (1 - 2 * eps) * s * (1 - s)
    for (let j = 0; j < dim; j++) g[j] += r * x[rows[k] * dim + j]
    g[dim] += r
  }
  for (let j = 0; j < dim; j++) g[j] += (priors ? priors[j] : l2 * (scale ? scale[j] : 1)) * w[j]
  g[dim] += bias ? bias.l2 * (b - bias.centre) : BIAS_L2 * b
  return g
}

/** The reference: plain gradient descent on the same objective, run to convergence. */
function gradientDescent(x: Float32Array, dim: number, rows: number[], y: number[], o: FitOptions, lr: number, steps: number) {
  const w = new Float64Array(dim)
  let b = 0
  for (let s = 0; s < steps; s++) {
    const g = gradient(x, dim, rows, y, w, b, o)
    for (let j = 0; j < dim; j++) w[j] -= lr * g[j]
    b -= lr * g[dim]
  }
  return { w, b, g: gradient(x, dim, rows, y, w, b, o) }
}

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs))

/** n softmax-like rows of 10: row i peaks at class i % 10 (its share before normalising: `peak` against 9 uniform draws). */
function simplex(n: number, seed: number, peak = 20): { x: Float32Array; classes: number[] } {
  const rng = new Rng(seed)
  const x = new Float32Array(n * 10)
  const classes: number[] = []
  for (let i = 0; i < n; i++) {
    const c = i % 10
    classes.push(c)
    let s = 0
    for (let j = 0; j < 10; j++) s += x[i * 10 + j] = j === c ? peak : rng.next()
    for (let j = 0; j < 10; j++) x[i * 10 + j] /= s
  }
  return { x, classes }
}

describe('fitLogistic', () => {
  it('classifies a separable problem, training points and new ones', () => {
    const train = blobs(40, 10, 4, 0.5, 1)
    const head = fitLogistic(train.x, 10, train.rows, train.y)
    const p = predictLogistic(head, train.x, 10)
    train.y.forEach((y, i) => expect(p[i] >= 0.5 ? 1 : 0).toBe(y))
    // Fresh points from the same clusters (same seed for the means, other noise).
    const test = blobs(200, 10, 4, 0.5, 1)
    const q = predictLogistic(head, test.x, 10)
    let right = 0
    test.y.forEach((y, i) => (right += Number((q[i] >= 0.5 ? 1 : 0) === y)))
    expect(right / 200).toBeGreaterThan(0.97)
  })

  it('agrees with plain gradient descent on the same objective: log loss, the slip-tolerant loss, feature scales, weights', () => {
    const d = blobs(60, 5, 1, 1, 2)
    const cases: FitOptions[] = [
      { eps: 0 },
      { eps: EPS },
      { eps: 0.1, l2: 1 },
      { eps: EPS, scale: [0.5, 1, 2, 1, 0.25] },
      { eps: EPS, weights: d.rows.map((i) => 0.25 + (i % 4) / 4) },
      // Each weight's own prior strength and a bias prior centred off 0.
      { eps: EPS, priors: [0.2, 3, 0.5, 1, 0.1], bias: { centre: 0.4, l2: 2 } }
    ]
    for (const o of cases) {
      // Overlapping classes keep the optimum well inside the plane, so gradient descent converges.
      const ref = gradientDescent(d.x, 5, d.rows, d.y, o, 0.02, 40000)
      expect(maxAbs(ref.g), JSON.stringify(o)).toBeLessThan(1e-9) // the reference really converged
      const head = fitLogistic(d.x, 5, d.rows, d.y, o)
      for (let j = 0; j < 5; j++) expect(Math.abs(head.weights[j] - ref.w[j])).toBeLessThan(1e-6)
      expect(Math.abs(head.bias - ref.b)).toBeLessThan(1e-6)
      // And it is a stationary point of the objective, to far better than that.
      expect(maxAbs(gradient(d.x, 5, d.rows, d.y, head.weights, head.bias, o))).toBeLessThan(1e-8)
    }
  })

  it('sums the answers: an answer given twice counts as weight 2, and more answers weigh more against the prior', () => {
    const d = blobs(30, 4, 1.5, 1, 4)
    const twice = fitLogistic(d.x, 4, [...d.rows, ...d.rows], [...d.y, ...d.y])
    const weighted = fitLogistic(d.x, 4, d.rows, d.y, { weights: d.rows.map(() => 2) })
    for (let j = 0; j < 4; j++) expect(twice.weights[j]).toBeCloseTo(weighted.weights[j], 8)
    const once = fitLogistic(d.x, 4, d.rows, d.y)
    expect(Math.hypot(...twice.weights)).toBeGreaterThan(Math.hypot(...once.weights))
  })

  it('one contradicting answer cannot flip a class: its pull is bounded (the log loss lets it)', () => {
    // Five clear images of one class answered 1, and one image of it answered 0, near the edge
    // of the class: the log loss bends the weight for it; the slip-tolerant loss barely does.
    const { x, classes } = simplex(60, 12)
    const three = classes.flatMap((c, i) => (c === 3 ? [i] : []))
    const rows = three.slice(0, 6)
    const y = [1, 1, 1, 1, 1, 0]
    const robust = fitLogistic(x, 10, rows, y)
    const plain = fitLogistic(x, 10, rows, y, { eps: 0 })
    const clean = fitLogistic(x, 10, rows.slice(0, 5), y.slice(0, 5))
    expect(robust.weights[3]).toBeGreaterThan(0)
    expect(clean.weights[3] - robust.weights[3]).toBeLessThan(clean.weights[3] - plain.weights[3])
  })

  it('matches the prior to the features: featureScale is the pool mean of x_j^2 over their mean, floored', () => {
    const x = Float32Array.from([1, 0, 0.5, 1, 0, 0.5, 1, 0, 0.5, 1, 0, 0.5])
    const s = featureScale(x, 3)
    // Means of x^2: 1, 0, 0.25 (mean 0.4167): 2.4, floored 0.05, 0.6.
    expect(Array.from(s).map((v) => +v.toFixed(4))).toEqual([2.4, 0.05, 0.6])
  })

  it('reads the rows it is given, in any order', () => {
    const d = blobs(30, 4, 1.5, 1, 5)
    const rows = [3, 17, 8, 22, 5, 11, 0, 29, 14]
    const a = fitLogistic(
      d.x,
      4,
      rows,
      rows.map((r) => d.y[r])
    )
    const order = [...rows].reverse()
    const b = fitLogistic(
      d.x,
      4,
      order,
      order.map((r) => d.y[r])
    )
    for (let j = 0; j < 4; j++) expect(b.weights[j]).toBeCloseTo(a.weights[j], 9)
    // Only those rows: equals fitting a matrix holding just them.
    const sub = new Float32Array(rows.length * 4)
    rows.forEach((r, k) => sub.set(d.x.subarray(r * 4, r * 4 + 4), k * 4))
    const c = fitLogistic(
      sub,
      4,
      rows.map((_, k) => k),
      rows.map((r) => d.y[r])
    )
    for (let j = 0; j < 4; j++) expect(c.weights[j]).toBeCloseTo(a.weights[j], 9)
    expect(c.bias).toBeCloseTo(a.bias, 9)
  })

  it('with no labels gives the zero head (p = 0.5 everywhere)', () => {
    const d = blobs(10, 3, 1, 1, 6)
    const head = fitLogistic(d.x, 3, [], [])
    expect(Array.from(head.weights)).toEqual([0, 0, 0])
    expect(head.bias).toBe(0)
    expect(Array.from(predictLogistic(head, d.x, 3))).toEqual(new Array(10).fill(0.5))
  })

  it('with one class only stays finite and predicts that class, symmetrically', () => {
    // On what the head sees (softmax rows: non-negative, summing to 1).
    const { x } = simplex(12, 7)
    const rows = Array.from({ length: 12 }, (_, i) => i)
    const ones = fitLogistic(
      x,
      10,
      rows,
      rows.map(() => 1)
    )
    const zeros = fitLogistic(
      x,
      10,
      rows,
      rows.map(() => 0)
    )
    for (const h of [ones, zeros]) {
      expect(Number.isFinite(h.bias)).toBe(true)
      h.weights.forEach((w) => expect(Number.isFinite(w)).toBe(true))
    }
    predictLogistic(ones, x, 10).forEach((p) => expect(p).toBeGreaterThan(0.5))
    predictLogistic(zeros, x, 10).forEach((p) => expect(p).toBeLessThan(0.5))
    // The objective is symmetric under y -> 1 - y, (w, b) -> -(w, b).
    expect(zeros.bias).toBeCloseTo(-ones.bias, 6)
    for (let j = 0; j < 10; j++) expect(zeros.weights[j]).toBeCloseTo(-ones.weights[j], 6)
    // A single label is one class too.
    const single = fitLogistic(x, 10, [4], [1])
    expect(predictLogistic(single, x.subarray(40, 50), 10)[0]).toBeGreaterThan(0.5)
  })

  it('is deterministic', () => {
    const d = blobs(50, 10, 2, 1, 8)
    const a = fitLogistic(d.x, 10, d.rows, d.y)
    const b = fitLogistic(d.x, 10, d.rows, d.y)
    expect(Array.from(b.weights)).toEqual(Array.from(a.weights))
    expect(b.bias).toBe(a.bias)
  })

  it('fits softmax-like features (rows on the simplex, one-hot-ish)', () => {
    // What the frozen base gives: 10 probabilities a row, summing to 1.
    const { x, classes } = simplex(40, 9)
    const y = classes.map((c) => c % 2)
    const rows = classes.map((_, i) => i)
    const head = fitLogistic(x, 10, rows, y)
    predictLogistic(head, x, 10).forEach((p, i) => expect(p >= 0.5 ? 1 : 0).toBe(y[i]))
    // Odd digits get positive weights, even ones negative.
    head.weights.forEach((w, j) => expect(Math.sign(w)).toBe(j % 2 ? 1 : -1))
    expect(maxAbs(gradient(x, 10, rows, y, head.weights, head.bias))).toBeLessThan(1e-8)
    // Digits nobody labelled stay uncertain: with the bias held near 0 their weight stays near 0.
    const some = rows.filter((i) => classes[i] < 6)
    const partial = fitLogistic(
      x,
      10,
      some,
      some.map((i) => y[i])
    )
    const oneHot = (c: number) => Float32Array.from({ length: 10 }, (_, j) => (j === c ? 1 : 0))
    for (const c of [6, 7, 8, 9]) expect(Math.abs(predictLogistic(partial, oneHot(c), 10)[0] - 0.5)).toBeLessThan(0.25)
    for (const c of [0, 1, 2, 3, 4, 5]) expect(Math.abs(predictLogistic(partial, oneHot(c), 10)[0] - 0.5)).toBeGreaterThan(0.25)
  })
})

describe('LeaveOneOut: the one-step scores and the screening refits', () => {
  /** Answer k's score from a fit without it, from zero to the finest tolerance. */
  const exactScore = (x: Float32Array, dim: number, rows: number[], y: number[], k: number, o: FitOptions) => {
    const keep = rows.map((_, j) => j).filter((j) => j !== k)
    const head = fitLogistic(
      x,
      dim,
      keep.map((j) => rows[j]),
      keep.map((j) => y[j]),
      { ...o, weights: o.weights ? keep.map((j) => (o.weights as number[])[j]) : null, tolerance: 1e-13 }
    )
    let z = head.bias
    for (let a = 0; a < dim; a++) z += head.weights[a] * x[rows[k] * dim + a]
    return z
  }

  it.each([
    ['the slip-tolerant loss, mis-keyed answers', {}, 0.15],
    ['the plain log loss', { eps: 0 }, 0.1],
    ['feature scales and answer weights', { scale: [0.5, 2, 1, 1, 3, 0.2], weights: 'random' }, 0.03],
    ['each weight its own prior, the bias held off 0', { priors: [0.2, 5, 0.5, 100, 1, 0.3], bias: { centre: 0.5, l2: 50 } }, 0.03]
  ] as const)('each answer left out, %s: the refit score agrees with an exact refit from zero to 1e-5', (_, o, flip) => {
    for (const seed of [1, 2, 3]) {
      const dim = 6
      const { x, y, rows } = blobs(150, dim, 2, 1, seed)
      const rng = new Rng(seed + 10)
      const answers = y.map((v) => (rng.next() < flip ? 1 - v : v))
      const weights = 'weights' in o ? answers.map(() => 0.2 + rng.next()) : null
      const opts: FitOptions = { ...o, weights }
      const full = fitLogistic(x, dim, rows, answers, opts)
      const loo = new LeaveOneOut(x, dim, rows, answers, full, opts)
      let screened = 0
      for (let k = 0; k < rows.length; k++) {
        const exact = exactScore(x, dim, rows, answers, k, opts)
        const z = loo.refitScore(k)
        // Converged, or it says it did not settle.
        if (z === null) continue
        screened++
        expect(Math.abs(z - exact)).toBeLessThan(1e-5)
      }
      expect(screened).toBeGreaterThan(rows.length / 2)
    }
  })

  it('is deterministic', () => {
    const { x, y, rows } = blobs(40, 5, 1.5, 1, 4)
    const full = fitLogistic(x, 5, rows, y)
    const [a, b] = [new LeaveOneOut(x, 5, rows, y, full), new LeaveOneOut(x, 5, rows, y, full)]
    expect(Array.from(a.scores)).toEqual(Array.from(b.scores))
    for (let k = 0; k < rows.length; k++) expect(a.refitScore(k)).toBe(b.refitScore(k))
  })
})

describe('classEvidencePriors (class-output features)', () => {
  // Clear images of every class, and images of 0 and 4 torn towards 2 (70/30): answered even, as
  // they are, they say nothing of the 2s themselves.
  // The base's clear reads: 98 % on the class (simplex's rows are 82 %, which counts as unclear).
  const { x, classes } = simplex(100, 7, 200)
  const torn = (i: number, from: number) => {
    const row = new Float32Array(10)
    row[from] = 0.7 - 0.001 * i
    row[2] = 0.3 + 0.001 * i
    return row
  }
  const tornRows = [0, 1, 2, 3].map((i) => torn(i, i % 2 ? 4 : 0))
  const all = new Float32Array([...x, ...tornRows.flatMap((r) => Array.from(r))])
  const tornIds = tornRows.map((_, k) => 100 + k)
  const clear = (c: number) => classes.indexOf(c)
  const oneHot = (c: number) => Float32Array.from({ length: 10 }, (_, j) => (j === c ? 1 : 0))
  const clarity = (id: number) => Math.max(...all.subarray(id * 10, id * 10 + 10)) ** 2
  const fitOn = (rows: number[], withPriors: boolean) => {
    const y = rows.map((i) => (i < 100 ? classes[i] % 2 : 0))
    const weights = rows.map(clarity)
    return fitLogistic(all, 10, rows, y, { weights, ...(withPriors ? classEvidencePriors(all, 10, rows, weights, null) : {}) })
  }
  const pOf = (head: HeadParams, c: number) => predictLogistic(head, oneHot(c), 10)[0]
  const first = [clear(0), clear(1), clear(4), clear(7)]
  const then = [...first, ...tornIds]

  it('a class no answer clearly speaks for stays at UNSEEN_LOGIT, on the positive side, whatever one batch of torn answers says', () => {
    for (const rows of [first, then]) {
      const head = fitOn(rows, true)
      for (const c of [2, 3, 5, 6, 8, 9]) expect(Math.abs(logits(head, oneHot(c), 10)[0] - UNSEEN_LOGIT)).toBeLessThan(0.01)
    }
    // Without them the torn answers tip every 2 well to the negative side (a whole class flipped by one batch).
    expect(pOf(fitOn(then, false), 2)).toBeLessThan(0.45)
  })

  it('a lone clear answer still decides its class, as without them', () => {
    const head = fitOn(first, true)
    const plain = fitOn(first, false)
    for (const c of [1, 7]) expect(pOf(head, c)).toBeGreaterThan(0.7)
    for (const c of [0, 4]) expect(pOf(head, c)).toBeLessThan(0.3)
    for (const c of [0, 1, 4, 7]) expect(Math.abs(pOf(head, c) - pOf(plain, c))).toBeLessThan(0.05)
  })

  it('is a stationary point of the objective with those priors', () => {
    const rows = then
    const y = rows.map((i) => (i < 100 ? classes[i] % 2 : 0))
    const weights = rows.map(clarity)
    const o = { weights, ...classEvidencePriors(all, 10, rows, weights, null) }
    const head = fitLogistic(all, 10, rows, y, o)
    expect(maxAbs(gradient(all, 10, rows, y, head.weights, head.bias, o))).toBeLessThan(1e-8)
  })
})

describe('predictLogistic', () => {
  it('equals sigmoid(w.x + b) for every row', () => {
    const head: HeadParams = { weights: Float64Array.from([0.5, -1.25, 2]), bias: -0.3 }
    const x = Float32Array.from([1, 2, 3, -1, 0, 0.5, 0, 0, 0, 10, -10, 4])
    const p = predictLogistic(head, x, 3)
    expect(p).toHaveLength(4)
    for (let i = 0; i < 4; i++) {
      const z = head.bias + head.weights[0] * x[3 * i] + head.weights[1] * x[3 * i + 1] + head.weights[2] * x[3 * i + 2]
      expect(p[i]).toBeCloseTo(1 / (1 + Math.exp(-z)), 6)
    }
    expect(p[2]).toBeCloseTo(sigmoid(-0.3), 6)
  })

  it('writes into the array it is given', () => {
    const head: HeadParams = { weights: Float64Array.from([1]), bias: 0 }
    const out = new Float32Array(2)
    expect(predictLogistic(head, Float32Array.from([0, 100]), 1, out)).toBe(out)
    expect(Array.from(out)).toEqual([0.5, 1])
  })

  it('is the sigmoid of logits(), which sums each row as a row on its own would, bit for bit', () => {
    const dim = 7
    const x = Float32Array.from({ length: 11 * dim }, (_, i) => Math.sin(i * 1.7) * 3)
    const head: HeadParams = { weights: Float64Array.from({ length: dim }, (_, j) => Math.cos(j) * 2.5), bias: 0.125 }
    const z = logits(head, x, dim)
    expect(z).toHaveLength(11)
    for (let i = 0; i < 11; i++) {
      let s = head.bias
      for (let j = 0; j < dim; j++) s += head.weights[j] * x[i * dim + j]
      expect(z[i]).toBe(s)
    }
    expect(Array.from(predictLogistic(head, x, dim))).toEqual(Array.from(z, probability))
  })

  it('by logit, gives the bin and the side of 0.5 that the stored P gives, at the edges too', () => {
    const z: number[] = []
    for (let k = 1; k < BINS; k++) {
      const edge = Math.log(k / (BINS - k))
      for (let d = -3e-5; d <= 3e-5; d += 1e-8) z.push(edge + d)
    }
    for (let d = -3e-6; d <= 3e-6; d += 1e-10) z.push(d)
    for (let i = 0; i < 20000; i++) z.push(Math.sin(i) * 12)
    // Every cell and its borders, and logits far out (past an int32 cell).
    for (let v = -3; v <= 3; v += 1.3e-4) z.push(v)
    z.push(-Infinity, -1e300, -1e7, -1e6, -999999, 999999, 1e6, 1e7, 1e300, Infinity)
    const bins = binsOfLogits(Float64Array.from(z))
    z.forEach((v, i) => {
      if (bins[i] !== binOfP(probability(v)) || positiveAt(v) !== probability(v) >= 0.5) expect([v, bins[i], positiveAt(v)]).toBe(null)
    })
    expect(new Set(bins).size).toBe(BINS)
    expect(binsOfLogits(Float64Array.from(z), new Uint8Array(z.length).fill(7))).toEqual(bins)
  })

  it('sigmoid is stable at the extremes', () => {
    expect(sigmoid(0)).toBe(0.5)
    expect(sigmoid(800)).toBe(1)
    expect(sigmoid(-800)).toBe(0)
  })
})

describe('the dual (Woodbury) fit for wide features', () => {
  it('finds the primal optimum at 1,280 features with 40 labels: gradient ~ 0, same weights, deterministic', () => {
    const dim = 1280
    const { x, y, rows } = blobs(40, dim, 3, 1, 11)
    const dual = fitLogisticDual(x, dim, rows, y)
    // The optimality condition of the very objective the primal solves.
    const g = gradient(x, dim, rows, y, dual.weights, dual.bias)
    expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-9)
    expect(fitLogistic(x, dim, rows, y)).toEqual(dual) // fitLogistic picks the dual here
    expect(fitLogisticDual(x, dim, rows, y)).toEqual(dual)
  })

  it('agrees with the primal fit where both are cheap (200 features, 30 labels, some saturating; scales and weights too)', () => {
    const dim = 200
    const { x, y, rows } = blobs(30, dim, 8, 0.5, 5)
    const scale = Float64Array.from({ length: dim }, (_, j) => 0.5 + (j % 3) / 2)
    for (const o of [{}, { eps: 0 }, { scale, weights: rows.map((i) => 1 + (i % 2)) }] as FitOptions[]) {
      const dual = fitLogisticDual(x, dim, rows, y, o)
      const primal = fitLogisticPrimal(x, dim, rows, y, o)
      for (let j = 0; j < dim; j++) expect(Math.abs(dual.weights[j] - primal.weights[j])).toBeLessThan(1e-7)
      expect(Math.abs(dual.bias - primal.bias)).toBeLessThan(1e-7)
    }
  })

  it("one Newton step per answer through the kernel is the primal's step (200 features, 30 labels; scales and weights too)", () => {
    const dim = 200
    const { x, y, rows } = blobs(30, dim, 4, 1, 6)
    y[3] = 1 - y[3] // an answer the others contradict
    const scale = Float64Array.from({ length: dim }, (_, j) => 0.5 + (j % 3) / 2)
    for (const o of [{}, { scale, weights: rows.map((i) => 1 + (i % 2)) }] as FitOptions[]) {
      const head = fitLogisticDual(x, dim, rows, y, o)
      const dual = leaveOneOutScoresDual(x, dim, rows, y, head, { ...o, kernel: new KernelCache(x, dim, o.scale ?? null, L2) })
      const primal = leaveOneOutScores(x, dim, rows, y, head, o)
      for (let k = 0; k < rows.length; k++) expect(Math.abs(dual[k] - primal[k])).toBeLessThan(1e-8)
      expect(Math.sign(dual[3])).toBe(y[3] ? -1 : 1)
    }
  })

  it('a refit started from the full fit (one answer left out) finds the optimum a fit from zero finds', () => {
    const dim = 1280
    const { x, y, rows } = blobs(40, dim, 3, 1, 12)
    const full = fitLogisticDual(x, dim, rows, y)
    const keep = rows.filter((r) => r !== 7)
    const ys = keep.map((r) => y[r])
    const warm = fitLogisticDual(x, dim, keep, ys, { init: full })
    const cold = fitLogisticDual(x, dim, keep, ys)
    for (let j = 0; j < dim; j++) expect(Math.abs(warm.weights[j] - cold.weights[j])).toBeLessThan(1e-9)
    expect(Math.abs(warm.bias - cold.bias)).toBeLessThan(1e-9)
    expect(fitLogisticDual(x, dim, keep, ys, { init: full })).toEqual(warm)
  })

  it('narrow features, or more labels than features, keep the primal fit bit for bit', () => {
    const { x, y, rows } = blobs(12, 10, 2, 1, 3)
    expect(fitLogistic(x, 10, rows, y)).toEqual(fitLogisticPrimal(x, 10, rows, y))
    const wide = blobs(120, 100, 2, 1, 4)
    expect(fitLogistic(wide.x, 100, wide.rows, wide.y)).toEqual(fitLogisticPrimal(wide.x, 100, wide.rows, wide.y))
  })
})

describe('the Cholesky factor', () => {
  /** The textbook factor, one entry at a time. */
  function textbook(a: Float64Array, d: number): Float64Array {
    const l = new Float64Array(d * d)
    for (let i = 0; i < d; i++)
      for (let j = 0; j <= i; j++) {
        let s = a[i * d + j]
        for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k]
        l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * d + j]
      }
    return l
  }

  it('is the textbook factor bit for bit, four entries at a time (sizes 1 to 41, well and badly conditioned)', () => {
    const rng = new Rng(9)
    for (let d = 1; d <= 41; d++)
      for (const ridge of [1, 1e-8]) {
        const b = Float64Array.from({ length: d * d }, () => rng.next() - 0.5)
        const a = new Float64Array(d * d)
        for (let i = 0; i < d; i++)
          for (let j = 0; j < d; j++) {
            let s = i === j ? ridge : 0
            for (let k = 0; k < d; k++) s += b[i * d + k] * b[j * d + k]
            a[i * d + j] = s
          }
        expect(cholesky(a, d)).toEqual(textbook(a, d))
      }
  })

  it('less one row and column, by rotations from the factor, is the factor of the smaller matrix', () => {
    const rng = new Rng(10)
    const d = 30
    const b = Float64Array.from({ length: d * d }, () => rng.next() - 0.5)
    const a = new Float64Array(d * d)
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = i === j ? 0.1 : 0
        for (let k = 0; k < d; k++) s += b[i * d + k] * b[j * d + k]
        a[i * d + j] = s
      }
    const l = cholesky(a, d)
    for (const at of [0, 1, 13, d - 2, d - 1]) {
      const keep = Array.from({ length: d }, (_, i) => i).filter((i) => i !== at)
      const smaller = Float64Array.from({ length: (d - 1) ** 2 }, (_, k) => a[keep[Math.floor(k / (d - 1))] * d + keep[k % (d - 1)]])
      const want = cholesky(smaller, d - 1)
      const got = withoutRow(l, d, at)
      got.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(1e-12))
    }
  })
})
