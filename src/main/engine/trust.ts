// Labels people can trust: which answers the other answers contradict (suspects, from
// out-of-sample refits of the exact head), which regions of the feature space rest on too few
// answers to trust (asked again before they are trusted), and when more answers are unlikely to
// help (the stop advice). Pure functions of the answers, the features and the seed.
import { iterationRng } from './strategies'
import type { FeatureMatrix } from './features'
import type { Answer } from './learner'
import type { HeadParams } from './head'

/** An answer the others contradict: out of sample, the head gives the answer given less than SUSPECT_P. */
export interface Suspect {
  id: number
  /** The standing answer. */
  value: 0 | 1
  /** P(positive) from a fit without this answer. */
  p: number
  /** The labeller has had the last word on it (see settledIds): it is not asked again and does not hold up the stop advice. */
  settled?: boolean
}

/** Flag an answer when the head fitted without it gives it less than this chance. */
export const SUSPECT_P = 0.3
/** An image is asked at most this often in all (a re-ask is not asked for ever). */
export const MAX_ASKS = 3
/** Refits for the out-of-sample chances: one per answer up to here, then this many folds. */
const MAX_FOLDS_PRIMAL = 200
const MAX_FOLDS_DUAL = 10

/** Answers whose approximate out-of-sample chance is below this get an exact refit (the others are far from doubt). */
const CHECK_EXACTLY = 0.45
/** A screened chance this far above SUSPECT_P is surely not a suspect's: no exact refit (the screen is within 1e-6 of it). */
const SCREEN_MARGIN = 0.01
/** The chance a screened answer must keep to be cleared without an exact refit. */
export const CLEARED_CHANCE = SUSPECT_P + SCREEN_MARGIN

/**
 * Out-of-sample P(positive) of every answer: the head refitted without it (leave-one-out, or
 * interleaved folds past MAX_FOLDS answers), each refit started from the full fit. With
 * `approximate` (one Newton step per answer: the primal's, or the dual's for wide features), only the answers it puts
 * below CHECK_EXACTLY are refitted; the others keep the approximation. With `screen` (those
 * answers' P from a cheaper converged refit, all asked at once, null where one did not settle), an answer it puts clear of
 * SUSPECT_P keeps that P and only the others get the exact refit: the suspects and their P are
 * the exact refits' all the same. `leftOut` gives the left-out answer's P from the exact refit
 * without it (default: fit's head, scored). With `settles` (head rules 5, wide features) the
 * screen's P stands wherever it has one (where it did not clear the answer, it ran on to its own
 * 1e-6): only the answers whose screen does not converge get the exact refit.
 */
export function outOfSample(
  pool: FeatureMatrix,
  answers: Answer[],
  full: HeadParams,
  fit: (keep: Answer[], init: HeadParams) => HeadParams,
  approximate?: Float64Array,
  screen?: (ks: number[]) => (number | null)[],
  leftOut: (keep: Answer[], left: Answer) => number = (keep, left) => score(fit(keep, full), pool, left.id),
  settles = false
): Float64Array {
  const n = answers.length
  const wide = pool.dim > 64
  if (approximate) {
    const out = Float64Array.from(approximate, (z) => 1 / (1 + Math.exp(-z)))
    const chance = (k: number, p: number) => (answers[k].value === 1 ? p : 1 - p)
    const doubted = answers.flatMap((_, k) => (chance(k, out[k]) < CHECK_EXACTLY ? [k] : []))
    const screens = new Map(screen ? screen(doubted).map((p, at) => [doubted[at], p]) : [])
    answers.forEach((a, k) => {
      if (chance(k, out[k]) >= CHECK_EXACTLY) return
      const screened = screens.get(k) ?? null
      if (screened !== null && (settles || chance(k, screened) >= CLEARED_CHANCE)) {
        out[k] = screened
        return
      }
      out[k] = leftOut(
        answers.filter((_, j) => j !== k),
        a
      )
    })
    return out
  }
  const out = new Float64Array(n)
  const folds = Math.min(n, wide ? MAX_FOLDS_DUAL : MAX_FOLDS_PRIMAL)
  for (let f = 0; f < folds; f++) {
    const head = fit(
      answers.filter((_, k) => k % folds !== f),
      full
    )
    for (let k = f; k < n; k += folds) out[k] = score(head, pool, answers[k].id)
  }
  return out
}

