import { describe, it, expect } from 'vitest'
import { query, QueryContext, iterationRng, UncertaintyScan } from '../../../src/main/engine/strategies'
import { STRATEGIES, StrategyName } from '../../../src/shared/contract'
import { Rng } from '../../../src/main/util/rng'

const N = 500

/** A pool of N images with spread-out p and 10-d softmax-like features. */
function context(over: Partial<QueryContext> = {}, seed = 1): QueryContext {
  const rng = new Rng(1000 + seed)
  const p = Float32Array.from({ length: N }, () => rng.next())
  const features = new Float32Array(N * 10)
  for (let i = 0; i < N; i++) {
    let s = 0
    for (let j = 0; j < 10; j++) s += features[i * 10 + j] = rng.next() ** 4
    for (let j = 0; j < 10; j++) features[i * 10 + j] /= s
  }
  const excluded = new Uint8Array(N)
  for (let i = 0; i < N; i += 7) excluded[i] = 1
  return { p, features, dim: 10, excluded, labelled: [], iteration: 0, batchSize: 8, seed: 1, coldStartBatches: 3, ...over }
}

const ascending = (s: number[]) => s.every((v, i) => i === 0 || s[i - 1] <= v)

describe.each(STRATEGIES.map((s) => [s]))('%s', (strategy: StrategyName) => {
  it('asks batchSize unique images, never an excluded one, with a score each', () => {
    for (const iteration of [0, 1, 3, 6]) {
      const ctx = context({ iteration })
      const q = query(strategy, ctx)
      expect(q.ids).toHaveLength(8)
      expect(new Set(q.ids).size).toBe(8)
      expect(q.scores).toHaveLength(8)
      for (const id of q.ids) {
        expect(Number.isInteger(id) && id >= 0 && id < N).toBe(true)
        expect(ctx.excluded[id]).toBe(0)
      }
    }
  })

  it('is deterministic for the same seed and iteration', () => {
    for (const iteration of [0, 2, 5]) {
      const a = query(strategy, context({ iteration, seed: 3 }))
      const b = query(strategy, context({ iteration, seed: 3 }))
      expect(b).toEqual(a)
    }
  })

  it('differs across seeds where there is a choice to make', () => {
    // Before any label every p is 0.5: every strategy must break the tie by the seed.
    const flat = (seed: number) => context({ seed, p: new Float32Array(N).fill(0.5) })
    const picks = [1, 2, 3, 4].map((seed) => query(strategy, flat(seed)).ids.join(','))
    expect(new Set(picks).size).toBe(4)
  })

  it('never asks an excluded image, even when few are left', () => {
    const ctx = context()
    ctx.excluded.fill(1)
    const left = [13, 250, 499]
    for (const i of left) ctx.excluded[i] = 0
    for (const iteration of [0, 5]) {
      const q = query(strategy, { ...ctx, iteration })
      expect([...q.ids].sort((a, b) => a - b)).toEqual(left)
    }
    ctx.excluded.fill(1)
    expect(query(strategy, ctx).ids).toEqual([])
  })

  it('keeps the asked images out when they are excluded next time (a whole run never repeats)', () => {
    const ctx = context({ batchSize: 10 })
    const asked = new Set<number>()
    for (let iteration = 0; iteration < 12; iteration++) {
      const q = query(strategy, { ...ctx, iteration, labelled: [...asked] })
      for (const id of q.ids) {
        expect(asked.has(id)).toBe(false)
        asked.add(id)
        ctx.excluded[id] = 1
      }
    }
    expect(asked.size).toBe(120)
  })
})

describe('random', () => {
  it('changes from iteration to iteration and is not ordered by p', () => {
    const a = query('random', context({ iteration: 0 })).ids
    const b = query('random', context({ iteration: 1 })).ids
    expect(b).not.toEqual(a)
    expect(ascending(query('random', context()).scores)).toBe(true)
  })

  it('is roughly uniform over the pool', () => {
    const ctx = context({ batchSize: 50 })
    let sum = 0
    for (let it = 0; it < 20; it++) for (const id of query('random', { ...ctx, iteration: it }).ids) sum += id
    expect(sum / 1000).toBeGreaterThan(N / 2 - 30)
    expect(sum / 1000).toBeLessThan(N / 2 + 30)
  })
})

