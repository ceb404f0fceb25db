// One iteration of active learning as a pure function of the answers so far: refit, evaluate,
// find the answers in doubt, pick the next batch, advise whether to stop. Undo and replay are
// just calls with fewer or recorded answers.
import type { StrategyName } from '../../shared/contract'
import * as tf from '@tensorflow/tfjs'
import type { FeatureMatrix } from './features'
import { DUAL_MIN_DIM } from './head'
import { Learner, standing, type Answer, type Evaluation } from './learner'
import {
  Advice,
  AdviceInput,
  chanceOf,
  confirmations,
  covers,
  disputedRegions,
  doubtMatters,
  openSuspects,
  outOfSample,
  CLEARED_CHANCE,
  overruled,
  reaskOutcomes,
  reasks,
  regionCounts,
  settledIds,
  slipRate,
  STEADY_BATCHES,
  STOP_TRUST,
  stopAdvice,
  RegionCount,
  Suspect,
  suspectsOf,
  unconfirmed,
  vouchedRegions
} from './trust'

export interface LoopConfig {
  strategy: StrategyName
  batchSize: number
  /** Batches `diverse` spends covering the feature space (ceil(base classes / batch size)). */
  coldStartBatches: number
  /** false: answers in doubt are found and listed but never asked again (the session's `reask`). */
  reask?: boolean
}

/** The loop of a session's config on this base. */
export const loopConfigOf = (
  config: { strategy: StrategyName; batchSize: number; reask?: boolean },
  base: { classNames: string[] }
): LoopConfig => ({
  strategy: config.strategy,
  batchSize: config.batchSize,
  coldStartBatches: coldStartBatches(coldStartClasses(base), config.batchSize),
  ...(config.reask === false ? { reask: false } : {})
})

export interface IterationRecord extends Evaluation {
  iteration: number
  /** Images with a standing answer. */
  labels: number
  /** Answers given, re-asks included. */
  answers: number
  /** Fit + score the pool + evaluate + check the answers + pick the next batch. */
  iterationMs: number
  /** Answers the others contradict (null: the head is not the exact one, so none are checked). */
  suspects: Suspect[] | null
  /** Whether more answers are likely to help (null where suspects are not checked). */
  advice: Advice | null
  /**
   * keys: folder datasets' file keys of the ids (added by the engine, which knows the dataset).
   * reask: ids asked again because their answer is in doubt; cover: ids of regions no answer
   * covers yet (diverse); confirm: ids asked because their region rests on too few answers.
   * They come first in `ids`, in that order.
   */
  next: { ids: number[]; scores: number[]; p: number[]; keys?: string[]; reask?: number[]; cover?: number[]; confirm?: number[] }
}

/** How finely the out-of-sample refits converge. */
const OUT_OF_SAMPLE_TOLERANCE = 1e-6

/** The strategies that ask suspects again and confirm thin regions; random and seed-window stay plain baselines. */
export const CHECKING: readonly StrategyName[] = ['diverse', 'uncertainty']