function score(head: HeadParams, f: FeatureMatrix, id: number): number {
  let z = head.bias
  for (let j = 0, b = id * f.dim; j < f.dim; j++) z += head.weights[j] * f.data[b + j]
  return 1 / (1 + Math.exp(-z))
}

/**
 * Answers the labeller has settled, never asked again: given the same twice in a row, skipped
 * when asked again, or asked MAX_ASKS times. (Relabelled ones are never suspects at all.)
 */
export function settledIds(batches: Answer[][], skipped: number[]): Set<number> {
  const history = new Map<number, Answer[]>()
  for (const b of batches)
    for (const a of b) {
      const h = history.get(a.id)
      if (h) h.push(a)
      else history.set(a.id, [a])
    }
  const out = new Set<number>()
  for (const [id, h] of history) {
    const last = h[h.length - 1]
    const twice = h.length >= 2 && h[h.length - 2].value === last.value
    if (twice || h.length >= MAX_ASKS) out.add(id)
  }
  for (const id of skipped) if (history.has(id)) out.add(id)
  return out
}

/**
 * The standing answers whose out-of-sample chance is below SUSPECT_P, least likely first. An
 * answer changed by hand in the history panel is the labeller's own correction: never flagged.
 */
export function suspectsOf(answers: Answer[], oos: Float64Array, settled: Set<number>): Suspect[] {
  const out: (Suspect & { chance: number })[] = []
  answers.forEach((a, k) => {
    const chance = a.value === 1 ? oos[k] : 1 - oos[k]
    if (!a.relabelled && chance < SUSPECT_P)
      out.push({ id: a.id, value: a.value, p: oos[k], ...(settled.has(a.id) ? { settled: true } : {}), chance })
  })
  return out.sort((x, y) => x.chance - y.chance || x.id - y.id).map(({ chance: _, ...s }) => s)
}

/** The suspects still open: not settled by the labeller. */
export const openSuspects = (suspects: Suspect[]): Suspect[] => suspects.filter((s) => !s.settled)

/** The chance the head fitted without it gives a suspect's answer. */
export const chanceOf = (s: Suspect): number => (s.value === 1 ? s.p : 1 - s.p)

/**
 * The suspects to ask again, at most `room`, least likely first; but not where a region's typical
 * answers are tied: there a new image of the region breaks the tie (see confirmations), which
 * asking either again would not.
 */
export function reasks(suspects: Suspect[], regions: Regions, batches: Answer[][], room: number): number[] {
  const tied = new Set(
    regionCounts(regions, batches)
      .filter((c) => c.positive === c.negative)
      .map((c) => c.region)
  )
  return openSuspects(suspects)
    .filter((s) => !(regions.typical[s.id] && tied.has(regions.of[s.id])))
    .slice(0, Math.max(0, room))
    .map((s) => s.id)
}

// ---- regions ---------------------------------------------------------------------------------

/** The share of a region nearest its centre that counts as typical of it (the rest lie towards other regions). */
const TYPICAL_SHARE = 0.8
/** Regions smaller than this share of the pool are not asked about on their own. */
const MIN_REGION_SHARE = 0.01

/**
 * The pool cut into regions: the base's class for each image where the features are its class
 * outputs, else seeded k-means clusters. `typical` marks images nearer their region's centre
 * than most (TYPICAL_SHARE): the ones that speak for the region.
 */
export class Regions {
  readonly of: Int32Array
  readonly count: number
  readonly size: Int32Array
  readonly typical: Uint8Array
  /** Each region's typical images, ascending. */
  readonly typicalIn: Int32Array[]

  /** The k-means centres (null: the regions are the base's classes). */
  private readonly centres: Float64Array | null