describe('uncertainty', () => {
  it('returns the images with the smallest |p - 0.5|, nearest first', () => {
    const ctx = context({ batchSize: 12 })
    const q = query('uncertainty', ctx)
    const want = Array.from({ length: N }, (_, i) => i)
      .filter((i) => !ctx.excluded[i])
      .sort((a, b) => Math.abs(ctx.p[a] - 0.5) - Math.abs(ctx.p[b] - 0.5))
      .slice(0, 12)
    expect(q.ids).toEqual(want)
    expect(q.scores).toEqual(want.map((i) => Math.abs(ctx.p[i] - 0.5)))
    expect(ascending(q.scores)).toBe(true)
  })

  it('ignores the seed when there are no ties', () => {
    expect(query('uncertainty', context({ seed: 9 })).ids).toEqual(query('uncertainty', context({ seed: 1 })).ids)
  })

  it("asks the same from the exact head's logits as from P, ties and blur included", () => {
    const rng = new Rng(77)
    // Logits near 0 (P ties in float32), far out, and a run at exactly 0 (all tied: the seeded key decides).
    const logits = Float64Array.from({ length: N }, (_, i) => (i < 40 ? 0 : i < 200 ? (rng.next() - 0.5) * 1e-6 : (rng.next() - 0.5) * 20))
    const p = Float32Array.from(logits, (z) => 1 / (1 + Math.exp(-z)))
    const blur = Float32Array.from({ length: N }, () => rng.next() * 0.01)
    for (const over of [{}, { blur }, { batchSize: 50 }, { batchSize: 300, seed: 4 }]) {
      const fromP = query('uncertainty', context({ ...over, p }))
      const fromLogits = query('uncertainty', context({ ...over, p: new Float32Array(N).fill(NaN), logits }))
      expect(fromLogits).toEqual(fromP)
    }
  })

  it('scanned in stretches before more images are excluded, asks what a query after them asks', () => {
    const rng = new Rng(78)
    const logits = Float64Array.from({ length: N }, (_, i) => (i < 60 ? 0 : i < 200 ? (rng.next() - 0.5) * 1e-6 : (rng.next() - 0.5) * 20))
    for (const over of [{}, { blur: Float32Array.from({ length: N }, () => rng.next() * 0.01) }, { seed: 5, iteration: 3 }]) {
      const ctx = context({ ...over, logits, batchSize: 6 })
      const scan = new UncertaintyScan(ctx, 6)
      for (let from = 0; from < N; from += 64) scan.scan(from, Math.min(N, from + 64))
      expect(scan.query).toEqual(query('uncertainty', ctx))
      // The checks then take some of the batch, the scan's own picks among them.
      for (const taken of [[], [scan.query.ids[0]], [scan.query.ids[1], 77, scan.query.ids[4]], scan.query.ids.slice(0, 5)]) {
        const excluded = ctx.excluded.slice()
        const later = { ...ctx, excluded }
        const after = new UncertaintyScan(later, 6)
        after.scan(0, N)
        for (const id of taken) excluded[id] = 1
        expect(after.after(6 - taken.length)).toEqual(query('uncertainty', { ...later, batchSize: 6 - taken.length }))
      }
    }
  })

  it('skips an excluded image even when it is the most uncertain', () => {
    const ctx = context()
    ctx.p[3] = 0.5
    ctx.excluded[3] = 1
    expect(query('uncertainty', ctx).ids).not.toContain(3)
    ctx.excluded[3] = 0
    expect(query('uncertainty', ctx).ids[0]).toBe(3)
  })
})

