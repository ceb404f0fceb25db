import { describe, it, expect } from 'vitest'
import { kernelMatrix, kernelTimes, kernelTimesInWasm } from '../../../src/main/engine/kernel-times'
import { Rng } from '../../../src/main/util/rng'

describe('kernel products in WebAssembly', () => {
  it('are the numbers the plain loop gives, bit for bit, at every size', () => {
    expect(kernelTimesInWasm()).toBe(true)
    const rng = new Rng(3)
    for (const n of [1, 3, 7, 8, 9, 15, 16, 17, 64, 117, 160, 203]) {
      const k = kernelMatrix(n)
      const plain = new Float64Array(n * n)
      for (let i = 0; i < n; i++)
        for (let j = 0; j <= i; j++) {
          const v = rng.next() * 4 - 1
          k[i * n + j] = k[j * n + i] = plain[i * n + j] = plain[j * n + i] = v
        }
      for (const scale of [1, 1e-300, 1e300]) {
        const a = Float64Array.from({ length: n }, (_, j) => (j % 5 === 0 ? -0 : (rng.next() - 0.5) * scale))
        const [got, want] = [new Float64Array(n).fill(NaN), new Float64Array(n).fill(NaN)]
        kernelTimes(k, n, a, got)
        kernelTimes(plain, n, a, want)
        // The plain loop, written out here: each row's products added in column order from 0.
        const loop = Float64Array.from({ length: n }, (_, i) => {
          let s = 0
          for (let j = 0; j < n; j++) s += plain[i * n + j] * a[j]
          return s
        })
        expect(got).toEqual(want)
        expect(want).toEqual(loop)
      }
    }
  })

  it('sees a matrix changed after a product (the memory is the matrix)', () => {
    const n = 12
    const k = kernelMatrix(n)
    k.fill(1)
    const a = new Float64Array(n).fill(2)
    const out = new Float64Array(n)
    kernelTimes(k, n, a, out)
    expect(out[0]).toBe(24)
    for (let i = 0; i < n; i++) k[i * n + i] += 0.5
    kernelTimes(k, n, a, out)
    expect([out[0], out[11]]).toEqual([25, 25])
  })
})