  constructor(pool: FeatureMatrix, classes: number, seed: number) {
    const byClass = pool.dim === classes && classes > 1
    const k = byClass ? classes : Math.max(2, classes || 10)
    this.count = k
    this.centres = byClass ? null : kMeansCentres(pool, k, seed)
    this.of = this.regionsOf(pool)
    this.size = new Int32Array(k)
    for (const r of this.of) this.size[r]++
    this.typical = typicalOf(pool, this.of, k)
    const n = new Int32Array(k)
    for (let i = 0; i < this.of.length; i++) if (this.typical[i]) n[this.of[i]]++
    this.typicalIn = Array.from(n, (m) => new Int32Array(m))
    n.fill(0)
    for (let i = 0; i < this.of.length; i++) if (this.typical[i]) this.typicalIn[this.of[i]][n[this.of[i]]++] = i
  }

  /** The region of every row of a matrix of the same features (the pool's, or the held-out split's). */
  regionsOf(f: FeatureMatrix): Int32Array {
    const { centres, count } = this
    return centres ? Int32Array.from({ length: f.count }, (_, i) => nearestCentre(f, i, centres, count)) : argmaxRegions(f)
  }

  /** Regions large enough to need their own answers. */
  sizeable(r: number): boolean {
    return this.size[r] >= Math.max(2, MIN_REGION_SHARE * this.of.length)
  }
}

function argmaxRegions(f: FeatureMatrix): Int32Array {
  const out = new Int32Array(f.count)
  for (let i = 0; i < f.count; i++) {
    let best = 0
    for (let j = 1; j < f.dim; j++) if (f.data[i * f.dim + j] > f.data[i * f.dim + best]) best = j
    out[i] = best
  }
  return out
}

/** Seeded k-means centres (k-means++ start on a sample of at most 5,000, ten Lloyd steps). */
function kMeansCentres(f: FeatureMatrix, k: number, seed: number): Float64Array {
  const { dim, data } = f
  const rng = iterationRng(seed, -7)
  const step = Math.max(1, Math.floor(f.count / 5000))
  const sample: number[] = []
  for (let i = 0; i < f.count; i += step) sample.push(i)
  const centres = new Float64Array(k * dim)
  const d2 = (i: number, c: number) => {
    let s = 0
    for (let j = 0; j < dim; j++) {
      const t = data[i * dim + j] - centres[c * dim + j]
      s += t * t
    }
    return s
  }
  const set = (c: number, i: number) => {
    for (let j = 0; j < dim; j++) centres[c * dim + j] = data[i * dim + j]
  }
  set(0, sample[rng.int(sample.length)])
  const near = sample.map((i) => d2(i, 0))
  for (let c = 1; c < k; c++) {
    const total = near.reduce((a, b) => a + b, 0)
    let r = rng.next() * total
    let pick = sample.length - 1
    for (let s = 0; s < sample.length; s++) {
      r -= near[s]
      if (r < 0) {
        pick = s
        break
      }
    }
    set(c, sample[pick])
    sample.forEach((i, s) => (near[s] = Math.min(near[s], d2(i, c))))
  }
  for (let it = 0; it < 10; it++) {
    const sum = new Float64Array(k * dim)
    const n = new Int32Array(k)
    for (const i of sample) {
      const c = nearestCentre(f, i, centres, k)
      n[c]++
      for (let j = 0; j < dim; j++) sum[c * dim + j] += data[i * dim + j]
    }
    for (let c = 0; c < k; c++) if (n[c]) for (let j = 0; j < dim; j++) centres[c * dim + j] = sum[c * dim + j] / n[c]
  }
  return centres
}

