// "Why this image": the reasons are read back from what the real strategies return, and their
// numbers (rank, distance) must be what the strategies actually did, checked by brute force.
import { describe, it, expect } from 'vitest'
import { query, QueryContext } from '../../../src/main/engine/strategies'
import { AskedImage, nearestLabelled, whyAsked } from '../../../src/main/engine/why'
import { Rng } from '../../../src/main/util/rng'
import { formatP } from '../../../src/shared/format'

const N = 600
const DIM = 10

function context(over: Partial<QueryContext> = {}): QueryContext {
  const rng = new Rng(77)
  const p = Float32Array.from({ length: N }, () => rng.next())
  const features = new Float32Array(N * DIM)
  for (let i = 0; i < N; i++) {
    let s = 0
    for (let j = 0; j < DIM; j++) s += features[i * DIM + j] = rng.next() ** 4
    for (let j = 0; j < DIM; j++) features[i * DIM + j] /= s
  }
  const excluded = new Uint8Array(N)
  for (let i = 0; i < N; i += 5) excluded[i] = 1
  return { p, features, dim: DIM, excluded, labelled: [], iteration: 4, batchSize: 6, seed: 3, coldStartBatches: 3, ...over }
}

const free = (ctx: QueryContext) => ctx.excluded.reduce((n, x) => n + (x ? 0 : 1), 0)

/** What the studio hands the engine for image `k` of a query. */
const asked = (strategy: string, ctx: QueryContext, q: { ids: number[]; scores: number[] }, k: number, labelledBefore = 0): AskedImage => ({
  strategy,
  iteration: ctx.iteration,
  position: k,
  batch: q.ids.length,
  score: q.scores[k],
  p: ctx.p[q.ids[k]],
  candidates: free(ctx),
  labelledBefore,
  coldStartBatches: ctx.coldStartBatches
})

const dist = (f: Float32Array, a: number, b: number) => {
  let d = 0
  for (let j = 0; j < DIM; j++) d += (f[a * DIM + j] - f[b * DIM + j]) ** 2
  return Math.sqrt(d)
}