describe('seed-window', () => {
  // The 2019 demo: (0,1), (0.1,0.9), (0.2,0.8), (0.3,0.7), then (0.4,0.6) for ever.
  const windows: [number, number, number][] = [
    [0, 0, 1],
    [1, 0.1, 0.9],
    [2, 0.2, 0.8],
    [3, 0.3, 0.7],
    [4, 0.4, 0.6],
    [9, 0.4, 0.6]
  ]

  it.each(windows)('iteration %d asks only inside (%d, %d) when the window holds enough', (iteration, lo, hi) => {
    for (const seed of [1, 2, 3]) {
      const q = query('seed-window', context({ iteration, seed, batchSize: 8 }))
      const ctx = context({ iteration, seed })
      expect(q.ids).toHaveLength(8)
      for (const id of q.ids) {
        expect(ctx.p[id]).toBeGreaterThan(lo)
        expect(ctx.p[id]).toBeLessThan(hi)
      }
      expect(ascending(q.scores)).toBe(true)
    }
  })

  it('picks at random inside the window, not the most uncertain', () => {
    const ctx = context({ iteration: 2, batchSize: 8 })
    const ranked = query('uncertainty', ctx).ids
    const picks = [1, 2, 3].map((seed) => query('seed-window', { ...ctx, seed }).ids)
    for (const p of picks) expect(p).not.toEqual(ranked)
    // Some picks are far from 0.5 (beyond the 40 most uncertain of ~430 inside).
    const far = picks.flat().filter((i) => Math.abs(ctx.p[i] - 0.5) > 0.15)
    expect(far.length).toBeGreaterThan(0)
    expect(new Set(picks.map((p) => p.join())).size).toBe(3)
  })

  it('excludes p = 0 and p = 1 even in the widest window', () => {
    const p = new Float32Array(N)
    for (let i = 0; i < N; i++) p[i] = i % 2 // every image certain
    p[10] = 0.999
    p[20] = 0.001
    const q = query('seed-window', context({ p, iteration: 0, batchSize: 2 }))
    expect([...q.ids].sort((a, b) => a - b)).toEqual([10, 20])
    expect(q.scores.every((s) => s < 1)).toBe(true)
  })

  it('fills from the nearest to 0.5 when the window holds too few', () => {
    const ctx = context({ iteration: 4, batchSize: 6 })
    // Only 2 images inside (0.4, 0.6); the rest of the pool is further away.
    for (let i = 0; i < N; i++) ctx.p[i] = i % 2 ? 0.05 + (i / N) * 0.3 : 0.95 - (i / N) * 0.3
    ctx.p[100] = 0.45
    ctx.p[201] = 0.58
    // The nearest outside the window, among images not excluded.
    const outside = Array.from({ length: N }, (_, i) => i)
      .filter((i) => !ctx.excluded[i] && i !== 100 && i !== 201)
      .sort((a, b) => Math.abs(ctx.p[a] - 0.5) - Math.abs(ctx.p[b] - 0.5))
    const q = query('seed-window', ctx)
    expect(q.ids).toHaveLength(6)
    expect(new Set(q.ids.slice(0, 2))).toEqual(new Set([100, 201]))
    expect(q.ids.slice(2)).toEqual(outside.slice(0, 4))
    // Filled ones come after the window's (lower is asked first).
    expect(q.scores.slice(0, 2).every((s) => s < 1)).toBe(true)
    expect(q.scores.slice(2).every((s) => s >= 1)).toBe(true)
    expect(ascending(q.scores)).toBe(true)
  })

  it('fills the whole batch by uncertainty when the window is empty', () => {
    const ctx = context({ iteration: 5, batchSize: 4, p: Float32Array.from({ length: N }, (_, i) => (i % 2 ? 0.9 : 0.1) + (i / N) * 0.05) })
    const want = query('uncertainty', ctx).ids
    expect(query('seed-window', ctx).ids).toEqual(want)
  })
})