function nearestCentre(f: FeatureMatrix, i: number, centres: Float64Array, k: number): number {
  const { dim, data } = f
  const row = i * dim
  let best = 0
  let bd = Infinity
  let c = 0
  // Four centres at a time: each distance summed over the features in order (the same numbers),
  // four chains of additions instead of one; compared in centre order as one at a time.
  for (; c + 3 < k; c += 4) {
    const [b0, b1, b2, b3] = [c * dim, (c + 1) * dim, (c + 2) * dim, (c + 3) * dim]
    let [d0, d1, d2, d3] = [0, 0, 0, 0]
    for (let j = 0; j < dim; j++) {
      const x = data[row + j]
      const t0 = x - centres[b0 + j]
      const t1 = x - centres[b1 + j]
      const t2 = x - centres[b2 + j]
      const t3 = x - centres[b3 + j]
      d0 += t0 * t0
      d1 += t1 * t1
      d2 += t2 * t2
      d3 += t3 * t3
    }
    const ds = [d0, d1, d2, d3]
    for (let q = 0; q < 4; q++)
      if (ds[q] < bd) {
        bd = ds[q]
        best = c + q
      }
  }
  for (; c < k; c++) {
    let d = 0
    for (let j = 0; j < dim; j++) {
      const t = data[row + j] - centres[c * dim + j]
      d += t * t
    }
    if (d < bd) {
      bd = d
      best = c
    }
  }
  return best
}

/** The k-th smallest of a (0-based): the value a sorted copy holds at k. Reorders a (quickselect, median-of-three pivots). */
function select(a: Float64Array, k: number): number {
  let [lo, hi] = [0, a.length - 1]
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    // The median of a[lo], a[mid], a[hi] as the pivot.
    const [x, y, z] = [a[lo], a[mid], a[hi]]
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y
    let [i, j] = [lo, hi]
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i++] = a[j]
        a[j--] = t
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]
  }
  return a[k]
}

/** Typical images: within TYPICAL_SHARE of their region by distance to its coordinate-wise median (a mean is pulled off by the few images between regions). */
function typicalOf(f: FeatureMatrix, of: Int32Array, k: number): Uint8Array {
  const { dim, data } = f
  const members: number[][] = Array.from({ length: k }, () => [])
  for (let i = 0; i < f.count; i++) members[of[i]].push(i)
  const centre = new Float64Array(k * dim)
  for (let c = 0; c < k; c++) {
    const m = members[c]
    const step = Math.max(1, Math.floor(m.length / 2000))
    const len = Math.ceil(m.length / step)
    if (!len) continue
    // The sample's rows copied feature by feature (read row by row), then each feature's median by
    // selection, not a sort: the same value (1,280 of these a region at a MobileNet's width).
    const byFeature = new Float64Array(len * dim)
    for (let s = 0, t = 0; s < m.length; s += step, t++) for (let j = 0, b = m[s] * dim; j < dim; j++) byFeature[j * len + t] = data[b + j]
    for (let j = 0; j < dim; j++) centre[c * dim + j] = select(byFeature.subarray(j * len, (j + 1) * len), Math.floor((len - 1) / 2))
  }
  const dist = new Float64Array(f.count)
  for (let i = 0; i < f.count; i++) {
    let s = 0
    for (let j = 0; j < dim; j++) {
      const t = data[i * dim + j] - centre[of[i] * dim + j]
      s += t * t
    }
    dist[i] = s
  }
  const out = new Uint8Array(f.count)
  for (let c = 0; c < k; c++) {
    const ds = members[c].map((i) => dist[i]).sort((a, b) => a - b)
    const bar = ds.length ? ds[Math.floor((ds.length - 1) * TYPICAL_SHARE)] : 0
    for (const i of members[c]) out[i] = dist[i] <= bar ? 1 : 0
  }
  return out
}

/** The answers given to a region's typical images: how many say each answer, and when the last came. */
export interface RegionCount {
  region: number
  negative: number
  positive: number
  /** Position of its latest typical answer among all answers given (-1: none). */
  last: number
  /** Any answer was given in it, typical or not. */
  touched: boolean
}

/**
 * Per sizeable region, every answer given to its typical images (an image asked twice counts
 * twice: two answers that agree are stronger than one), leaving out images whose answer is
 * `doubted` and the earlier answers of an image changed by hand. One near a boundary between
 * regions says little about the region; the suspects check those.
 */
