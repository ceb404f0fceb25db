import { describe, it, expect } from 'vitest'
import { cholesky, solveCholesky } from '../../../src/main/engine/head'
import { SolveMany } from '../../../src/main/engine/solve-many'
import { Rng } from '../../../src/main/util/rng'

/** A kernel-like SPD matrix: Z Z^T + l2 I for n random rows of dim features. */
function spd(n: number, dim: number, seed: number): Float64Array {
  const rng = new Rng(seed)
  const z = Array.from({ length: n * dim }, () => rng.next() - 0.3)
  const a = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? 0.2 : 0
      for (let t = 0; t < dim; t++) s += z[i * dim + t] * z[j * dim + t]
      a[i * n + j] = s
    }
  return a
}

describe('SolveMany', () => {
  it.each([1, 2, 7, 40])('solves %i right-hand sides at once, each column bit for bit as solveCholesky alone', (m) => {
    const n = 37
    const l = cholesky(spd(n, 50, m), n)
    const rng = new Rng(100 + m)
    const cols = Array.from({ length: m }, () => Float64Array.from({ length: n }, () => rng.next() * 4 - 2))
    const b = new Float64Array(n * m)
    cols.forEach((c, j) => c.forEach((v, i) => (b[i * m + j] = v)))
    const solver = new SolveMany(l, n, n)
    expect(solver.inWasm).toBe(true)
    solver.solve(b, m)
    cols.forEach((c, j) => {
      const alone = solveCholesky(l, c, n)
      expect(Array.from({ length: n }, (_, i) => b[i * m + j])).toEqual(Array.from(alone))
    })
  })

  it('forward only: L Z = B, as row-by-row forward substitution', () => {
    const n = 24
    const m = 9
    const l = cholesky(spd(n, 30, 5), n)
    const rng = new Rng(6)
    const b = Float64Array.from({ length: n * m }, () => rng.next() - 0.5)
    const want = b.slice()
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < i; p++) for (let j = 0; j < m; j++) want[i * m + j] -= l[i * n + p] * want[p * m + j]
      for (let j = 0; j < m; j++) want[i * m + j] /= l[i * n + i]
    }
    new SolveMany(l, n, n).solve(b, m, false)
    expect(Array.from(b)).toEqual(Array.from(want))
  })
})