export async function iterate(learner: Learner, cfg: LoopConfig, batches: Answer[][], skipped: number[]): Promise<IterationRecord> {
  const t0 = performance.now()
  const excluded = learner.clearedMask()
  for (const b of batches) for (const a of b) excluded[a.id] = 1
  for (const id of skipped) excluded[id] = 1
  const iteration = batches.length
  // With the regions covered, what is left of the batch goes to the strategy (diverse: uncertainty).
  const strategy = cfg.strategy === 'diverse' && learner.usesExactHead && CHECKING.includes(cfg.strategy) ? 'uncertainty' : cfg.strategy
  const blur = cfg.strategy === 'diverse' && learner.usesExactHead ? learner.blur : null
  // Uncertainty's scan rides on the fit's pass over the pool; the checks below only exclude more.
  await learner.fit(batches, strategy === 'uncertainty' ? { excluded, iteration, count: cfg.batchSize, blur } : undefined)
  const evaluation = learner.evaluate()
  const answers = learner.answers
  let suspects: Suspect[] | null = null
  let advice: Advice | null = null
  const extra: { reask: number[]; cover: number[]; confirm: number[]; scores: number[] } = { reask: [], cover: [], confirm: [], scores: [] }
  if (learner.usesExactHead) {
    const { pool } = learner.opts
    // Exact refits (from the full fit; a millionth is far finer than the thresholds) where a Newton step says an answer may be
    // in doubt and a screening refit does not clear it. Each refit keeps the prior of the full fit (the
    // evidence of every standing answer), as the Newton step and the screen do.
    const loo = learner.leaveOneOut()
    // Under TRUST_RULES 5, wide features: a screen that does not clear an answer runs on until its
    // score is within 1e-6, and that score stands; the exact refit only where it does not converge.
    const settles = learner.trust >= 5 && pool.dim > DUAL_MIN_DIM
    const done = settles ? settled : decided
    const oos = outOfSample(
      pool,
      answers,
      learner.params,
      (keep, init) => learner.exactFit(keep, init, OUT_OF_SAMPLE_TOLERANCE, answers),
      loo ? loo.scores : (learner.approximateLeaveOneOut() ?? undefined),
      loo ? (ks) => loo.refitScores(ks, (k, low, high) => done(answers[k].value, low, high)).map(screenedP) : undefined,
      (keep, left) => learner.exactP(left.id, keep, learner.params, OUT_OF_SAMPLE_TOLERANCE, answers),
      settles
    )
    suspects = suspectsOf(answers, oos, settledIds(batches, skipped))
    // A region is trusted on answers nobody doubts.
    const open = openSuspects(suspects)
    const counts = regionCounts(learner.regions, batches, new Set(open.map((s) => s.id)))
    const slip = slipRate(batches, open)
    if (CHECKING.includes(cfg.strategy)) {
      const regions = learner.regions
      const { batchSize: size, strategy } = cfg
      const { seed } = learner.opts
      const take = (ids: number[]) => (ids.forEach((id) => (excluded[id] = 1)), ids)
      // Under TRUST_RULES 4 a batch's confirmations keep a slot for the region waiting longest.
      const waiting = learner.trust >= 4
      // Doubted answers first; diverse then covers every region, and both confirm thin ones.
      extra.reask = cfg.reask === false ? [] : take(reasks(suspects, regions, batches, size))
      // Under TRUST_RULES 5 the region of a typical answer asked again is confirmed in the same batch
      // (first among the confirmations): the re-ask settles that image, and where it was the right
      // answer the others contradicted, the region's new image settles which of them slipped.
      const companions =
        learner.trust >= 5 ? new Set(extra.reask.filter((id) => regions.typical[id]).map((id) => regions.of[id])) : undefined
      if (strategy === 'diverse') {
        // The cold start's slots that covering does not need confirm the regions just answered,
        // so a wrong first answer meets its contradiction in the next batch, not after the cover.
        const uncovered = counts.filter((c) => c.last < 0).length
        const spare = Math.max(0, (cfg.coldStartBatches - iteration) * size - uncovered)
        const early = uncovered
          ? confirmations(
              regions,
              counts.filter((c) => c.last >= 0),
              slip,
              excluded,
              Math.min(spare, size - extra.reask.length),
              seed,
              iteration,
              [],
              waiting
            )
          : []
        extra.confirm = take(early)
        extra.cover = take(covers(regions, counts, excluded, size - extra.reask.length - early.length, seed, iteration))
      }
      // Uncertainty finds the regions nobody answered in itself (they sit at P 0.5): it confirms once all are answered.
      if (strategy === 'diverse' || counts.every((c) => c.touched))
        extra.confirm.push(
          ...take(
            confirmations(
              regions,
              counts,
              slip,
              excluded,
              size - extra.reask.length - extra.cover.length - extra.confirm.length,
              seed,
              iteration,
              [...extra.cover, ...extra.confirm],
              waiting,
              companions
            )
          )
        )
      const chance = new Map(suspects.map((s) => [s.id, chanceOf(s)]))
      const lead = new Map(counts.map((c) => [c.region, Math.abs(c.positive - c.negative)]))
      extra.scores = [
        ...extra.reask.map((id) => chance.get(id)!),
        ...extra.cover.map(() => 0),
        ...extra.confirm.map((id) => lead.get(regions.of[id]) ?? 0)
      ]
    }
    advice = adviceOf(learner, batches, open, counts, slip)
  }
  const room = cfg.batchSize - extra.reask.length - extra.cover.length - extra.confirm.length
  // A batch the checks filled leaves no room: no pass over the pool for nothing.
  const q = room > 0 ? learner.query(strategy, iteration, room, excluded, cfg.coldStartBatches, blur) : { ids: [], scores: [] }
  const ids = [...extra.reask, ...extra.cover, ...extra.confirm, ...q.ids]
  const iterationMs = performance.now() - t0
  return {
    ...evaluation,
    iteration,
    labels: answers.length,
    answers: batches.reduce((n, b) => n + b.length, 0),
    iterationMs,
    suspects,
    advice,
    next: {
      ids,
      scores: [...extra.scores, ...q.scores],
      p: ids.map((i) => learner.pAt(i)),
      ...(extra.reask.length ? { reask: extra.reask } : {}),
      ...(extra.cover.length ? { cover: extra.cover } : {}),
      ...(extra.confirm.length ? { confirm: extra.confirm } : {})
    }
  }
}

