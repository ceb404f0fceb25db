// Which unlabelled images to ask about next. Every choice is seeded; asked images never repeat.
import type { StrategyName } from '../../shared/contract'
import { Rng } from '../util/rng'
import { probability } from './head'

export interface QueryContext {
  /** P(positive) for every pool image under the current head. */
  p: Float32Array
  /** The exact head's logits, where there are: P is then computed only for the rows near the boundary. */
  logits?: Float64Array | null
  /** Cached features, row-major [count x dim]. */
  features: Float32Array
  dim: number
  /** 1 where the image was already labelled or skipped: never asked again. */
  excluded: Uint8Array
  /** Images labelled so far (for the coverage of `diverse`). */
  labelled: number[]
  iteration: number
  batchSize: number
  seed: number
  /** Number of batches `diverse` spends covering the feature space before uncertainty. */
  coldStartBatches: number
  /** Added to an image's uncertainty score (uncertainty): how hard the base finds it to read. */
  blur?: Float32Array | null
}

export interface Query {
  ids: number[]
  /** Lower is asked first. */
  scores: number[]
}

/** One RNG per (seed, iteration): a query never depends on how many draws came before it. */
export const iterationRng = (seed: number, iteration: number) => new Rng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(iteration + 1, 0x85ebca6b))

export function query(strategy: StrategyName, ctx: QueryContext): Query {
  switch (strategy) {
    case 'random':
      return random(ctx)
    case 'uncertainty':
      return uncertainty(ctx)
    case 'seed-window':
      return seedWindow(ctx)
    case 'diverse':
      return ctx.iteration < ctx.coldStartBatches ? kCenter(ctx) : uncertainty(ctx)
  }
}

/**
 * The k smallest scores offered, ascending; on equal scores the one offered first wins. A linear
 * scan keeping a small sorted list: O(n) for the pool with an early exit for most rows.
 */
class Smallest {
  readonly ids: number[] = []
  readonly scores: number[] = []
  constructor(private readonly k: number) {}
  /** The score a new row must beat to get in. */
  get bar(): number {
    return this.ids.length < this.k ? Infinity : this.scores[this.k - 1]
  }
  offer(i: number, s: number): void {
    const { ids, scores, k } = this
    if (k <= 0 || (ids.length === k && s >= scores[k - 1])) return
    let j = Math.min(ids.length, k - 1)
    if (ids.length < k) {
      ids.push(i)
      scores.push(s)
    }
    while (j > 0 && scores[j - 1] > s) {
      ids[j] = ids[j - 1]
      scores[j] = scores[j - 1]
      j--
    }
    ids[j] = i
    scores[j] = s
  }
  get query(): Query {
    return { ids: this.ids, scores: this.scores }
  }
}

/** The k smallest keys among candidates, ascending (for the strategies off the hot path). */
function smallest(n: number, k: number, key: (i: number) => number, ok: (i: number) => boolean): Query {
  const top = new Smallest(k)
  for (let i = 0; i < n; i++) if (ok(i)) top.offer(i, key(i))
  return top.query
}

/** Seeded random keys in [0,1) for tie-breaks, one per pool image. */
function randomKeys(n: number, rng: Rng): Float64Array {
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) keys[i] = rng.next()
  return keys
}

// random and uncertainty run every iteration over the whole pool: one loop each, and the seeded
// key of row i is the i-th draw of the iteration's RNG (drawn or not, excluded or not).

function random(ctx: QueryContext): Query {
  const { excluded } = ctx
  const n = ctx.p.length
  const rng = iterationRng(ctx.seed, ctx.iteration)
  const top = new Smallest(ctx.batchSize)
  for (let i = 0; i < n; i++) {
    const key = rng.next()
    if (!excluded[i]) top.offer(i, key)
  }
  return top.query
}

/**
 * The smallest |z| whose P is surely at least `bar` from 0.5: |sigmoid(z) - 0.5| = tanh(|z| / 2) / 2,
 * and the stored P is within 3e-8 of it (float32), so a margin of 1e-7 keeps every row that could beat the bar.
 */
function logitBar(bar: number): number {
  const x = 2 * (bar + 1e-7)
  return x < 1 ? Math.log((1 + x) / (1 - x)) : Infinity
}

/** Closest to the decision boundary first; ties (common before any label) broken by a seeded key. */
function uncertainty(ctx: QueryContext): Query {
  const scan = new UncertaintyScan(ctx, ctx.batchSize)
  scan.scan(0, ctx.excluded.length)
  return scan.query
}

/**
 * Uncertainty's pass over the pool, row after row: a query offers all rows at once; the exact
 * head's pool pass offers each stretch of rows as its logits come out, while they are in cache.
 */
export class UncertaintyScan {
  private readonly top: Smallest
  private readonly rng: Rng
  private readonly p: Float32Array | null
  private bar: number
  private zBar = Infinity

  constructor(
    readonly ctx: Pick<QueryContext, 'p' | 'logits' | 'excluded' | 'blur' | 'seed' | 'iteration'>,
    readonly k: number
  ) {
    this.top = new Smallest(k)
    this.bar = this.top.bar
    this.rng = iterationRng(ctx.seed, ctx.iteration)
    this.p = ctx.logits ? null : ctx.p
  }

  /** The |logit| from which a row cannot get in (Infinity: any row may). */
  get logitBar(): number {
    return this.zBar
  }

