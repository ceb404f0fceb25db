import { describe, it, expect } from 'vitest'
import { logits } from '../../../src/main/engine/head'
import { WideLogits, wideLogitsOf } from '../../../src/main/engine/wide-logits'
import { Rng } from '../../../src/main/util/rng'

function matrix(count: number, dim: number, seed: number) {
  const rng = new Rng(seed)
  const data = Float32Array.from({ length: count * dim }, () => Math.max(0, rng.next() * 6 - 2))
  const head = { weights: Float64Array.from({ length: dim }, () => rng.next() - 0.5), bias: rng.next() - 0.5 }
  return { m: { count, dim, data }, head }
}

describe('wide logits in WebAssembly', () => {
  it('are the numbers logits() gives, bit for bit, for whole matrices and for stretches of rows', () => {
    for (const [count, dim] of [
      [1000, 1280],
      [37, 65],
      [5, 1280],
      [16, 3],
      [33, 100]
    ]) {
      const { m, head } = matrix(count, dim, count + dim)
      const want = logits(head, m.data, dim)
      const wide = WideLogits.of(m)!
      const got = new Float64Array(count)
      wide.logits(head, 0, count, got)
      expect(got).toEqual(want)
      const parts = new Float64Array(count).fill(NaN)
      for (let from = 0; from < count; from += 16) wide.logits(head, from, Math.min(count, from + 16), parts)
      expect(parts).toEqual(want)
      // Another head on the same copy of the rows.
      const other = { weights: head.weights.map((w) => -2 * w), bias: 3 }
      wide.logits(other, 0, count, got)
      expect(got).toEqual(logits(other, m.data, dim))
    }
  })

  it('is made once per matrix, and refuses stretches that do not start a block of 16 rows', () => {
    const { m, head } = matrix(40, 70, 1)
    expect(wideLogitsOf(m)).toBe(wideLogitsOf(m))
    expect(() => wideLogitsOf(m)!.logits(head, 8, 40, new Float64Array(40))).toThrow(/rows 8\.\.40 of 40/)
    expect(WideLogits.of({ count: 0, dim: 70, data: new Float32Array(0) })).toBeNull()
  })
})
