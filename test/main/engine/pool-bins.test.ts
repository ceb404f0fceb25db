// The pool pass's histogram counted in WebAssembly: the same cells as binOfLogit gives.
import { describe, expect, it } from 'vitest'
import { binOfLogit, BINS } from '../../../src/main/engine/head'
import { BIN_ROWS, PoolBins } from '../../../src/main/engine/pool-bins'
import { Rng } from '../../../src/main/util/rng'

/** The cells of rows from..to-1 as binOfLogit gives them (by bin, then truth -1 / 0 / 1). */
function reference(z: Float64Array, truth: Int8Array | null): Int32Array {
  const cells = new Int32Array(BINS * 3)
  for (let i = 0; i < z.length; i++) cells[binOfLogit(z[i]) * 3 + (truth ? truth[i] + 1 : 0)]++
  return cells
}

/** PoolBins' cells over z, a stretch at a time, the listed edge rows counted by binOfLogit. */
function counted(bins: PoolBins, z: Float64Array, truth: Int8Array | null): { cells: Int32Array; edges: number } {
  const cells = new Int32Array(BINS * 3)
  let edges = 0
  bins.clear()
  for (let from = 0; from < z.length; from += BIN_ROWS) {
    const to = Math.min(z.length, from + BIN_ROWS)
    for (const e of bins.count(z, from, to, truth).edge) {
      edges++
      cells[binOfLogit(z[from + e]) * 3 + (truth ? truth[from + e] + 1 : 0)]++
    }
  }
  bins.addTo(cells)
  return { cells, edges }
}

describe('PoolBins', () => {
  const bins = PoolBins.make()!

  it('is made where WebAssembly runs (Node 20)', () => expect(bins).not.toBeNull())

  it('counts the cells binOfLogit gives: spread logits, the bin edges and their neighbours, extremes, NaN', () => {
    const rng = new Rng(3)
    const edges = Array.from({ length: BINS - 1 }, (_, k) => Math.log((k + 1) / (BINS - k - 1)))
    const values: number[] = [0, -0, Infinity, -Infinity, NaN, 1e6, -1e6, 1e300, -1e300, 2 ** 31, -(2 ** 31), 5e-324]
    for (const e of edges) for (let d = -50; d <= 50; d++) values.push(e + d * 3e-7, e * (1 + d * Number.EPSILON))
    while (values.length < 3 * BIN_ROWS + 123) values.push((rng.next() - 0.5) * (rng.next() < 0.5 ? 8 : 60))
    const z = Float64Array.from(values)
    const truth = Int8Array.from(values, () => Math.floor(rng.next() * 3) - 1)
    for (const t of [truth, null]) {
      const { cells, edges: listed } = counted(bins, z, t)
      expect(Array.from(cells)).toEqual(Array.from(reference(z, t)))
      expect(listed).toBeGreaterThan(0)
      expect(listed).toBeLessThan(z.length / 2)
    }
  })

  it('starts each pass over: clear() drops the counts of the last', () => {
    const z = Float64Array.from({ length: 100 }, (_, i) => i - 50)
    counted(bins, z, null)
    expect(Array.from(counted(bins, z, null).cells)).toEqual(Array.from(reference(z, null)))
  })

  it('lists the rows whose |z| is not at least the bar, ascending: every one of them, NaN too', () => {
    const rng = new Rng(5)
    const z = Float64Array.from({ length: BIN_ROWS }, (_, i) => (i === 77 ? NaN : (rng.next() - 0.5) * 20))
    for (const bar of [Infinity, 3, 0.5, 1e-3, 0]) {
      bins.clear()
      const { near } = bins.count(z, 0, z.length, null, bar)
      const want = Array.from(z.keys()).filter((i) => !(Math.abs(z[i]) >= bar))
      expect(Array.from(near)).toEqual(want)
    }
  })

  it('takes at most BIN_ROWS rows a call', () => {
    expect(() => bins.count(new Float64Array(BIN_ROWS + 1), 0, BIN_ROWS + 1, null)).toThrow(/at most/)
  })
})