  /**
   * Offers rows from..to-1 (in order, after the rows offered before); with `only`, just the rows
   * from + only[j] (ascending): the caller has found that the others' |logit| reaches logitBar.
   */
  scan(from: number, to: number, only?: Int32Array): void {
    const { excluded, blur, logits } = this.ctx
    const { p, rng, top } = this
    let { bar, zBar } = this
    const n = only ? only.length : to - from
    for (let j = 0; j < n; j++) {
      const i = only ? from + only[j] : from + j
      let pi: number
      if (p) {
        if (excluded[i]) continue
        pi = p[i]
      } else {
        // A score is at least |P - 0.5|: a logit past zBar cannot get in (most do not: the mask is read for the few that may).
        // One test of |z|, not two of z: the sign of a pool's logits is a coin toss to the branch predictor.
        const z = logits![i]
        if (Math.abs(z) >= zBar || excluded[i]) continue
        pi = probability(z)
      }
      const s = Math.abs(pi - 0.5) + (blur ? blur[i] : 0) + rng.ahead(i) * 1e-9
      if (s >= bar) continue
      top.offer(i, s)
      bar = top.bar
      if (logits) zBar = logitBar(bar)
    }
    this.bar = bar
    this.zBar = zBar
  }

  get query(): Query {
    return { ids: this.top.ids, scores: this.top.ids.map((i) => this.scoreOf(i)) }
  }

  /**
   * The query once more rows are excluded than when the scan ran (at most k - count more; the
   * scan's `excluded`, filled further): its rows still free, the first `count`. Null where too
   * few of them are left to be sure no row it passed over would come in.
   */
  after(count: number): Query | null {
    const { ids } = this.top
    const free = ids.filter((i) => !this.ctx.excluded[i]).slice(0, count)
    // A row the scan passed over ranks behind all k it kept: with count of them free, none comes in.
    if (free.length < count && ids.length === this.k) return null
    return { ids: free, scores: free.map((i) => this.scoreOf(i)) }
  }

  private scoreOf(i: number): number {
    return Math.abs((this.p ? this.p[i] : probability(this.ctx.logits![i])) - 0.5)
  }
}

/**
 * The 2019 demo's schedule: keep images whose p lies inside a window that narrows by 0.1 per
 * iteration, from (0, 1) to (0.4, 0.6) at iteration 4 and after, and pick at random among them
 * (not ranked). If the window holds too few, the nearest to 0.5 fill the batch.
 */
function seedWindow(ctx: QueryContext): Query {
  const half = 0.5 - 0.1 * Math.min(ctx.iteration, 4)
  const keys = randomKeys(ctx.p.length, iterationRng(ctx.seed, ctx.iteration))
  const inside = (i: number) => Math.abs(ctx.p[i] - 0.5) < half
  const q = smallest(
    ctx.p.length,
    ctx.batchSize,
    (i) => keys[i],
    (i) => !ctx.excluded[i] && inside(i)
  )
  if (q.ids.length < ctx.batchSize) {
    const taken = new Set(q.ids)
    const fill = smallest(
      ctx.p.length,
      ctx.batchSize - q.ids.length,
      (i) => Math.abs(ctx.p[i] - 0.5),
      (i) => !ctx.excluded[i] && !taken.has(i)
    )
    q.ids.push(...fill.ids)
    q.scores.push(...fill.scores.map((s) => 1 + s))
  }
  return q
}

/**
 * Cold start that covers the feature space (where the exact head's regions are not at hand, e.g.
 * an unfrozen layer): seeded picks from the images labelled so far, each drawn with chance
 * growing steeply with its distance to the nearest labelled image or earlier pick. On softmax
 * features the far points are confident images of classes nobody has labelled yet, so the first
 * ~10 labels cover the 10 digits, and two seeds share almost none of them.
 */
function kCenter(ctx: QueryContext): Query {
  const { features, dim } = ctx
  const n = ctx.p.length
  const minDist = new Float64Array(n).fill(Infinity)
  const relax = (c: number) => {
    const cb = c * dim
    for (let i = 0; i < n; i++) {
      let d = 0
      for (let j = 0, ib = i * dim; j < dim; j++) {
        const t = features[ib + j] - features[cb + j]
        d += t * t
      }
      if (d < minDist[i]) minDist[i] = d
    }
  }
  ctx.labelled.forEach(relax)
  const rng = iterationRng(ctx.seed, ctx.iteration)
  const ids: number[] = []
  const scores: number[] = []
  const taken = new Uint8Array(n)
  while (ids.length < ctx.batchSize) {
    let best = -1
    let bestD = -1
    if (ctx.labelled.length === 0 && ids.length === 0) {
      // Nothing to be far from yet: start at a seeded random image.
      const free: number[] = []
      for (let i = 0; i < n; i++) if (!ctx.excluded[i]) free.push(i)
      if (free.length) best = free[rng.int(free.length)]
    } else {
      // k-means++-style: drawn with chance growing as the squared distance squared (D^4), so the
      // far, unlabelled parts of the space are all but sure to be drawn, yet seeds draw differently.
      let total = 0
      for (let i = 0; i < n; i++) if (!ctx.excluded[i] && !taken[i] && minDist[i] !== Infinity) total += minDist[i] * minDist[i]
      let r = rng.next() * total
      for (let i = 0; i < n && total > 0; i++) {
        if (ctx.excluded[i] || taken[i]) continue
        best = i
        bestD = minDist[i]
        if ((r -= minDist[i] * minDist[i]) < 0) break
      }
    }
    if (best < 0) break
    ids.push(best)
    scores.push(bestD < 0 ? -Number.MAX_VALUE : -Math.sqrt(bestD)) // the seeded start is asked first (finite: it goes in the log)
    taken[best] = 1
    relax(best)
  }
  return { ids, scores }
}
