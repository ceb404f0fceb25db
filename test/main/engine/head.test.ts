import { describe, it, expect } from 'vitest'
import {
  fitLogistic,
  fitLogisticDual,
  fitLogisticPrimal,
  predictLogistic,
  sigmoid,
  L2,
  BIAS_L2,
  HeadParams
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

/** The objective's gradient: mean BCE + (l2/2)|w|^2 + (BIAS_L2/2)b^2. */
function gradient(x: Float32Array, dim: number, rows: number[], y: number[], w: ArrayLike<number>, b: number, l2: number): Float64Array {
  const g = new Float64Array(dim + 1)
  for (let k = 0; k < rows.length; k++) {
    let z = b
    for (let j = 0; j < dim; j++) z += w[j] * x[rows[k] * dim + j]
    const r = (sigmoid(z) - y[k]) / rows.length
    for (let j = 0; j < dim; j++) g[j] += r * x[rows[k] * dim + j]
    g[dim] += r
  }
  for (let j = 0; j < dim; j++) g[j] += l2 * w[j]
  g[dim] += BIAS_L2 * b
  return g
}

/** The reference: plain gradient descent on the same objective, run to convergence. */
function gradientDescent(x: Float32Array, dim: number, rows: number[], y: number[], l2: number, lr: number, steps: number) {
  const w = new Float64Array(dim)
  let b = 0
  for (let s = 0; s < steps; s++) {
    const g = gradient(x, dim, rows, y, w, b, l2)
    for (let j = 0; j < dim; j++) w[j] -= lr * g[j]
    b -= lr * g[dim]
  }
  return { w, b, g: gradient(x, dim, rows, y, w, b, l2) }
}

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs))

/** n softmax-like rows of 10: row i peaks at class i % 10. */
function simplex(n: number, seed: number): { x: Float32Array; classes: number[] } {
  const rng = new Rng(seed)
  const x = new Float32Array(n * 10)
  const classes: number[] = []
  for (let i = 0; i < n; i++) {
    const c = i % 10
    classes.push(c)
    let s = 0
    for (let j = 0; j < 10; j++) s += x[i * 10 + j] = j === c ? 20 : rng.next()
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

  it('agrees with plain gradient descent on the same regularised objective', () => {
    for (const [l2, seed] of [
      [L2, 2],
      [0.1, 3]
    ] as const) {
      // Overlapping classes keep the optimum well inside the plane, so gradient descent converges.
      const d = blobs(60, 5, 1, 1, seed)
      const ref = gradientDescent(d.x, 5, d.rows, d.y, l2, 1, 60000)
      expect(maxAbs(ref.g)).toBeLessThan(1e-9) // the reference really converged
      const head = fitLogistic(d.x, 5, d.rows, d.y, l2)
      for (let j = 0; j < 5; j++) expect(Math.abs(head.weights[j] - ref.w[j])).toBeLessThan(1e-4)
      expect(Math.abs(head.bias - ref.b)).toBeLessThan(1e-4)
      // And it is a stationary point of the objective, to far better than 1e-4.
      expect(maxAbs(gradient(d.x, 5, d.rows, d.y, head.weights, head.bias, l2))).toBeLessThan(1e-8)
    }
  })

  it('minimises the mean loss: repeating every answer changes nothing', () => {
    const d = blobs(30, 4, 1.5, 1, 4)
    const once = fitLogistic(d.x, 4, d.rows, d.y)
    const twice = fitLogistic(d.x, 4, [...d.rows, ...d.rows], [...d.y, ...d.y])
    for (let j = 0; j < 4; j++) expect(twice.weights[j]).toBeCloseTo(once.weights[j], 8)
    expect(twice.bias).toBeCloseTo(once.bias, 8)
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
    expect(maxAbs(gradient(x, 10, rows, y, head.weights, head.bias, L2))).toBeLessThan(1e-8)
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
    const g = gradient(x, dim, rows, y, dual.weights, dual.bias, L2)
    expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-9)
    expect(fitLogistic(x, dim, rows, y)).toEqual(dual) // fitLogistic picks the dual here
    expect(fitLogisticDual(x, dim, rows, y)).toEqual(dual)
  })

  it('agrees with the primal Newton fit where both are cheap (200 features, 30 labels, some saturating)', () => {
    const dim = 200
    const { x, y, rows } = blobs(30, dim, 8, 0.5, 5)
    const dual = fitLogisticDual(x, dim, rows, y)
    const primal = fitLogisticPrimal(x, dim, rows, y)
    for (let j = 0; j < dim; j++) expect(Math.abs(dual.weights[j] - primal.weights[j])).toBeLessThan(1e-8)
    expect(Math.abs(dual.bias - primal.bias)).toBeLessThan(1e-8)
  })

  it('narrow features, or more labels than features, keep the primal fit bit for bit', () => {
    const { x, y, rows } = blobs(12, 10, 2, 1, 3)
    expect(fitLogistic(x, 10, rows, y)).toEqual(fitLogisticPrimal(x, 10, rows, y))
    const wide = blobs(120, 100, 2, 1, 4)
    expect(fitLogistic(wide.x, 100, wide.rows, wide.y)).toEqual(fitLogisticPrimal(wide.x, 100, wide.rows, wide.y))
  })
})