describe('diverse', () => {
  /** 10 tight clusters of one-hot-ish rows, 30 images each, interleaved in the pool. */
  function clusters(seed: number): { ctx: QueryContext; cluster: number[] } {
    const rng = new Rng(seed)
    const n = 300
    const features = new Float32Array(n * 10)
    const cluster: number[] = []
    for (let i = 0; i < n; i++) {
      const c = (i * 7 + Math.floor(i / 10)) % 10
      cluster.push(c)
      let s = 0
      for (let j = 0; j < 10; j++) s += features[i * 10 + j] = (j === c ? 0.9 : 0.01) + rng.next() * 0.02
      for (let j = 0; j < 10; j++) features[i * 10 + j] /= s
    }
    const p = Float32Array.from({ length: n }, () => 0.5)
    return {
      ctx: { p, features, dim: 10, excluded: new Uint8Array(n), labelled: [], iteration: 0, batchSize: 4, seed, coldStartBatches: 3 },
      cluster
    }
  }

  it('covers every cluster before it repeats one, across the cold-start batches', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { ctx, cluster } = clusters(seed)
      const asked: number[] = []
      for (let iteration = 0; iteration < 3; iteration++) {
        const q = query('diverse', { ...ctx, iteration, labelled: [...asked] })
        for (const id of q.ids) ctx.excluded[id] = 1
        asked.push(...q.ids)
      }
      expect(asked).toHaveLength(12)
      expect(new Set(asked.slice(0, 10).map((i) => cluster[i])).size).toBe(10)
    }
  })

  it('covers every cluster within one big batch too', () => {
    const { ctx, cluster } = clusters(7)
    const q = query('diverse', { ...ctx, batchSize: 10 })
    expect(new Set(q.ids.map((i) => cluster[i])).size).toBe(10)
  })

  it('starts from a seeded random image', () => {
    const firsts = [1, 2, 3, 4, 5, 6].map((seed) => query('diverse', { ...clusters(1).ctx, seed }).ids[0])
    expect(new Set(firsts).size).toBeGreaterThan(3)
  })

  it('stays away from what is already labelled', () => {
    const { ctx, cluster } = clusters(8)
    const labelled = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].filter((i) => cluster[i] < 5)
    for (const i of labelled) ctx.excluded[i] = 1
    const q = query('diverse', { ...ctx, labelled, iteration: 1, batchSize: 5 })
    expect(new Set(q.ids.map((i) => cluster[i]))).toEqual(new Set([5, 6, 7, 8, 9]))
    // Each score is minus the distance to the nearest labelled image or earlier pick.
    q.ids.forEach((id, k) => {
      const d = Math.min(
        ...[...labelled, ...q.ids.slice(0, k)].map((o) =>
          Math.hypot(...Array.from({ length: 10 }, (_, j) => ctx.features[id * 10 + j] - ctx.features[o * 10 + j]))
        )
      )
      expect(q.scores[k]).toBeCloseTo(-d, 5)
    })
  })

  it('draws its picks: two seeds cover the same clusters with other images', () => {
    const picks = [1, 2].map((seed) => {
      const { ctx } = clusters(1)
      return query('diverse', { ...ctx, seed, batchSize: 10 }).ids
    })
    expect(picks[0].filter((id) => picks[1].includes(id)).length).toBeLessThanOrEqual(2)
  })

  it('turns into uncertainty after the cold-start batches', () => {
    const ctx = context({ coldStartBatches: 2 })
    expect(query('diverse', { ...ctx, iteration: 1 }).ids).not.toEqual(query('uncertainty', { ...ctx, iteration: 1 }).ids)
    for (const iteration of [2, 3, 10]) expect(query('diverse', { ...ctx, iteration })).toEqual(query('uncertainty', { ...ctx, iteration }))
  })
})

describe('iterationRng', () => {
  it('depends on the seed and the iteration only', () => {
    const draw = (seed: number, it: number) =>
      Array.from(
        { length: 4 },
        (
          (r) => () =>
            r.next()
        )(iterationRng(seed, it))
      )
    expect(draw(1, 0)).toEqual(draw(1, 0))
    expect(draw(1, 1)).not.toEqual(draw(1, 0))
    expect(draw(2, 0)).not.toEqual(draw(1, 0))
  })

  it('ahead(k) is the (k + 1)-th draw, without drawing', () => {
    for (const seed of [0, 1, -3, 0x7fffffff]) {
      const r = iterationRng(seed, 5)
      const keys = Array.from({ length: 5000 }, (_, k) => r.ahead(k))
      expect(Array.from({ length: 5000 }, () => r.next())).toEqual(keys)
    }
  })
})