/** The lowest and the highest chance of the answer given that the scores from low to high give it. */
const chances = (value: 0 | 1, low: number, high: number): [number, number] => {
  const chance = (z: number) => (value === 1 ? 1 / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z)))
  return value === 1 ? [chance(low), chance(high)] : [chance(high), chance(low)]
}

/** The screen has decided once every score it can still reach gives the answer a chance on one side of CLEARED_CHANCE. */
const decided = (value: 0 | 1, low: number, high: number): boolean => {
  const [worst, best] = chances(value, low, high)
  return worst >= CLEARED_CHANCE || best < CLEARED_CHANCE
}

/** Rules 5, wide features: the screen stops early only to clear the answer; otherwise it runs on to its own 1e-6. */
const settled = (value: 0 | 1, low: number, high: number): boolean => chances(value, low, high)[0] >= CLEARED_CHANCE
const screenedP = (z: number | null): number | null => (z === null ? null : 1 / (1 + Math.exp(-z)))

/**
 * The advice after this fit, from the exact fits on the answers as they stood after each of the
 * last batches, and the regions' answers (under TRUST_RULES 3 a region the held-out split vouches
 * for needs no lead of answers).
 */
function adviceOf(learner: Learner, batches: Answer[][], open: Suspect[], counts: RegionCount[], slip: number): Advice {
  const k = batches.length
  const fits: { predicted: Uint8Array; testAccuracy: number | null }[] = []
  // The answers standing now are the fit's own (no standing() of them again).
  for (let back = Math.min(STEADY_BATCHES, k); back >= 0; back--)
    fits.push(learner.predictionsAt(back ? standing(batches.slice(0, k - back)) : learner.answers))
  const changed: number[] = []
  for (let f = 1; f < fits.length; f++) changed.push(changes(fits[f - 1].predicted, fits[f].predicted) / fits[f - 1].predicted.length)
  // One count over the held-out rows for both checks (the exact head's, made as it scores the split).
  const agreement = learner.heldOutAgreement
  const disputed = agreement ? disputedRegions(learner.regions, agreement) : 0
  const inputOf = (counts: RegionCount[], suspects: number): AdviceInput => {
    const vouched = learner.trust >= 3 && agreement ? vouchedRegions(counts, agreement) : new Set<number>()
    const thin = counts.filter((c) => unconfirmed(c, slip, STOP_TRUST))
    return {
      changed,
      heldOut: fits.map((f) => f.testAccuracy),
      suspects,
      unconfirmed: thin.filter((c) => !vouched.has(c.region)).length,
      ...(learner.trust >= 3 ? { vouched: thin.filter((c) => vouched.has(c.region)).length } : {}),
      disputed,
      labels: learner.answers.length
    }
  }
  const input = inputOf(counts, open.length)
  // Under TRUST_RULES 5, on narrow features, an answer in doubt holds the advice up only if asking
  // it again could still change the predictions (two exact fits each, looked at only when nothing
  // else holds it up; on wide features each would cost passes over the pool, so there every answer
  // in doubt still holds it up). One that cannot still counts in its region, as given.
  if (learner.trust < 5 || !open.length || learner.opts.pool.dim > DUAL_MIN_DIM) return stopAdvice(input)
  const asGiven = inputOf(regionCounts(learner.regions, batches), 0)
  if (!stopAdvice(asGiven).stop) return stopAdvice(input)
  const now = fits.at(-1)!
  // Under TRUST_RULES 6 the held-out split settles an answer in doubt that the fit already goes
  // against, in a region where it vouches for the fit (see overruled): asking it again could only
  // leave the predictions there or pull them away from what the held-out split confirms.
  const overruledBy = learner.trust >= 6 && agreement ? overruled(learner.regions, agreement, (id) => learner.pAt(id)) : () => false
  const ruled = open.filter((s) => overruledBy(s)).length
  const matter = open.filter(
    (s) =>
      !overruledBy(s) &&
      doubtMatters(
        now,
        reaskOutcomes(learner.answers, s.id).map((a) => learner.predictionsOf(a))
      )
  )
  return matter.length
    ? stopAdvice({ ...input, suspects: matter.length })
    : stopAdvice({ ...asGiven, harmless: open.length - ruled, ...(ruled ? { overruled: ruled } : {}) })
}

/**
 * The places where two arrays of 0s and 1s of one length differ: their xor counts them without a
 * branch on each, four bytes at a time where both start on a word (the product with 0x01010101
 * adds a word's four bytes, each 0 or 1, into its top byte).
 */
export function changes(a: Uint8Array, b: Uint8Array): number {
  let n = 0
  let i = 0
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2
    const [wa, wb] = [new Int32Array(a.buffer, a.byteOffset, words), new Int32Array(b.buffer, b.byteOffset, words)]
    for (let w = 0; w < words; w++) n += Math.imul(wa[w] ^ wb[w], 0x01010101) >>> 24
    i = words * 4
  }
  for (; i < a.length; i++) n += a[i] ^ b[i]
  return n
}

