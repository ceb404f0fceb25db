// The iteration's passes over the pool and the held-out split, on the real 60,000-image MNIST pool
// (the shipped features), against their plain twins: the same numbers where they are made.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { initBackend } from '../../../src/main/engine/backend'
import { prepare, disposePrepared, Prepared } from '../../../src/main/engine/setup'
import { changes, iterate, loopConfigOf } from '../../../src/main/engine/loop'
import type { Answer } from '../../../src/main/engine/learner'
import { positiveAt } from '../../../src/main/engine/head'
import { heldOutAgreement } from '../../../src/main/engine/trust'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'
import { tempDir } from '../../helpers/tmp'

const cache = tempDir('curator-cache-')
const savedCacheDir = process.env.CURATOR_CACHE_DIR
let p: Prepared

beforeAll(async () => {
  process.env.CURATOR_CACHE_DIR = cache.dir
  expect(await initBackend()).toBe('wasm')
  p = await prepare({ ...DEFAULT_CONFIG, strategy: 'uncertainty' }, { backend: 'wasm' })
}, 120_000)
afterAll(() => {
  disposePrepared(p)
  if (savedCacheDir === undefined) delete process.env.CURATOR_CACHE_DIR
  else process.env.CURATOR_CACHE_DIR = savedCacheDir
  cache.remove()
})

/** Ten iterations of uncertainty answered from the truth; calls check after each fit. */
async function session(check: () => void): Promise<void> {
  const cfg = loopConfigOf({ strategy: 'uncertainty', batchSize: 4 }, p.base)
  const batches: Answer[][] = []
  for (let k = 0; k < 10; k++) {
    const r = await iterate(p.learner, cfg, batches, [])
    check()
    batches.push(r.next.ids.map((id) => ({ id, value: p.poolTruth![id] as 0 | 1 })))
  }
}

describe('the iteration passes on the 60k pool', () => {
  it('the current fit predictions, sampled in the pool pass, are the signs of every step-th logit', async () => {
    expect(p.poolFeatures.count).toBe(60000)
    await session(() => {
      const z = p.learner.poolZ!
      const step = Math.floor(z.length / 20000)
      const twin = new Uint8Array(Math.ceil(z.length / step))
      for (let i = 0, k = 0; i < z.length; i += step, k++) twin[k] = z[i] >= 0 ? 1 : 0
      expect(step).toBe(3)
      expect(p.learner.predictionsAt(p.learner.answers).predicted).toEqual(twin)
      // A copy of the answers is the same fit.
      expect(p.learner.predictionsOf([...p.learner.answers]).predicted).toEqual(twin)
    })
  })

  it('the held-out answers are positiveAt of the logits, and heldOutAgreement counts what they get right', async () => {
    await session(() => {
      const { testZ, regions, testRegions } = p.learner
      const truth = p.testTruth!
      const predicted = p.learner.testPredicted!
      expect(predicted).toEqual(Uint8Array.from(testZ!, (z) => (positiveAt(z) ? 1 : 0)))
      const rows = new Int32Array(regions.count)
      const right = new Int32Array(regions.count)
      for (let i = 0; i < truth.length; i++) {
        if (truth[i] < 0) continue
        rows[testRegions![i]]++
        if (predicted[i] >= 0.5 === (truth[i] === 1)) right[testRegions![i]]++
      }
      expect(heldOutAgreement(regions, testRegions!, predicted, truth)).toEqual({ right, rows })
      // The learner's, counted in its pass over the split from the first iteration on.
      expect(p.learner.heldOutAgreement).toEqual({ right, rows })
    })
  })

  it('changes counts the places two arrays of 0s and 1s differ, four at a time or not (any start, any length)', () => {
    const bits = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((i * 2654435761 + seed * 40503) >>> 13) & 1)
    for (const n of [0, 1, 3, 4, 5, 20000, 20003]) {
      const [a, b] = [bits(n + 1, 1), bits(n + 1, 2)]
      for (const [x, y] of [
        [a.subarray(0, n), b.subarray(0, n)],
        [a.subarray(1), b.subarray(1)],
        [a.subarray(0, n), b.subarray(1)]
      ]) {
        let want = 0
        for (let i = 0; i < n; i++) if (x[i] !== y[i]) want++
        expect(changes(x, y)).toBe(want)
      }
    }
    expect(changes(bits(20000, 1), bits(20000, 1))).toBe(0)
  })
})
