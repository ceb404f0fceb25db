// Rebuilding a recorded session in process: its model from the log alone, checked against what
// was recorded (--verify), and the recorded answers replayed under another strategy or seed.
// Recording a simulated run is record.ts.
import { dirname, resolve } from 'node:path'
import type { BaselinePoint, SessionConfig, StrategyName } from '../../shared/contract'
import { CHOSEN } from '../../shared/schema'
import { CuratorError } from '../../shared/errors'
import { baselineOf } from '../engine/baseline'
import type { Progress } from '../../shared/progress'
import { initBackend } from '../engine/backend'
import { defaultBaseDir, findBase, retrainedBases } from '../engine/base'
import { FeaturizerName, onnxRuntimeLoads } from '../engine/featurizer'
import { defaultDataDir } from '../paths'
import { iterate, IterationRecord, LoopConfig, loopConfigOf } from '../engine/loop'
import { disposePrepared, prepare, Prepared } from '../engine/setup'
import { derive, Derived, engineBatches } from './derive'
import type { QueryEvent, TrainEvent } from './events'
import { VERSION } from '../version'
import type { TrainerName } from '../engine/parallel-train'
import { readSessionLog } from './log'

/** Across backends, head weights and bias must agree within this (absolute). */
export const WEIGHT_TOLERANCE = 1e-4
/** Across backends, held-out and labelled accuracy must agree within this (absolute). */
export const ACCURACY_TOLERANCE = 1e-3
/** What a what-if replay can and cannot do; part of its output. */
export const WHAT_IF_NOTE =
  'What-if replays the recorded answers in order; it cannot ask new images. Labels exist only for the images that were asked, ' +
  'so every iteration is fitted on the same answers as the recording; the other strategy only decides which images it would have asked next.'

// ---- the engine, in process, for a recorded session -----------------------------------------

export interface ReplayOptions {
  /** Features cache (default: CURATOR_CACHE_DIR or the user cache folder). */
  cacheDir?: string
  /** Base model folder (default: CURATOR_BASE_MODEL or the shipped model). */
  baseDir?: string
  onProgress?: (p: Progress) => void
}

export interface Loaded {
  dir: string
  d: Derived
  logWarnings: string[]
  backend: string
  /** The featurizer the features were computed with here. */
  features: FeaturizerName
  /** What trains the suffix here (the recorded one where it runs). */
  trainer: TrainerName
  p: Prepared
  loop: LoopConfig
  /** Problems that make a faithful rebuild unlikely (another dataset or base model). */
  drift: string[]
}

async function load(dir: string, config: (c: SessionConfig) => SessionConfig, opts: ReplayOptions): Promise<Loaded> {
  const target = resolve(dir)
  const { events, warnings } = await readSessionLog(target)
  const d = derive(events)
  const cfg = config(d.start.config)
  const backend = await initBackend()
  // The base it was recorded on, if it is here (shipped, or retrained into the data folder).
  // A session in <data folder>/sessions/<id> finds the bases retrained into that data folder
  // (a desktop session verifies on its own retrained base), then the CLI's default one.
  const dataDirs = [...new Set([dirname(dirname(target)), defaultDataDir()])]
  const baseDir = opts.baseDir ?? findBase(d.start.base.hash, [defaultBaseDir(), ...dataDirs.flatMap(retrainedBases)])
  // Rebuilt on another base, every fit would differ: say which base it needs instead.
  if (baseDir === null)
    throw new CuratorError(
      'NOT_FOUND',
      `This session was recorded on the base model "${d.start.base.id}" (hash ${d.start.base.hash.slice(0, 12)}), which is neither the default base nor one retrained into the data folder: give its folder with --base DIR`
    )
  // The features it was recorded on (ONNX Runtime's differ from TF.js's in the last bits).
  const recorded = d.start.features ?? 'tfjs'
  const featurizer = recorded === 'onnxruntime' && !onnxRuntimeLoads() ? 'tfjs' : recorded
  // And the suffix trained on what trained it (the learner falls back to TF.js where ONNX Runtime cannot run).
  const trainer = d.start.trainer ?? 'tfjs'
  // And the exact head's rules it was recorded with (absent: the first).
  const trust = d.start.trust ?? 1
  const p = await prepare(cfg, { backend, featurizer, trainer, trust, cacheDir: opts.cacheDir, baseDir, onProgress: opts.onProgress })
  const drift: string[] = []
  if (featurizer !== recorded) drift.push(`recorded on ${recorded} features, which cannot run here; rebuilt on ${featurizer}'s`)
  const trainedOn = p.learner.trainer ?? trainer
  if (trainedOn !== trainer) drift.push(`trained on ${trainer}, which cannot run here; retrained on ${trainedOn}`)
  if (p.dataset.hash !== d.start.dataset.hash)
    drift.push(`the dataset differs from the recorded one (hash ${d.start.dataset.hash}, now ${p.dataset.hash})`)
  if (p.base.hash !== d.start.base.hash)
    drift.push(`the base model differs from the recorded one (hash ${d.start.base.hash}, now ${p.base.hash})`)
  if (d.start.app !== `curator ${VERSION}`) drift.push(`recorded by ${d.start.app}, replayed by curator ${VERSION}: the engine may differ`)
  const loop = loopConfigOf(cfg, p.base)
  return { dir: target, d, logWarnings: [...warnings, ...d.warnings], backend, features: featurizer, trainer: trainedOn, p, loop, drift }
}

