import { describe, it, expect } from 'vitest'
import { logits } from '../../../src/main/engine/head'
import { SHARED_PRODUCTS, WideLogits, wideLogitsOf } from '../../../src/main/engine/wide-logits'
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

  it('scores a big job on two threads, with the same numbers bit for bit, whoever scores which rows', async () => {
    // 4,100 x 1,000: 257 blocks of 16 rows, in 9 chunks (the last short, its last block too).
    const { m, head } = matrix(4100, 1000, 7)
    expect(m.count * m.dim).toBeGreaterThanOrEqual(SHARED_PRODUCTS)
    const want = logits(head, m.data, m.dim)
    const wide = WideLogits.of(m)!
    expect(wide.shares(m.count)).toBe(true)
    const got = new Float64Array(m.count)
    // The helper thread starts with the matrix: until it is up, each job is scored here alone.
    const helped: number[] = []
    for (let k = 0; k < 200 && !helped.some((n) => n > 0); k++) {
      got.fill(NaN)
      wide.logits(head, 0, m.count, got)
      expect(got).toEqual(want)
      helped.push(wide.helped)
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(helped.at(-1)).toBeGreaterThan(0)
    // Jobs in a row without a pause, with other heads, and a stretch that starts past row 0.
    for (let k = 0; k < 20; k++) {
      const other = { weights: head.weights.map((w) => w * (k - 10)), bias: k }
      wide.logits(other, 0, m.count, got)
      expect(got).toEqual(logits(other, m.data, m.dim))
    }
    const part = new Float64Array(m.count).fill(NaN)
    wide.logits(head, 96, m.count, part)
    expect(part.subarray(96)).toEqual(want.subarray(96))
    expect(part.subarray(0, 96).every(Number.isNaN)).toBe(true)
  })
})