/** Every answer given, batch after batch: batches.flat(), which V8 runs several times slower than this loop. */
export function allAnswers(batches: Answer[][]): Answer[] {
  const all: Answer[] = []
  for (const b of batches) for (const a of b) all.push(a)
  return all
}

export function regionCounts(regions: Regions, batches: Answer[][], doubted: Set<number> = new Set()): RegionCount[] {
  const out = Array.from({ length: regions.count }, (_, region) => ({ region, negative: 0, positive: 0, last: -1, touched: false }))
  const all = allAnswers(batches)
  const changed = new Set(all.filter((a) => a.relabelled).map((a) => a.id))
  const lastOf = new Map(all.map((a, k) => [a.id, k]))
  all.forEach((a, k) => {
    const c = out[regions.of[a.id]]
    c.touched = true
    if (!regions.typical[a.id] || doubted.has(a.id) || (changed.has(a.id) && lastOf.get(a.id) !== k)) return
    if (a.value === 1) c.positive++
    else c.negative++
    c.last = k
  })
  return out.filter((c) => regions.sizeable(c.region))
}

/** How sure a region's answer must be (that its leading answer is right) before it is trusted. */
export const REGION_TRUST = 0.999

/**
 * The labeller's slip rate as the answers show it: images whose answers disagreed when asked again,
 * and answers still in doubt, over the answers given; with a prior of one slip in 40 answers, so
 * a few answers that all agree read as a careful labeller, not a perfect one.
 */
export function slipRate(batches: Answer[][], open: Suspect[]): number {
  // The answers each image was given (not by hand), as bits: 1 for 0, 2 for 1; 3 is both.
  const given = new Map<number, number>()
  let answers = 0
  for (const b of batches)
    for (const a of b) {
      answers++
      if (!a.relabelled) given.set(a.id, (given.get(a.id) ?? 0) | (1 << a.value))
    }
  const slips = new Set(open.map((s) => s.id))
  for (const [id, bits] of given) if (bits === 3) slips.add(id)
  return Math.min(0.3, (slips.size + 1) / (answers + 40))
}

/**
 * The chance a region's leading answer is right, from its lead (answers for it minus against it):
 * each answer is a slip with chance `slip`, so a lead of L is ((1 - slip) / slip)^L times likelier
 * from a right majority than from a wrong one.
 */
export const regionTrust = (c: RegionCount, slip: number): number => 1 / (1 + (slip / (1 - slip)) ** Math.abs(c.positive - c.negative))

/** A region rests on too few answers: nobody answered in it, or its lead does not make it `trust` sure (REGION_TRUST). */
export const unconfirmed = (c: RegionCount, slip: number, trust = REGION_TRUST): boolean => regionTrust(c, slip) < trust

/**
 * How sure every region must be for the stop advice. Lower than REGION_TRUST, which decides what
 * is asked: a lead of 2 unless the answers show a slip rate above 6.6 %.
 */
export const STOP_TRUST = 0.995

/** For each wanted region, its typical unexcluded image with the smallest seeded key. */
function pickIn(
  regions: Regions,
  wanted: number[],
  excluded: Uint8Array,
  seed: number,
  iteration: number,
  salt: number
): Map<number, number> {
  // Image i's key is the i-th draw; only the wanted regions' typical images are looked at.
  const rng = iterationRng(seed, iteration + salt)
  const out = new Map<number, number>()
  for (const r of new Set(wanted)) {
    let best = -1
    let bestKey = Infinity
    for (const i of regions.typicalIn[r]) {
      if (excluded[i]) continue
      const key = rng.ahead(i)
      if (key < bestKey) {
        best = i
        bestKey = key
      }
    }
    if (best >= 0) out.set(r, best)
  }
  return out
}

/**
 * Covering the pool first (diverse): one typical image of each sizeable region no answer covers
 * yet, the regions in a seeded order, at most `room`. Seeds differ in every image they pick.
 */