/** Runs `fn` on a recorded session loaded in process (its dataset, base and learner), then frees it. */
export async function withRecorded<T>(dir: string, opts: ReplayOptions, fn: (s: Loaded) => Promise<T>): Promise<T> {
  const s = await load(dir, (c) => c, opts)
  try {
    return await fn(s)
  } finally {
    disposePrepared(s.p)
  }
}

/** The random baseline at a recorded session's label counts; empty without ground truth or its features. */
export async function recordedBaseline(dir: string, opts: ReplayOptions = {}): Promise<BaselinePoint[]> {
  try {
    return await withRecorded(dir, opts, async (s) => baselineOf(s.p, s.d.start.config.seed)?.at(s.d.trains.map((t) => t.labels)) ?? [])
  } catch {
    return []
  }
}

/** The skipped images of the first k completed batches. */
export const skippedOf = (d: Derived, k: number): number[] =>
  d.done.slice(0, k).flatMap((b) => b.answers.filter((a) => a.value === null).map((a) => a.id))

/** The query recorded right after fit k: batch k's, or the one being answered now. */
export const queryAfter = (d: Derived, k: number): QueryEvent | null =>
  k < d.done.length ? d.done[k].query : k === d.done.length ? (d.current?.query ?? null) : null

// ---- verified replay ------------------------------------------------------------------------

export interface Mismatch {
  iteration: number
  /** labels, answers, headWeights[i], headBias, testAccuracy, labelledAccuracy, histogram.counts[i], histogram.byTruth[c][i], query.ids, query.reask / cover / confirm, suspects, advice or batch. */
  field: string
  recorded: unknown
  recomputed: unknown
}

export interface IterationCheck {
  /** Position of the train event among the session's standing fits. */
  index: number
  iteration: number
  labels: number
  ok: boolean
  /** Every field that differs (empty when ok). Query differences across backends are listed but do not fail. */
  mismatches: Mismatch[]
  /** The recorded next query was compared (absent when the log ends before the query was written). */
  queryCompared: boolean
}

export interface VerifyResult {
  dir: string
  sessionId: string
  recordedBackend: string
  backend: string
  /** exact: same backend, every number must be identical. tolerance: another backend. */
  mode: 'exact' | 'tolerance'
  tolerance: { weights: number; accuracy: number } | null
  iterations: IterationCheck[]
  ok: boolean
  firstMismatch: Mismatch | null
  /** Log problems and drift (another dataset or base model than recorded). */
  warnings: string[]
}

/**
 * Rebuilds the model from the log alone, fit by fit, and compares each recorded train event
 * (head weights and bias, held-out and labelled accuracy, label count, histogram) and the
 * next query with the recomputed ones: exactly (===) when this backend is the recorded one,
 * else within WEIGHT_TOLERANCE / ACCURACY_TOLERANCE (histogram and query order then may
 * differ near the 0.5 boundary and are not required to match).
 */