describe('why an image was asked', () => {
  it('uncertainty: the rank given is the image’s rank by |P - 0.5| among the images it was picked from', () => {
    const ctx = context()
    const q = query('uncertainty', ctx)
    q.ids.forEach((id, k) => {
      const r = whyAsked(asked('uncertainty', ctx, q, k))
      let closer = 0
      for (let i = 0; i < N; i++) if (!ctx.excluded[i] && Math.abs(ctx.p[i] - 0.5) < Math.abs(ctx.p[id] - 0.5)) closer++
      expect(r.kind).toBe('uncertain')
      expect(r.rank).toBe(closer + 1)
      expect(r.candidates).toBe(480)
      expect(r.text).toBe(`closest to the boundary: P ${formatP(ctx.p[id])}, rank ${closer + 1} of 480`)
    })
  })

  it('states P with the digits that keep it on its side of 0.5, and large counts with separators', () => {
    const r = whyAsked({
      strategy: 'uncertainty',
      iteration: 3,
      position: 0,
      batch: 4,
      score: 0.0004,
      p: 0.4996,
      candidates: 59988,
      labelledBefore: 12,
      coldStartBatches: 3
    })
    expect(r.text).toBe('closest to the boundary: P 0.4996, rank 1 of 59,988')
  })

  it('diverse after its cold start asks as uncertainty does, and says so', () => {
    const ctx = context({ iteration: 3 })
    const q = query('diverse', ctx)
    expect(whyAsked(asked('diverse', ctx, q, 0)).kind).toBe('uncertain')
  })

  it('diverse in its cold start (drawn far from the labels): the distance given is to the nearest labelled image or earlier pick of the batch', () => {
    const labelled = [3, 41, 99, 250]
    const ctx = context({ iteration: 1, labelled })
    for (const id of labelled) ctx.excluded[id] = 1
    const q = query('diverse', ctx)
    q.ids.forEach((id, k) => {
      const r = whyAsked(asked('diverse', ctx, q, k, labelled.length))
      const nearest = Math.min(...[...labelled, ...q.ids.slice(0, k)].map((o) => dist(ctx.features, id, o)))
      expect(r.kind).toBe('farthest')
      expect(r.rank).toBe(k + 1)
      expect(r.distance!).toBeCloseTo(nearest, 5)
      expect(r.text).toContain(`distance ${nearest.toFixed(3)} to the nearest of ${labelled.length + k} images`)
      if (k > 0) expect(r.text).toContain(`and the ${k} earlier pick${k === 1 ? '' : 's'} of its batch`)
    })
  })

  it('diverse before any label: the first pick is a seeded random start, the next ones are drawn far from it', () => {
    const ctx = context({ iteration: 0 })
    const q = query('diverse', ctx)
    expect(whyAsked(asked('diverse', ctx, q, 0)).kind).toBe('first-pick')
    expect(whyAsked(asked('diverse', ctx, q, 0)).text).toMatch(/^a seeded random first pick: nothing was labelled yet/)
    const second = whyAsked(asked('diverse', ctx, q, 1))
    expect(second.kind).toBe('farthest')
    expect(second.distance!).toBeCloseTo(dist(ctx.features, q.ids[0], q.ids[1]), 5)
  })

  it('the checks of the answers say why they asked: again, to cover a region, to confirm one', () => {
    const base = {
      strategy: 'diverse',
      iteration: 4,
      position: 0,
      batch: 1,
      p: 0.7,
      candidates: 900,
      labelledBefore: 16,
      coldStartBatches: 3
    }
    expect(whyAsked({ ...base, score: 0.12, check: 'reask' })).toMatchObject({ kind: 'reask', rank: 1 })
    expect(whyAsked({ ...base, score: 0.12, check: 'reask' }).text).toMatch(/^asked again: .*only a 12 % chance/)
    expect(whyAsked({ ...base, score: 0, check: 'cover' }).kind).toBe('cover')
    expect(whyAsked({ ...base, score: 1, check: 'confirm' })).toMatchObject({ kind: 'confirm' })
    expect(whyAsked({ ...base, score: 1, check: 'confirm' }).text).toContain('lead by only 1 for one side')
  })

  it('random, the seed window, a chosen image and an unknown strategy each get their own kind', () => {
    const ctx = context({ iteration: 2 })
    const r = query('random', ctx)
    expect(whyAsked(asked('random', ctx, r, 0))).toMatchObject({
      kind: 'random',
      rank: null,
      text: `a seeded random pick among 480 images not yet answered (P ${formatP(ctx.p[r.ids[0]])} when asked)`
    })
    const w = query('seed-window', ctx)
    const inside = whyAsked(asked('seed-window', ctx, w, 0))
    expect(inside.kind).toBe('window')
    expect(inside.text).toContain('P from 0.2 to 0.8')
    expect(Math.abs(ctx.p[w.ids[0]] - 0.5)).toBeLessThan(0.3)
    // A window holding too few images: the rest of the batch is filled nearest to 0.5 (scores >= 1).
    const narrow = context({ iteration: 4, p: Float32Array.from({ length: N }, (_, i) => (i === 7 ? 0.55 : i % 2 ? 0.1 : 0.95)) })
    const f = query('seed-window', narrow)
    expect(f.ids[0]).toBe(7)
    expect(whyAsked(asked('seed-window', narrow, f, 0)).kind).toBe('window')
    expect(whyAsked(asked('seed-window', narrow, f, 1)).kind).toBe('window-fill')
    expect(whyAsked({ ...asked('random', ctx, r, 0), strategy: 'chosen' })).toMatchObject({ kind: 'chosen' })
    expect(whyAsked({ ...asked('random', ctx, r, 0), strategy: 're-ask' })).toMatchObject({ kind: 'other' })
  })
})

describe('the nearest labelled images', () => {
  it('are the k nearest by feature distance (brute force), nearest first, never the image itself or a repeat', () => {
    const { features } = context()
    const f = { count: N, dim: DIM, data: features }
    const labelled = [5, 17, 17, 40, 88, 120, 301, 302, 555, 9].map((id, i) => ({ id, value: (i % 2) as 0 | 1 }))
    const near = nearestLabelled(f, 88, labelled, 4)
    const brute = [...new Set(labelled.map((a) => a.id))]
      .filter((id) => id !== 88)
      .map((id) => ({ id, d: dist(features, 88, id) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 4)
    expect(near.map((x) => x.id)).toEqual(brute.map((x) => x.id))
    near.forEach((x, i) => expect(x.distance).toBeCloseTo(brute[i].d, 6))
    expect(near.find((x) => x.id === 17)?.value ?? 1).toBe(1)
    expect(nearestLabelled(f, 88, [{ id: 88, value: 1 }], 5)).toEqual([])
  })
})