export function covers(
  regions: Regions,
  counts: RegionCount[],
  excluded: Uint8Array,
  room: number,
  seed: number,
  iteration: number
): number[] {
  if (room <= 0) return []
  const rng = iterationRng(seed, iteration + 0x2545f491)
  const empty = counts
    .filter((c) => c.last < 0)
    .map((c) => ({ region: c.region, key: rng.next() }))
    .sort((a, b) => a.key - b.key)
    .map((c) => c.region)
  const picks = pickIn(regions, empty, excluded, seed, iteration, 0x2545f491)
  return empty.flatMap((r) => (picks.has(r) ? [picks.get(r)!] : [])).slice(0, room)
}

/**
 * One typical unanswered image in each region that rests on too few answers (a lone answer, a
 * tie, or only answers near its edge), at most `room`: the smallest lead first, then the region
 * answered most recently (so a wrong answer meets its contradiction soonest). Regions nobody has
 * answered in are covers' to ask, and so are those in `covering`. With `longestWaiting`
 * (TRUST_RULES 4) and room for two or more, the last of them goes to the region at the smallest
 * lead answered longest ago instead: a first answer is not left waiting behind every newer one.
 */
export function confirmations(
  regions: Regions,
  counts: RegionCount[],
  slip: number,
  excluded: Uint8Array,
  room: number,
  seed: number,
  iteration: number,
  covering: number[] = [],
  longestWaiting = false,
  first: Set<number> = new Set()
): number[] {
  if (room <= 0) return []
  const skip = new Set(covering.map((id) => regions.of[id]))
  const sorted = counts
    .filter((c) => unconfirmed(c, slip) && c.touched && !skip.has(c.region))
    .sort(
      (a, b) =>
        Number(first.has(b.region)) - Number(first.has(a.region)) ||
        Math.abs(a.positive - a.negative) - Math.abs(b.positive - b.negative) ||
        b.last - a.last
    )
  let chosen = sorted.slice(0, room)
  if (longestWaiting && room >= 2 && sorted.length > room && !first.has(chosen[room - 1].region)) {
    // The last slot to the region at the smallest lead whose answers have waited longest.
    const lead = Math.abs(chosen[0].positive - chosen[0].negative)
    const oldest = sorted.filter((c) => Math.abs(c.positive - c.negative) === lead).at(-1)!
    if (!chosen.includes(oldest)) chosen = [...chosen.slice(0, room - 1), oldest]
  }
  const open = chosen.map((c) => c.region)
  const picks = pickIn(regions, open, excluded, seed, iteration, 0x3c6ef372)
  return open.flatMap((r) => (picks.has(r) ? [picks.get(r)!] : []))
}

// ---- stop advice -----------------------------------------------------------------------------

/** Held-out rows with known truth a region needs before its held-out accuracy is read. */
const DISPUTE_MIN_ROWS = 20

/**
 * Where a held-out split with truth exists: the sizeable regions on whose held-out rows the head
 * is wrong more often than right. Answers that agree can still all be slips (two in a row, one
 * time in a hundred at a 10 % slip rate); the held-out split is the one check they cannot pass.
 * From heldOutAgreement's counts (the advice makes them once for this check and vouchedRegions).
 */
export function disputedRegions(regions: Regions, agreement: { right: Int32Array; rows: Int32Array }): number {
  const { right, rows } = agreement
  let n = 0
  for (let r = 0; r < regions.count; r++) if (regions.sizeable(r) && rows[r] >= DISPUTE_MIN_ROWS && 2 * right[r] < rows[r]) n++
  return n
}

/** Per region: its held-out rows with known truth, and how many of them the head gets right. */
export function heldOutAgreement(
  regions: Regions,
  testRegions: Int32Array,
  testP: ArrayLike<number>,
  testTruth: Int8Array
): { right: Int32Array; rows: Int32Array } {
  const right = new Int32Array(regions.count)
  const rows = new Int32Array(regions.count)
  for (let i = 0; i < testTruth.length; i++) {
    const t = testTruth[i]
    if (t < 0) continue
    const r = testRegions[i]
    rows[r]++
    // t is 0 or 1 here: right where the answer (0 or 1) is t, counted without a branch on it.
    right[r] += +(testP[i] >= 0.5) ^ t ^ 1
  }
  return { right, rows }
}