export async function verifyReplay(dir: string, opts: ReplayOptions = {}): Promise<VerifyResult> {
  const s = await load(dir, (c) => c, opts)
  try {
    const { d, p, loop } = s
    const exact = s.backend === d.start.backend && s.features === (d.start.features ?? 'tfjs') && s.trainer === (d.start.trainer ?? 'tfjs')
    const iterations: IterationCheck[] = []
    for (const [index, t] of d.trains.entries()) {
      const k = t.iteration
      // Each fit is rebuilt from the answers it stood on when it was written (a later relabel or re-ask changes later fits only).
      const fit = d.fits[index]
      if (fit.batches.length !== k) {
        const m: Mismatch = {
          iteration: k,
          field: 'batch',
          recorded: `a fit after ${k} batches`,
          recomputed: `only ${fit.batches.length} completed batches in the log`
        }
        iterations.push({ index, iteration: k, labels: t.labels, ok: false, mismatches: [m], queryCompared: false })
        continue
      }
      const r = await iterate(p.learner, loop, fit.batches, fit.skipped)
      // A batch the labeller chose in the pool browser is not the strategy's to reproduce.
      const q = fit.query?.strategy === CHOSEN ? null : fit.query
      const { failing, notes } = compare(t, r, q, exact)
      iterations.push({
        index,
        iteration: k,
        labels: t.labels,
        ok: failing.length === 0,
        mismatches: [...failing, ...notes],
        queryCompared: q !== null
      })
    }
    const first = iterations.find((it) => !it.ok)
    return {
      dir: s.dir,
      sessionId: d.start.id,
      recordedBackend: d.start.backend,
      backend: s.backend,
      mode: exact ? 'exact' : 'tolerance',
      tolerance: exact ? null : { weights: WEIGHT_TOLERANCE, accuracy: ACCURACY_TOLERANCE },
      iterations,
      ok: !first,
      firstMismatch: first ? first.mismatches[0] : null,
      warnings: [...s.logWarnings, ...s.drift]
    }
  } finally {
    disposePrepared(s.p)
  }
}

function compare(t: TrainEvent, r: IterationRecord, q: QueryEvent | null, exact: boolean): { failing: Mismatch[]; notes: Mismatch[] } {
  const failing: Mismatch[] = []
  const notes: Mismatch[] = []
  const k = t.iteration
  const differ = (field: string, recorded: unknown, recomputed: unknown) => failing.push({ iteration: k, field, recorded, recomputed })
  const close = (a: number | null, b: number | null, tol: number) =>
    a === null || b === null ? a === b : exact ? a === b : Math.abs(a - b) <= tol

  if (t.labels !== r.labels) differ('labels', t.labels, r.labels)
  if (t.headWeights.length !== r.headWeights.length) differ('headWeights.length', t.headWeights.length, r.headWeights.length)
  else t.headWeights.forEach((w, i) => close(w, r.headWeights[i], WEIGHT_TOLERANCE) || differ(`headWeights[${i}]`, w, r.headWeights[i]))
  if (!close(t.headBias, r.headBias, WEIGHT_TOLERANCE)) differ('headBias', t.headBias, r.headBias)
  if (!close(t.testAccuracy, r.testAccuracy, ACCURACY_TOLERANCE)) differ('testAccuracy', t.testAccuracy, r.testAccuracy)
  if (!close(t.labelledAccuracy, r.labelledAccuracy, ACCURACY_TOLERANCE)) differ('labelledAccuracy', t.labelledAccuracy, r.labelledAccuracy)
  // Counts near the 0.5 boundary and the uncertainty ranking may legitimately move across
  // backends; on the same backend they must be identical.
  const soft = (field: string, recorded: unknown, recomputed: unknown) =>
    (exact ? failing : notes).push({ iteration: k, field, recorded, recomputed })
  t.histogram.counts.forEach((n, i) => n === r.histogram.counts[i] || soft(`histogram.counts[${i}]`, n, r.histogram.counts[i]))
  if ((t.histogram.byTruth === null) !== (r.histogram.byTruth === null)) soft('histogram.byTruth', t.histogram.byTruth, r.histogram.byTruth)
  else if (t.histogram.byTruth && r.histogram.byTruth) {
    for (const c of [0, 1])
      t.histogram.byTruth[c].forEach(
        (n, i) => n === r.histogram.byTruth![c][i] || soft(`histogram.byTruth[${c}][${i}]`, n, r.histogram.byTruth![c][i])
      )
  }
  if (q && JSON.stringify(q.ids) !== JSON.stringify(r.next.ids)) soft('query.ids', q.ids, r.next.ids)
  for (const why of ['reask', 'cover', 'confirm'] as const)
    if (q && JSON.stringify(q[why] ?? []) !== JSON.stringify(r.next[why] ?? [])) soft(`query.${why}`, q[why] ?? [], r.next[why] ?? [])
  // The checks of the answers, where the log has them (older logs do not).
  if (t.answers !== undefined && t.answers !== r.answers) differ('answers', t.answers, r.answers)
  if (t.suspects !== undefined) {
    const recomputed = r.suspects?.map((x) => ({ id: x.id, p: x.p, ...(x.settled ? { settled: true } : {}) })) ?? null
    const ids = (l: { id: number }[] | null) => JSON.stringify(l?.map((x) => x.id) ?? null)
    if (ids(t.suspects) !== ids(recomputed)) soft('suspects', t.suspects, recomputed)
    else if (!t.suspects.every((x, i) => close(x.p, recomputed![i].p, ACCURACY_TOLERANCE))) soft('suspects.p', t.suspects, recomputed)
  }
  if (t.advice !== undefined && (t.advice.stop !== r.advice?.stop || t.advice.reason !== r.advice?.reason))
    soft('advice', t.advice, r.advice)
  return { failing, notes }
}