export const coldStartBatches = (baseClasses: number, batchSize: number) => Math.ceil(baseClasses / batchSize)

/** What `diverse` covers first: the base's classes, or (a base without class outputs) about ten picks. */
export const coldStartClasses = (base: { classNames: string[] }) => base.classNames.length || 10

/** Iterations the warm-up runs, and the rows of the pool and held-out split its throwaway learner gets. */
export const WARM_UP_ITERATIONS = 100
const WARM_UP_ROWS = 2048
const WARM_UP_TEST_ROWS = 1024

/**
 * Runs the iteration's code (fit, checks, advice, pick) WARM_UP_ITERATIONS times on a throwaway
 * learner over the first rows of a session's features, so that V8 has compiled it before the
 * labeller's first answers: in a fresh process the first few dozen iterations ran in code not yet
 * optimized, 3-5x slower (see README, Performance). The studio's engine runs it one iteration at a
 * time while it has no call to answer (the first batch is on screen), so no call waits on more
 * than one of its iterations. Its answers are a rule of the features themselves (the parity of a
 * row's largest feature, one answer in seven the other way, so the checks find answers in doubt),
 * batches of the session's size, started over every 30 batches. The session's learner is not
 * touched: its records are the same with or without the warm-up. The exact head on narrow
 * features only (elsewhere the fits' arithmetic, not V8, is the cost): `of` gives null otherwise.
 */
export class WarmUp {
  private batches: Answer[][] = []
  private given = 0
  /** Iterations run; WARM_UP_ITERATIONS once the throwaway is released (so only once). */
  private done = 0

  private constructor(
    private readonly throwaway: Learner,
    private readonly base: tf.Sequential,
    private readonly small: FeatureMatrix,
    private readonly cfg: LoopConfig
  ) {}

  static of(learner: Learner, cfg: LoopConfig): WarmUp | null {
    const { pool, test, poolTruth, testTruth } = learner.opts
    if (!learner.usesExactHead || pool.dim > DUAL_MIN_DIM || pool.count < 2 * cfg.batchSize) return null
    const head = (m: FeatureMatrix, n: number): FeatureMatrix => {
      const count = Math.min(n, m.count)
      return { count, dim: m.dim, data: m.data.slice(0, count * m.dim) }
    }
    const small = head(pool, WARM_UP_ROWS)
    const smallTest = test && head(test, WARM_UP_TEST_ROWS)
    const truth = (m: FeatureMatrix) => Int8Array.from({ length: m.count }, (_, i) => WarmUp.answer(m, i))
    // A stand-in base of no weights: the throwaway shares no layer or tensor with the session.
    const base = tf.sequential({ layers: [tf.layers.activation({ activation: 'linear', inputShape: [pool.dim] })] })
    const throwaway = new Learner({
      ...learner.opts,
      base,
      featureLayer: undefined,
      inputSize: null,
      pool: small,
      test: smallTest,
      poolTruth: poolTruth && truth(small),
      testTruth: smallTest && testTruth ? truth(smallTest) : null
    })
    return new WarmUp(throwaway, base, small, cfg)
  }

  private static answer(m: FeatureMatrix, i: number): 0 | 1 {
    let best = 0
    for (let j = 1; j < m.dim; j++) if (m.data[i * m.dim + j] > m.data[i * m.dim + best]) best = j
    return (best % 2) as 0 | 1
  }

  /** One iteration of the warm-up; false once all have run (the throwaway is then disposed). */
  async step(): Promise<boolean> {
    if (this.done >= WARM_UP_ITERATIONS) return false
    const r = await iterate(this.throwaway, this.cfg, this.batches, [])
    this.throwaway.warmEdges()
    if (!r.next.ids.length || this.batches.length >= 30) this.batches = []
    else
      this.batches.push(
        r.next.ids.map((id) => ({ id, value: ((WarmUp.answer(this.small, id) + (++this.given % 7 ? 0 : 1)) % 2) as 0 | 1 }))
      )
    if (this.done + 1 < WARM_UP_ITERATIONS) {
      this.done++
      return true
    }
    this.dispose()
    return false
  }

  dispose(): void {
    if (this.done >= WARM_UP_ITERATIONS) return
    this.done = WARM_UP_ITERATIONS
    this.throwaway.dispose()
    this.base.dispose()
  }
}

/** The whole warm-up at once (the benches, which measure iterations as the studio runs them after it). */
export async function warmUp(learner: Learner, cfg: LoopConfig): Promise<void> {
  const w = WarmUp.of(learner, cfg)
  if (!w) return
  try {
    while (await w.step());
  } finally {
    w.dispose()
  }
}