/** The share of a region's held-out rows the head must get right for the split to vouch for its answers (TRUST_RULES 3). */
export const HELD_OUT_VOUCHES = 0.99

/**
 * The regions whose answers the held-out split vouches for (TRUST_RULES 3): answered, and the head
 * right on at least HELD_OUT_VOUCHES of their held-out rows (DISPUTE_MIN_ROWS or more). Answers
 * that agree with a thousand held-out images need no lead over each other to be trusted.
 */
export function vouchedRegions(counts: RegionCount[], agreement: { right: Int32Array; rows: Int32Array }): Set<number> {
  const { right, rows } = agreement
  return new Set(
    counts
      .filter(
        (c) => c.positive !== c.negative && rows[c.region] >= DISPUTE_MIN_ROWS && right[c.region] >= HELD_OUT_VOUCHES * rows[c.region]
      )
      .map((c) => c.region)
  )
}

/** Batches the stop advice looks back over: each must have left the pool's predictions steady (the trust checks do the rest). */
export const STEADY_BATCHES = 1
/** Predictions over the pool that may change in a batch (a share) for it to count as steady. */
export const STEADY_SHARE = 0.005
/** Held-out accuracy that may still rise in a batch (points) for it to count as steady. */
export const STEADY_POINTS = 0.005

/**
 * The standing answers as asking `id` again could leave them (TRUST_RULES 5): answered the other
 * way (standing once, with the new answer), or the same again (counting once more, settled).
 */
export function reaskOutcomes(answers: Answer[], id: number): [Answer[], Answer[]] {
  const other = answers.map((a) => (a.id === id ? { id, value: (1 - a.value) as 0 | 1 } : a))
  const same = answers.map((a) => (a.id === id ? { ...a, times: (a.times ?? 1) + 1 } : a))
  return [other, same]
}

/**
 * Whether an answer in doubt can still matter (TRUST_RULES 5): either outcome of asking it again
 * (see reaskOutcomes) changes more than STEADY_SHARE of the pool's predictions, or moves held-out
 * accuracy by more than STEADY_POINTS. One whose outcomes cannot is a slip the fit has already
 * discounted (or a right answer the fit already follows): it need not hold up the stop advice.
 */
export function doubtMatters(
  now: { predicted: Uint8Array; testAccuracy: number | null },
  outcomes: { predicted: Uint8Array; testAccuracy: number | null }[]
): boolean {
  return outcomes.some((o) => {
    let n = 0
    for (let i = 0; i < o.predicted.length; i++) if (o.predicted[i] !== now.predicted[i]) n++
    const moved = o.testAccuracy !== null && now.testAccuracy !== null && Math.abs(o.testAccuracy - now.testAccuracy) > STEADY_POINTS
    return n / o.predicted.length > STEADY_SHARE || moved
  })
}

/**
 * Answers in doubt the held-out split overrules (TRUST_RULES 6): the fit already gives the other
 * answer (P on the other side of 0.5), and the held-out split vouches for the fit in the
 * answer's region (HELD_OUT_VOUCHES of DISPUTE_MIN_ROWS or more rows right). A slip the others
 * contradict, that a thousand held-out images also contradict, need not be asked again before
 * the stop advice: answered either way, it cannot make the predictions there more right.
 */
export function overruled(
  regions: Regions,
  agreement: { right: Int32Array; rows: Int32Array },
  pAt: (id: number) => number
): (s: Suspect) => boolean {
  const { right, rows } = agreement
  return (s) => {
    const r = regions.of[s.id]
    return rows[r] >= DISPUTE_MIN_ROWS && right[r] >= HELD_OUT_VOUCHES * rows[r] && (pAt(s.id) >= 0.5 ? 1 : 0) !== s.value
  }
}