// ---- what-if --------------------------------------------------------------------------------

export interface WhatIfIteration {
  iteration: number
  labels: number
  testAccuracy: number | null
  labelledAccuracy: number | null
  /** The held-out accuracy the recording had at this iteration (null when not recorded). */
  recordedTestAccuracy: number | null
  /** The images the other strategy would ask next. */
  wouldAsk: number[]
  /** How many of them the recording has an answer for (the others were never asked). */
  wouldAskAnswered: number
}

export interface WhatIfResult {
  note: string
  dir: string
  recorded: { strategy: StrategyName; seed: number }
  strategy: StrategyName
  seed: number
  fit: SessionConfig['fit']
  backend: string
  iterations: WhatIfIteration[]
  warnings: string[]
}

/**
 * Replays the recorded answers only, batch by batch in their recorded order, under another
 * strategy and/or seed, and reports the accuracy per iteration. Labels for images never
 * asked cannot exist, so the fits use exactly the recorded answers (see WHAT_IF_NOTE); the
 * strategy decides only what would have been asked next, reported with how many of those
 * images have a recorded answer.
 */
export async function whatIf(
  dir: string,
  change: { strategy?: StrategyName; seed?: number },
  opts: ReplayOptions = {}
): Promise<WhatIfResult> {
  const s = await load(dir, (c) => ({ ...c, strategy: change.strategy ?? c.strategy, seed: change.seed ?? c.seed }), opts)
  try {
    const { d, p, loop } = s
    const batches = engineBatches(d)
    const answered = new Set(batches.flat().map((a) => a.id))
    const recorded = new Map(d.trains.map((t) => [t.iteration, t.testAccuracy]))
    const iterations: WhatIfIteration[] = []
    for (let k = 0; k <= batches.length; k++) {
      const r = await iterate(p.learner, loop, batches.slice(0, k), skippedOf(d, k))
      iterations.push({
        iteration: k,
        labels: r.labels,
        testAccuracy: r.testAccuracy,
        labelledAccuracy: r.labelledAccuracy,
        recordedTestAccuracy: recorded.get(k) ?? null,
        wouldAsk: r.next.ids,
        wouldAskAnswered: r.next.ids.filter((id) => answered.has(id)).length
      })
    }
    const cfg = d.start.config
    return {
      note: WHAT_IF_NOTE,
      dir: s.dir,
      recorded: { strategy: cfg.strategy, seed: cfg.seed },
      strategy: loop.strategy,
      seed: change.seed ?? cfg.seed,
      fit: cfg.fit,
      backend: s.backend,
      iterations,
      warnings: [...s.logWarnings, ...s.drift]
    }
  } finally {
    disposePrepared(s.p)
  }
}