export interface Advice {
  stop: boolean
  /** Why, in one line. */
  reason: string
}

export interface AdviceInput {
  /** Share of the pool whose predicted answer changed in each of the last batches (oldest first). */
  changed: number[]
  /** Held-out accuracy at the last fits (oldest first), null without held-out truth. */
  heldOut: (number | null)[]
  suspects: number
  /** Answers still in doubt that asking again cannot make matter (see doubtMatters; TRUST_RULES 5): not in `suspects`. */
  harmless?: number
  /** Regions resting on too few answers. */
  unconfirmed: number
  /** Answers in doubt the held-out split overrules (see overruled; TRUST_RULES 6): not in `suspects` nor `harmless`. */
  overruled?: number
  /** Regions where the held-out split disagrees with the answers (see disputedRegions; 0 without held-out truth). */
  disputed?: number
  /** Regions trusted because the held-out split vouches for them, not by their lead (see vouchedRegions; TRUST_RULES 3). */
  vouched?: number
  labels: number
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`

/** The stop advice's word on the answers still in doubt: those that cannot change the predictions, and those the held-out split overrules. */
function doubtPhrase(harmless: number, overruled: number): string {
  const n = (k: number, what: string) => (k === 1 ? `answer ${what}` : `${k} answers ${what}`)
  const cannot = `the ${n(harmless, 'in doubt')} cannot change them (asked again, answered either way)`
  const ruled = (what: string) =>
    `the held-out split overrules the ${n(overruled, what)} (the fit gives the other answer, and the held-out images of ${overruled === 1 ? 'its region agree' : 'their regions agree'})`
  if (harmless && overruled) return `${cannot}, ${ruled('more')}`
  return harmless ? cannot : overruled ? ruled('in doubt') : 'no answer is in doubt'
}

export function stopAdvice(a: AdviceInput): Advice {
  if (a.labels === 0) return { stop: false, reason: 'No answers yet' }
  if (a.suspects > 0)
    return {
      stop: false,
      reason: `Keep going: ${a.suspects} answer${a.suspects === 1 ? ' is' : 's are'} in doubt (the others contradict it)`
    }
  if (a.unconfirmed > 0)
    return {
      stop: false,
      reason: `Keep going: ${a.unconfirmed} region${a.unconfirmed === 1 ? '' : 's'} of the pool rest${a.unconfirmed === 1 ? 's' : ''} on too few answers`
    }
  if (a.disputed)
    return {
      stop: false,
      reason: `Keep going: the held-out split disagrees with the answers about ${a.disputed} region${a.disputed === 1 ? '' : 's'} of the pool`
    }
  const last = a.changed.at(-1)
  if (last === undefined || a.changed.length < STEADY_BATCHES) return { stop: false, reason: 'Keep going: too few fits to tell' }
  const moving = a.changed.find((c) => c > STEADY_SHARE)
  if (moving !== undefined) return { stop: false, reason: `Keep going: the last answers changed ${pct(moving)} of the pool’s predictions` }
  const held = a.heldOut.filter((h): h is number => h !== null)
  if (held.length >= 2) {
    const rise = held[held.length - 1] - Math.min(...held.slice(0, -1))
    if (rise > STEADY_POINTS)
      return { stop: false, reason: `Keep going: held-out accuracy still rising (+${(rise * 100).toFixed(1)} points)` }
  }
  const worst = Math.max(...a.changed)
  return {
    stop: true,
    reason:
      `You can stop: the last ${a.changed.length === 1 ? 'batch' : `${a.changed.length} batches`} changed at most ${pct(worst)} of the pool’s predictions, ` +
      doubtPhrase(a.harmless ?? 0, a.overruled ?? 0) +
      ` and every region has answers that agree` +
      (held.length ? ` (held-out ${pct(held[held.length - 1])}, steady)` : '') +
      (a.vouched ? `; the held-out split vouches for ${a.vouched} region${a.vouched === 1 ? '' : 's'} with few answers` : '')
  }
}
