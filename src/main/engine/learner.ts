// The transfer loop on cached features: fit the head (and any unfrozen suffix), score the
// pool, evaluate on the held-out split and pick the next batch. Deterministic for a given
// (labels, seed, backend).
import * as tf from '@tensorflow/tfjs'
import type { FitName, HistogramDto, StrategyName } from '../../shared/contract'
import type { FeatureMatrix } from './features'
import {
  BINS,
  binOfLogit,
  binsOfP,
  classEvidencePriors,
  DUAL_MIN_DIM,
  featureScale,
  fitLogistic,
  FitOptions,
  leaveOneOutScoresDual,
  sigmoid,
  dualScore,
  LeaveOneOutDual,
  LeaveOneOut,
  logits as headLogits,
  positiveAt,
  probability,
  HeadParams,
  KernelCache,
  L2
} from './head'
import { allAnswers, heldOutAgreement, Regions } from './trust'
import { wideLogitsOf } from './wide-logits'
import { BIN_ROWS, PoolBins } from './pool-bins'
import { onnxRuntimeLoads } from './featurizer'
import { query, Query, UncertaintyScan } from './strategies'
import { buildTransfer, TransferModel } from './transfer'
import { Adam, type TrainerName } from './parallel-train'
import { defaultSuffixTrainer, SuffixTrainer, suffixTrainLayers } from './suffix-train'

export interface LearnerOptions {
  base: tf.LayersModel
  unfreeze: number
  /** The base layer the head sits on (default: the base's output). */
  featureLayer?: string
  /** Height and width of the images the base gets (the split's shape where the base takes any size). */
  inputSize?: [number, number] | null
  /** The base's class outputs (0: none): where the features are those outputs, they are the pool's regions. */
  classes?: number
  fit: FitName
  /** What trains the suffix without the exact head (default: defaultSuffixTrainer; ONNX Runtime falls back to TF.js where it cannot). */
  trainer?: TrainerName
  seed: number
  pool: FeatureMatrix
  test: FeatureMatrix | null
  /** 1 positive, 0 negative, -1 unknown; null when the set has no ground truth. */
  poolTruth: Int8Array | null
  testTruth: Int8Array | null
  /** The version of the exact head's rules the session runs on (absent: 1, as sessions recorded before versions; see TRUST_RULES). */
  trust?: number
}

/**
 * The exact head's rules, by version (recorded in the session's start event; absent: 1).
 * 1: on wide features, also the dual fit and the K-fold checks of the answers of then (see
 * fitLogisticDualRules1), so that sessions recorded on a wide base before versions replay exactly.
 * 2: on narrow class-output features, the priors of classEvidencePriors: a class no answer
 * clearly speaks for keeps the answer it has with no answers at all.
 * 3: the stop advice trusts a region the held-out split vouches for (see vouchedRegions).
 * 4: a batch's confirmations keep a slot for the region waiting longest (see confirmations).
 * 5: on wide features, the checks' screen (LeaveOneOutDual.refitScore) runs on to its 1e-6 where
 * it does not clear an answer, and its P stands: an exact refit only where it does not converge.
 * On narrow features, an answer in doubt holds up the stop advice only if asking it again could
 * change the predictions (see doubtMatters); on every base, a re-asked answer's region is
 * confirmed in the same batch (confirmations' `first`).
 * 6: an answer in doubt the held-out split overrules (the fit gives the other answer, and the split
 * vouches for the fit in its region) does not hold up the stop advice (see overruled).
 */
export const TRUST_RULES = 6

export interface Answer {
  id: number
  value: 0 | 1
  /** The labeller changed this answer afterwards, on purpose (the history panel). */
  relabelled?: boolean
  /** The image was given this answer this many times (re-asks that agreed, > 1): it counts that often in the fit. */
  times?: number
}

/**
 * The answers that stand: an image answered more than once (re-asked) stands once, with its
 * latest answer, at the place of that answer, counting as often as that answer was given to it
 * (two answers that agree are stronger than one). Without re-asks, batches.flat().
 */
export function standing(batches: Answer[][]): Answer[] {
  const all = allAnswers(batches)
  const last = new Map(all.map((a, k) => [a.id, k]))
  const times = new Map<number, number>()
  for (const a of all) if (a.value === all[last.get(a.id)!].value) times.set(a.id, (times.get(a.id) ?? 0) + 1)
  return all.filter((a, k) => last.get(a.id) === k).map((a) => (times.get(a.id)! > 1 ? { ...a, times: times.get(a.id) } : a))
}

/** How much each answer counts in the exact fit: its image's clarity (null: 1) times the times it was given. */
function answerWeights(answers: Answer[], clarity: Float32Array | null): number[] | null {
  if (!clarity && answers.every((a) => !a.times)) return null
  return answers.map((a) => (clarity ? clarity[a.id] : 1) * (a.times ?? 1))
}

export interface Evaluation {
  testAccuracy: number | null
  labelledAccuracy: number | null
  /** Mean log loss of the head on the labels given (null without labels). */
  loss: number | null
  histogram: HistogramDto
  headWeights: number[]
  headBias: number
}

/** The power of the base's top-class probability an answer counts with (see Learner.clarity). */
const CLARITY_POWER = 2
/** Adam steps used to fit an unfrozen suffix when fit = converge. */
const SUFFIX_STEPS = 150
const SUFFIX_LR = 0.01
/** The 2019 demo: Adam lr 0.1, one step per iteration, optimizer state kept. */
const ORIGINAL_LR = 0.1

export class Learner {
  readonly transfer: TransferModel
  /**
   * The exact head's logits for the pool and the test split (null for a head on TF.js): the
   * iteration reads what it needs from them, and P(positive) is computed only when asked for.
   */
  poolZ: Float64Array | null = null
  testZ: Float64Array | null = null
  private poolPOf: Float32Array
  private testPOf: Float32Array | null
  /** poolPOf and testPOf hold the current head's P (always, for a head on TF.js). */
  private pFresh = true
  /** The TF.js head holds the exact head's weights (written only when the model is needed). */
  private headWritten = true
  private head: HeadParams
  private readonly initialWeights: tf.Tensor[]
  private optimizer: tf.AdamOptimizer | null = null
  /** What trains the suffix (null: the exact head, plain TypeScript). Sessions record it: replay needs the same for exact results. */
  readonly trainer: TrainerName | null
  /** With ONNX Runtime: the suffix's weights and, for fit = original, the Adam state kept between fits. */
  private readonly ort: SuffixTrainer | null = null
  private adam: Adam | null = null
  /** For fit = original: the batches the current state was trained on, to extend incrementally. */
  private trainedBatches: Answer[][] = []
  private labelled: Answer[] = []
  private poolTensor: tf.Tensor | null = null
  private testTensor: tf.Tensor | null = null
  private scale: Float64Array | null = null
  /** A fit has run (the constructor's scoring of the zero head has not: see logitsOf). */
  private fitted = false
  private kernel: KernelCache | null = null
  /** The exact head's histogram of the pool, by bin and truth (unknown, negative, positive), counted as it scores the pool. */
  private readonly cells = new Int32Array(BINS * 3)
  /** The pass's histogram counts in WebAssembly (null: in JS; undefined: not made yet). */
  private bins: PoolBins | null | undefined = undefined
  /** Uncertainty's scan of the pool, made in the pass that scored it (see fit). */
  private scanned: UncertaintyScan | null = null
  private mask: Uint8Array | null = null
  /** The exact head's held-out answers (1 where P >= 0.5) and accuracy, found as it scores the split. */
  private testPositive: Uint8Array | null = null
  private testAccuracyNow: number | null = null
  /** The held-out rows the head gets wrong (their first entries), a list reused by each pass. */
  private testWrong: Int32Array | null = null
  /** The held-out rows of known truth, in all and (once the regions are known) by region. */
  private testRows: { known: number; byRegion: Int32Array | null } | null = null
  /** heldOutAgreement of the exact head's held-out answers, counted in the same pass (null: not counted there). */
  private agreementNow: { right: Int32Array; rows: Int32Array } | null = null
  private clarityOf: Float32Array | null = null
  private blurOf: Float32Array | null = null
  private regionsOf: Regions | null = null
  private testRegionsOf: Int32Array | null = null
  /** Exact fits of earlier answers (the stop advice compares the last ones), oldest first, with the answers as fitted (answerRows). */
  private readonly earlier: { rows: Float64Array; out: { predicted: Uint8Array; testAccuracy: number | null } }[] = []
  /** classEvidencePriors of the answers last asked about (an answer set is never changed in place). */
  private priorsOf: { from: Answer[]; priors: Pick<FitOptions, 'priors' | 'bias'> } | null = null
  /** The exact head's predictions at every sampleStep-th pool row, made in the pool pass (see predictionsOf). */
  private poolSigns: Uint8Array | null = null

  readonly opts: LearnerOptions

  constructor(options: LearnerOptions) {
    const opts = (this.opts = optionsOf(options))
    this.transfer = buildTransfer(opts.base, opts.unfreeze, opts.seed, opts.featureLayer, opts.inputSize)
    this.initialWeights = this.transfer.suffix.getWeights().map((w) => w.clone())
    this.poolPOf = new Float32Array(opts.pool.count)
    this.testPOf = opts.test ? new Float32Array(opts.test.count) : null
    this.head = this.readHead()
    this.trainer = this.usesExactHead ? null : (opts.trainer ?? defaultSuffixTrainer(this.transfer))
    const layers = this.trainer === 'onnxruntime' ? suffixTrainLayers(this.transfer) : null
    if (typeof layers === 'string' || (layers && !onnxRuntimeLoads())) this.trainer = 'tfjs'
    else if (layers) this.ort = new SuffixTrainer(this.transfer, layers)
    if (this.usesExactHead) {
      // The exact head starts at zero (p = 0.5 everywhere); the exported model must agree.
      this.head = { weights: new Float64Array(this.head.weights.length), bias: 0 }
      this.poolZ = new Float64Array(opts.pool.count)
      this.testZ = opts.test ? new Float64Array(opts.test.count) : null
      this.headWritten = false
    }
    this.score()
  }

  /** P(positive) for the pool under the current head. */
  get poolP(): Float32Array {
    this.freshP()
    return this.poolPOf
  }

  /** P(positive) for the test split under the current head. */
  get testP(): Float32Array | null {
    this.freshP()
    return this.testPOf
  }

  /** 1 where the held-out P(positive) is >= 0.5, else 0 (null without a test split); the exact head's without computing P. */
  get testPredicted(): Uint8Array | null {
    if (this.testZ) return this.testPositive
    return this.testPOf && Uint8Array.from(this.testPOf, (p) => (p >= 0.5 ? 1 : 0))
  }

  /** A pool-sized mask, all 0, for an iteration's excluded images (a million images: no new megabyte each iteration); the next call clears it. */
  clearedMask(): Uint8Array {
    return this.mask ? this.mask.fill(0) : (this.mask = new Uint8Array(this.opts.pool.count))
  }

  /** P(positive) of pool image i under the current head (without computing the whole pool's). */
  pAt(i: number): number {
    return this.pFresh ? this.poolPOf[i] : probability(this.poolZ![i])
  }

  private freshP(): void {
    if (this.pFresh) return
    const toP = (z: Float64Array, p: Float32Array) => {
      for (let i = 0; i < z.length; i++) p[i] = probability(z[i])
    }
    toP(this.poolZ!, this.poolPOf)
    if (this.testZ && this.testPOf) toP(this.testZ, this.testPOf)
    this.pFresh = true
  }

  /** The exact head's rules this session runs on (see TRUST_RULES). */
  get trust(): number {
    return this.opts.trust ?? 1
  }

  /** With the whole base frozen and fit = converge, the head is an exact logistic regression in plain JS. */
  get usesExactHead(): boolean {
    return this.opts.unfreeze === 0 && this.opts.fit === 'converge'
  }

  /**
   * Refits from the answers given batch by batch (oldest first) and rescores the pool. With
   * `scan` (the exact head), uncertainty's pass over the pool is made in the same pass, for the
   * query that follows (see query).
   */
  async fit(batches: Answer[][], scan?: PoolScan): Promise<void> {
    this.fitted = true
    this.labelled = standing(batches)
    this.scanned = null
    if (this.usesExactHead) {
      this.head = this.exactFit(this.labelled)
      this.headWritten = false
    } else if (this.opts.fit === 'converge') {
      this.reset()
      if (this.labelled.length && this.ort) {
        const { x, y } = this.rows(this.labelled)
        await this.ort.train(new Adam(this.ort.weights.length, SUFFIX_LR), x, y, this.labelled.length, SUFFIX_STEPS)
      } else if (this.labelled.length) {
        const optimizer = tf.train.adam(SUFFIX_LR)
        const [x, y] = this.batchTensors(this.labelled)
        for (let s = 0; s < SUFFIX_STEPS; s++) this.step(optimizer, x, y)
        tf.dispose([x, y])
        optimizer.dispose()
      }
      this.ort?.writeWeights()
      this.head = this.readHead()
    } else {
      // One Adam step per batch, continuing from the state after the batches already seen.
      const extends_ = this.trainedBatches.length <= batches.length && this.trainedBatches.every((b, i) => sameAnswers(b, batches[i]))
      if (!extends_) {
        this.reset()
        this.trainedBatches = []
      }
      for (const batch of batches.slice(this.trainedBatches.length)) {
        const soFar = standing(batches.slice(0, this.trainedBatches.length + 1))
        if (this.ort) {
          this.adam ??= new Adam(this.ort.weights.length, ORIGINAL_LR)
          const { x, y } = this.rows(soFar)
          await this.ort.train(this.adam, x, y, soFar.length, 1)
        } else {
          this.optimizer ??= tf.train.adam(ORIGINAL_LR)
          const [x, y] = this.batchTensors(soFar)
          this.step(this.optimizer, x, y)
          tf.dispose([x, y])
        }
        this.trainedBatches.push(batch)
      }
      this.ort?.writeWeights()
      this.head = this.readHead()
    }
    this.score(scan)
  }

  /** The exact head's options: the prior matched to this pool's features. */
  get fitOptions(): FitOptions {
    const { data, dim } = this.opts.pool
    this.scale ??= featureScale(data, dim)
    if (dim > DUAL_MIN_DIM) this.kernel ??= new KernelCache(data, dim, this.scale, L2)
    return { scale: this.scale, kernel: this.kernel }
  }

  /**
   * How clearly the base reads each pool image, where its features are the base's class outputs:
   * its top class's probability, squared. An image the base is torn about counts for less, so a
   * few of them answered one way cannot pull a whole class over (null: every answer counts 1).
   */
  get clarity(): Float32Array | null {
    const { pool, classes = 0 } = this.opts
    if (pool.dim !== classes || classes < 2) return null
    if (!this.clarityOf) {
      const c = new Float32Array(pool.count)
      for (let i = 0; i < pool.count; i++) {
        let m = 0
        for (let j = 0, b = i * pool.dim; j < pool.dim; j++) m = Math.max(m, pool.data[b + j])
        c[i] = m ** CLARITY_POWER
      }
      this.clarityOf = c
    }
    return this.clarityOf
  }

  /**
   * What `diverse` adds to an image's uncertainty once the pool is covered: how far the base is
   * from reading it clearly (1 - its top class's probability). It asks the images the head is
   * least sure of among those the base reads clearly: answers the other answers can check, where
   * a wrong one is found; an image the base is torn about could not be checked, and barely moves
   * a head that weighs it by its clarity.
   */
  get blur(): Float32Array | null {
    const { pool, classes = 0 } = this.opts
    if (pool.dim !== classes || classes < 2) return null
    this.blurOf ??= Float32Array.from(this.clarity!, (c) => 1 - Math.sqrt(c))
    return this.blurOf
  }

  /**
   * The exact head's options on these answers: how much each counts and, under TRUST_RULES 2 on
   * class outputs, the priors of the evidence in `priorFrom` (default: these answers).
   */
  private optionsFor(answers: Answer[], priorFrom: Answer[] = answers): FitOptions {
    const { pool } = this.opts
    const options = { ...this.fitOptions, weights: answerWeights(answers, this.clarity), rules1Dual: this.rules1Dual }
    if (this.trust < 2 || !this.clarity || pool.dim > DUAL_MIN_DIM) return options
    // The checks' refits all take the prior of the fit's answers: made once for them.
    if (this.priorsOf?.from !== priorFrom) {
      const rows = priorFrom.map((a) => a.id)
      this.priorsOf = {
        from: priorFrom,
        priors: classEvidencePriors(pool.data, pool.dim, rows, answerWeights(priorFrom, this.clarity), this.scale!)
      }
    }
    return { ...options, ...this.priorsOf.priors }
  }

  /**
   * The exact head on these answers (the session's own fit when usesExactHead); `init` and
   * `tolerance` for refits, and `priorFrom` for a refit without some answers that keeps the
   * prior of the fit it leaves them out of (see optionsFor).
   */
  exactFit(answers: Answer[], init?: HeadParams, tolerance?: number, priorFrom?: Answer[]): HeadParams {
    const { pool } = this.opts
    return fitLogistic(
      pool.data,
      pool.dim,
      answers.map((a) => a.id),
      answers.map((a) => a.value),
      { ...this.optionsFor(answers, priorFrom), init, tolerance }
    )
  }

  /**
   * P(positive) of image `id` under exactFit(answers, init, tolerance, priorFrom): for wide
   * features fitted in the dual, from its coefficients through the kernel (O(n), not the O(n d)
   * weights; the same fit, equal to rounding). For a refit's left-out answer.
   */
  exactP(id: number, answers: Answer[], init?: HeadParams, tolerance?: number, priorFrom?: Answer[]): number {
    const { pool } = this.opts
    const rows = answers.map((a) => a.id)
    if (pool.dim <= DUAL_MIN_DIM || rows.length >= pool.dim)
      return sigmoid(
        headLogits(this.exactFit(answers, init, tolerance, priorFrom), pool.data.subarray(id * pool.dim, (id + 1) * pool.dim), pool.dim)[0]
      )
    const options = { ...this.optionsFor(answers, priorFrom), init, tolerance }
    return sigmoid(
      dualScore(
        pool.data,
        pool.dim,
        rows,
        answers.map((a) => a.value),
        options,
        id
      )
    )
  }

  /**
   * Each standing answer's score from a fit without it, one Newton step from the exact fit: in the
   * primal for narrow features (leaveOneOut's), through the kernel for wide ones with fewer answers
   * than features (null otherwise: wide features with more answers than that).
   */
  approximateLeaveOneOut(): Float64Array | null {
    const { pool } = this.opts
    if (pool.dim <= DUAL_MIN_DIM) return this.leaveOneOut()!.scores
    if (this.labelled.length >= pool.dim || this.rules1Dual) return null
    return leaveOneOutScoresDual(...this.leaveOneOutProblem())
  }

  /**
   * The standing answers' leave-one-out problems around the exact fit (one Newton step each, and
   * screening refits): in the primal for narrow features, through the kernel for wide ones with
   * fewer answers than features (null otherwise).
   */
  leaveOneOut(): LeaveOneOut | LeaveOneOutDual | null {
    const { pool } = this.opts
    if (pool.dim <= DUAL_MIN_DIM) return new LeaveOneOut(...this.leaveOneOutProblem())
    return this.labelled.length < pool.dim && !this.rules1Dual ? new LeaveOneOutDual(...this.leaveOneOutProblem()) : null
  }

  /** Wide features under head rules 1: their dual fit, and K-fold refits for the answers' checks (as recorded then). */
  private get rules1Dual(): boolean {
    return this.trust < 2 && this.opts.pool.dim > DUAL_MIN_DIM
  }

  private leaveOneOutProblem(): [Float32Array, number, number[], number[], HeadParams, FitOptions] {
    const { pool } = this.opts
    const rows = this.labelled.map((a) => a.id)
    const values = this.labelled.map((a) => a.value)
    return [pool.data, pool.dim, rows, values, this.head, this.optionsFor(this.labelled)]
  }

  /** The head's weights and bias now. */
  get params(): HeadParams {
    return this.head
  }

  /** The standing answers of the last fit. */
  get answers(): Answer[] {
    return this.labelled
  }

  /** The pool's regions (computed once). */
  get regions(): Regions {
    this.regionsOf ??= new Regions(this.opts.pool, this.opts.classes ?? 0, this.opts.seed)
    return this.regionsOf
  }

  /** The region of every held-out row (null without a held-out split). */
  get testRegions(): Int32Array | null {
    if (!this.opts.test) return null
    this.testRegionsOf ??= this.regions.regionsOf(this.opts.test)
    return this.testRegionsOf
  }

  /**
   * The exact head's predicted answers over the pool (a strided sample of at most 20,000) and its
   * held-out accuracy, fitted on these answers; remembered for the last few answer sets.
   */
  predictionsAt(answers: Answer[]): { predicted: Uint8Array; testAccuracy: number | null } {
    // Compared as the fit sees them (ids, answers, times given), not as JSON: no string a call.
    const rows = answerRows(answers)
    const hit = this.earlier.find((e) => e.rows.length === rows.length && e.rows.every((v, i) => v === rows[i]))
    if (hit) return hit.out
    const out = this.predictionsOf(answers)
    if (this.earlier.length >= 8) this.earlier.shift()
    this.earlier.push({ rows, out })
    return out
  }

  /** predictionsAt's figures, not remembered (for answer sets asked about once: what a re-ask could leave). */
  predictionsOf(answers: Answer[]): { predicted: Uint8Array; testAccuracy: number | null } {
    const { pool, test, testTruth } = this.opts
    const step = sampleStep(pool.count)
    let predicted: Uint8Array
    let testAccuracy: number | null
    if (this.poolSigns && (answers === this.labelled || sameAnswers(answers, this.labelled))) {
      // The current fit: the pool pass sampled its predictions.
      predicted = this.poolSigns.slice()
      testAccuracy = testTruth ? this.testAccuracy(testTruth) : null
    } else {
      predicted = new Uint8Array(Math.ceil(pool.count / step))
      const head = this.exactFit(answers)
      for (let i = 0, k = 0; i < pool.count; i += step, k++) {
        let z = head.bias
        for (let j = 0, b = i * pool.dim; j < pool.dim; j++) z += head.weights[j] * pool.data[b + j]
        predicted[k] = z >= 0 ? 1 : 0
      }
      const z = test && testTruth ? headLogits(head, test.data, test.dim) : null
      testAccuracy = z ? accuracyOf(z.length, (i) => positiveAt(z[i]), testTruth!) : null
    }
    return { predicted, testAccuracy }
  }

  evaluate(): Evaluation {
    const { poolTruth, testTruth } = this.opts
    const labelledP = Float32Array.from(this.labelled, (a) => this.pAt(a.id))
    return {
      loss: this.labelled.length
        ? logLoss(
            labelledP,
            this.labelled.map((a) => a.value)
          )
        : null,
      testAccuracy: testTruth ? this.testAccuracy(testTruth) : null,
      labelledAccuracy: this.labelled.length
        ? accuracy(
            labelledP,
            Int8Array.from(this.labelled, (a) => a.value)
          )
        : null,
      histogram: this.poolZ ? histogramOfCells(this.cells, poolTruth !== null) : histogram(binsOfP(this.poolPOf), poolTruth),
      headWeights: Array.from(this.head.weights),
      headBias: this.head.bias
    }
  }

  /** Held-out accuracy under the current head (null without a test split). */
  private testAccuracy(truth: Int8Array): number | null {
    if (this.testZ) return this.testAccuracyNow
    return this.testPOf ? accuracy(this.testPOf, truth) : null
  }

  query(
    strategy: StrategyName,
    iteration: number,
    batchSize: number,
    excluded: Uint8Array,
    coldStartBatches: number,
    blur?: Float32Array | null
  ): Query {
    const { pool, seed } = this.opts
    const scanned = this.scanned
    if (
      strategy === 'uncertainty' &&
      scanned &&
      scanned.ctx.excluded === excluded &&
      scanned.ctx.iteration === iteration &&
      scanned.ctx.blur === (blur ?? null)
    ) {
      const q = scanned.after(batchSize)
      if (q) return q
    }
    const poolP = () => this.poolP
    return query(strategy, {
      blur,
      // Read only by the strategies that need every image's P (uncertainty reads the logits).
      get p() {
        return poolP()
      },
      logits: this.poolZ,
      features: pool.data,
      dim: pool.dim,
      excluded,
      labelled: this.labelled.map((a) => a.id),
      iteration,
      batchSize,
      seed,
      coldStartBatches
    })
  }

  /** The full model (image -> base -> head) with the current weights. */
  get fullModel(): tf.LayersModel {
    if (!this.headWritten) this.writeHead()
    return this.transfer.full
  }

  /** Frees this learner's tensors and model weights only: another session may be loaded already. */
  dispose(): void {
    tf.dispose([...this.initialWeights, this.poolTensor, this.testTensor].filter(Boolean) as tf.Tensor[])
    this.optimizer?.dispose()
    this.ort?.dispose()
    for (const v of new Set([...this.transfer.full.weights, ...this.transfer.suffix.weights])) v.dispose()
  }

  private score(scan?: PoolScan): void {
    const { pool, test } = this.opts
    if (this.poolZ) {
      this.scorePool(scan)
      if (test && this.testZ) {
        logitsOf(this.head, test, 0, test.count, this.testZ, this.fitted)
        this.testAnswers(this.testZ)
      }
      this.pFresh = false
      return
    }
    this.poolTensor ??= featureTensor(pool, this.transfer.featureShape)
    this.poolPOf.set(this.predict(this.poolTensor))
    if (test && this.testPOf) {
      this.testTensor ??= featureTensor(test, this.transfer.featureShape)
      this.testPOf.set(this.predict(this.testTensor))
    }
  }

  /**
   * The pool's logits, a stretch of rows at a time, each stretch's histogram bins and uncertainty's
   * scan made while its logits are in cache: the pool is read once a fit.
   */
  private scorePool(scan?: PoolScan): void {
    const { pool, poolTruth: truth, seed } = this.opts
    const { count } = pool
    const z = this.poolZ!
    const cells = this.cells.fill(0)
    if (this.bins === undefined) this.bins = PoolBins.make()
    const bins = this.bins
    bins?.clear()
    const scanner = scan
      ? new UncertaintyScan(
          { logits: z, p: this.poolPOf, excluded: scan.excluded, blur: scan.blur, seed, iteration: scan.iteration },
          scan.count
        )
      : null
    const step = sampleStep(count)
    const signs = (this.poolSigns ??= new Uint8Array(Math.ceil(count / step)))
    // A wide pool's logits are scored in one call, on two threads; a narrow one's a stretch at a time, while in cache.
    const whole = this.fitted && (wideLogitsOf(pool)?.shares(count) ?? false)
    if (whole) logitsOf(this.head, pool, 0, count, z, true)
    for (let from = 0; from < count; from += SCORE_ROWS) {
      const to = Math.min(count, from + SCORE_ROWS)
      if (!whole) logitsOf(this.head, pool, from, to, z, this.fitted)
      signsOf(z, from, to, step, signs)
      if (bins) {
        // The scan is offered only the rows whose |z| is below its bar as the stretch starts (the others cannot get in).
        const { edge, near } = bins.count(z, from, to, truth, scanner ? scanner.logitBar : Infinity)
        countEdges(z, from, edge, truth, cells)
        scanner?.scan(from, to, near)
      } else {
        countBins(z, from, to, truth, cells)
        scanner?.scan(from, to)
      }
    }
    bins?.addTo(cells)
    this.scanned = scanner
  }

  /**
   * Counts rows at every bin edge as the pool pass counts its own (countEdges, binOfLogit), into
   * cells of its own: for the warm-up, whose small pool has too few such rows for V8 to compile
   * them (it did so in the session's third and fourth iterations, which ran them unoptimized).
   */
  warmEdges(): void {
    const { poolTruth: truth, pool } = this.opts
    const n = Math.min(pool.count, EDGE_LOGITS.length)
    countEdges(EDGE_LOGITS, 0, EDGE_ROWS.subarray(0, n), truth, new Int32Array(this.cells.length))
  }

  /** The held-out answers at these logits (as P >= 0.5 gives them) and their accuracy on the known truth. */
  private testAnswers(z: Float64Array): void {
    const truth = this.opts.testTruth
    const positive = (this.testPositive ??= new Uint8Array(z.length))
    answersAt(z, positive)
    this.agreementNow = null
    let right = 0
    let known = 0
    if (truth) {
      // The rows the head gets wrong (most are right), listed without a branch on each: the counts
      // then touch only those. A row of unknown truth (-1) is neither right nor wrong, nor a row.
      const wrong = (this.testWrong ??= new Int32Array(z.length))
      const n = wrongRows(truth, positive, wrong)
      // Once the held-out rows' regions are known (after the first iteration), heldOutAgreement's counts too.
      const regions = this.testRegionsOf
      if (!this.testRows || (regions && !this.testRows.byRegion))
        this.testRows = heldOutRows(truth, regions && { of: regions, count: this.regions.count })
      const { known: all, byRegion } = this.testRows
      known = all
      right = known - n
      if (regions && byRegion) {
        const byRight = byRegion.slice()
        for (let k = 0; k < n; k++) byRight[regions[wrong[k]]]--
        this.agreementNow = { right: byRight, rows: byRegion.slice() }
      }
    }
    this.testAccuracyNow = known ? right / known : null
  }

  /** Per region, the held-out rows with known truth and how many the head gets right now (see heldOutAgreement; null without truth). */
  get heldOutAgreement(): { right: Int32Array; rows: Int32Array } | null {
    const { testTruth } = this.opts
    const testRegions = this.testRegions
    const predicted = testRegions && testTruth ? this.testPredicted : null
    if (!testRegions || !testTruth || !predicted) return null
    return this.agreementNow ?? heldOutAgreement(this.regions, testRegions, predicted, testTruth)
  }

  private predict(x: tf.Tensor): Float32Array {
    return tf.tidy(() => (this.transfer.suffix.predict(x, { batchSize: 4096 }) as tf.Tensor).dataSync() as Float32Array)
  }

  /** The answered rows' features (flat, row after row) and the answers. */
  private rows(answers: Answer[]): { x: Float32Array; y: Float32Array } {
    const { pool } = this.opts
    const x = new Float32Array(answers.length * pool.dim)
    answers.forEach((a, k) => x.set(pool.data.subarray(a.id * pool.dim, (a.id + 1) * pool.dim), k * pool.dim))
    return { x, y: Float32Array.from(answers, (a) => a.value) }
  }

  private batchTensors(answers: Answer[]): [tf.Tensor, tf.Tensor] {
    const { x, y } = this.rows(answers)
    return [tf.tensor(x, [answers.length, ...this.transfer.featureShape]), tf.tensor2d(y, [answers.length, 1])]
  }

  private step(optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): void {
    const vars = this.transfer.suffix.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, logits(this.transfer, x)) as tf.Scalar, false, vars)
    })
  }

  private reset(): void {
    this.transfer.suffix.setWeights(this.initialWeights)
    this.optimizer?.dispose()
    this.optimizer = null
    this.ort?.reset()
    this.adam = null
  }

  private readHead(): HeadParams {
    const [kernel, bias] = this.transfer.head.getWeights()
    return { weights: Float64Array.from(kernel.dataSync()), bias: bias.dataSync()[0] }
  }

  private writeHead(): void {
    const n = this.head.weights.length
    tf.tidy(() => this.transfer.head.setWeights([tf.tensor2d(Array.from(this.head.weights), [n, 1]), tf.tensor1d([this.head.bias])]))
    this.headWritten = true
  }
}

/**
 * A learner's options as one object literal of one shape, however the caller built them: the
 * warm-up's throwaway learner then has options of the session's hidden class, so the code V8
 * optimized on it is not thrown away on the session's first iterations (it was, and the first
 * iterations ran unoptimized loops over the pool and the held-out split).
 */
function optionsOf(o: LearnerOptions): LearnerOptions {
  return {
    base: o.base,
    unfreeze: o.unfreeze,
    featureLayer: o.featureLayer,
    inputSize: o.inputSize,
    classes: o.classes,
    fit: o.fit,
    trainer: o.trainer,
    seed: o.seed,
    pool: o.pool,
    test: o.test,
    poolTruth: o.poolTruth,
    testTruth: o.testTruth,
    trust: o.trust
  }
}

/** The rows of known truth (>= 0), in all and by region (null without the regions). */
function heldOutRows(truth: Int8Array, regions: { of: Int32Array; count: number } | null): { known: number; byRegion: Int32Array | null } {
  let known = 0
  const byRegion = regions && new Int32Array(regions.count)
  for (let i = 0; i < truth.length; i++)
    if (truth[i] >= 0) {
      known++
      if (byRegion) byRegion[regions!.of[i]]++
    }
  return { known, byRegion }
}

/** The share of rows with known truth (>= 0) that p >= 0.5 gets right, or null when none is known. */
function accuracy(p: Float32Array, truth: Int8Array): number | null {
  return accuracyOf(p.length, (i) => p[i] >= 0.5, truth)
}

function accuracyOf(n: number, positive: (i: number) => boolean, truth: Int8Array): number | null {
  let right = 0
  let known = 0
  for (let i = 0; i < n; i++) {
    const t = truth[i]
    if (t < 0) continue
    known++
    if (positive(i) === (t === 1)) right++
  }
  return known ? right / known : null
}

/** 11 bins over P(positive), and the same split by true class when the truth is known. */
function histogram(bins: Uint8Array, truth: Int8Array | null): HistogramDto {
  const counts = new Int32Array(BINS)
  const negative = new Int32Array(BINS)
  const positive = new Int32Array(BINS)
  const n = bins.length
  if (truth) {
    for (let i = 0; i < n; i++) {
      const bin = bins[i]
      counts[bin]++
      const t = truth[i]
      if (t === 1) positive[bin]++
      else if (t === 0) negative[bin]++
    }
  } else {
    for (let i = 0; i < n; i++) counts[bins[i]]++
  }
  return { counts: Array.from(counts), byTruth: truth ? [Array.from(negative), Array.from(positive)] : null }
}

/** The suffix's output before the head's sigmoid, for a numerically stable loss. */
export function logits(t: TransferModel, x: tf.Tensor): tf.Tensor {
  let h = x
  for (const l of t.layers.slice(t.splitIndex + 1, t.top + 1)) h = l.apply(h) as tf.Tensor
  const [kernel, bias] = t.head.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val)
  return tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias)
}

/** Mean binary cross-entropy, with p clipped as Keras does (1e-7). */
function logLoss(p: Float32Array, y: number[]): number {
  let sum = 0
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]))
    sum -= y[i] === 1 ? Math.log(q) : Math.log(1 - q)
  }
  return sum / p.length
}

function featureTensor(m: FeatureMatrix, shape: number[]): tf.Tensor {
  return tf.tensor(m.data as Float32Array<ArrayBuffer>, [m.count, ...shape])
}

/** The stride of predictionsOf's sample of the pool: at most 20,000 rows. */
const sampleStep = (count: number) => Math.max(1, Math.floor(count / 20000))

/**
 * 1 where the logit of row i in from..to-1 is >= 0, for every step-th row, into out[i / step]:
 * the pool pass's sample of the predictions, taken while the stretch's logits are in cache.
 */
function signsOf(z: Float64Array, from: number, to: number, step: number, out: Uint8Array): void {
  // +(z >= 0), not a ternary: V8 makes that a branch, which the random signs mispredict half the time (2.5x slower).
  for (let k = Math.ceil(from / step) | 0, i = k * step; i < to; i += step, k++) out[k] = +(z[i] >= 0)
}

// answersAt and wrongRows are functions of their own, not loops inside testAnswers: V8 compiled a
// loop there on stack (OSR) before the code after it had run, and that code then fell back to the
// interpreter on every call of the session's first six iterations, each 1.5-2x a later one.

/** positive[i] = the answer at logit z[i] (as positiveAt gives it), without a branch on each row (see signsOf). */
function answersAt(z: Float64Array, positive: Uint8Array): void {
  // The sign first, then the rare logits just below 0, whose P may round to 0.5, their way.
  let near = 0
  for (let i = 0; i < z.length; i++) {
    const v = z[i]
    positive[i] = +(v >= 0)
    near |= +(v > -1e-6) & +(v < 0)
  }
  if (near) for (let i = 0; i < z.length; i++) if (z[i] > -1e-6 && z[i] < 0) positive[i] = +positiveAt(z[i])
}

/** Lists in wrong[0..n) the rows whose known truth (not -1) the answers miss, without a branch on each row; returns n. */
function wrongRows(truth: Int8Array, positive: Uint8Array, wrong: Int32Array): number {
  let n = 0
  for (let i = 0; i < positive.length; i++) {
    const t = truth[i]
    wrong[n] = i
    n += +(t >= 0) & +(t !== positive[i])
  }
  return n
}

/** What the exact head's pool pass also scans for uncertainty: the images excluded then (filled further by the query's caller only), the query's iteration, how many it may ask, `diverse`'s blur. */
export interface PoolScan {
  excluded: Uint8Array
  iteration: number
  count: number
  blur: Float32Array | null
}

/** Rows the pool pass scores at a time: their logits stay in cache for the histogram and the scan. */
const SCORE_ROWS = BIN_ROWS

/**
 * The head's logits of rows from..to-1 of m into z[from..to-1]: in WebAssembly SIMD (the same
 * numbers; 3x faster than logits() on the digit CNN's 10 features, and more on wide ones) once
 * `fitted`; the learner's first scoring, of the zeros it starts with, is done here, so opening a
 * session copies no features (its first fit does, before the first query, not a later one).
 */
function logitsOf(head: HeadParams, m: FeatureMatrix, from: number, to: number, z: Float64Array, fitted: boolean): void {
  const wide = fitted ? wideLogitsOf(m) : null
  if (wide) wide.logits(head, from, to, z)
  else headLogits(head, m.data.subarray(from * m.dim, to * m.dim), m.dim, z.subarray(from, to))
}

/**
 * Counts rows from..to-1 into the histogram's cells by bin and truth (-1, 0 or 1: its cell by
 * arithmetic; a branch on it would miss every other image). Four rows at a time into four sets
 * of cells (most rows fall in the same few cells: one set would have each count wait on the last).
 */
function countBins(z: Float64Array, from: number, to: number, truth: Int8Array | null, cells: Int32Array): void {
  const quad = (COUNTS.length === cells.length * 4 ? COUNTS : (COUNTS = new Int32Array(cells.length * 4))).fill(0)
  const [c1, c2, c3] = [cells.length, 2 * cells.length, 3 * cells.length]
  let i = from
  if (truth)
    for (; i + 4 <= to; i += 4) {
      quad[binOfLogit(z[i]) * 3 + truth[i] + 1]++
      quad[c1 + binOfLogit(z[i + 1]) * 3 + truth[i + 1] + 1]++
      quad[c2 + binOfLogit(z[i + 2]) * 3 + truth[i + 2] + 1]++
      quad[c3 + binOfLogit(z[i + 3]) * 3 + truth[i + 3] + 1]++
    }
  for (; i < to; i++) quad[binOfLogit(z[i]) * 3 + (truth ? truth[i] + 1 : 0)]++
  for (let k = 0; k < cells.length; k++) cells[k] += quad[k] + quad[c1 + k] + quad[c2 + k] + quad[c3 + k]
}
let COUNTS = new Int32Array(0)

/**
 * Counts the rows at a bin edge (from + e for each e of edge) into the histogram's cells, by P.
 * A function of its own: called for every stretch of the pool, the warm-up's one-stretch pool
 * makes V8 compile it (the pass that calls it was compiled only in the session's fifth iteration).
 */
function countEdges(z: Float64Array, from: number, edge: Int32Array, truth: Int8Array | null, cells: Int32Array): void {
  for (let k = 0; k < edge.length; k++) {
    const i = from + edge[k]
    cells[binOfLogit(z[i]) * 3 + (truth ? truth[i] + 1 : 0)]++
  }
}

/** Logits at and around each bin edge (the rows the pool pass counts with binOfLogit), and their places. */
const EDGE_LOGITS = Float64Array.from({ length: (BINS - 1) * 20 }, (_, i) => {
  const k = Math.floor(i / 20) + 1
  return Math.log(k / (BINS - k)) + ((i % 20) - 10) * 1e-6
})
const EDGE_ROWS = Int32Array.from(EDGE_LOGITS.keys())

/** The histogram of the pool pass's cells (by bin: unknown, negative, positive). */
function histogramOfCells(cells: Int32Array, byTruth: boolean): HistogramDto {
  const at = (k: number) => Array.from({ length: BINS }, (_, b) => cells[b * 3 + k])
  const [negative, positive] = [at(1), at(2)]
  return {
    counts: Array.from({ length: BINS }, (_, b) => cells[b * 3] + negative[b] + positive[b]),
    byTruth: byTruth ? [negative, positive] : null
  }
}

/** Each answer's image, answer and times given, in order: what sameAnswers compares, copied. */
function answerRows(answers: Answer[]): Float64Array {
  const rows = new Float64Array(answers.length * 3)
  answers.forEach((a, k) => {
    rows[3 * k] = a.id
    rows[3 * k + 1] = a.value
    rows[3 * k + 2] = a.times ?? 1
  })
  return rows
}

/** The same answers to the same images, given as often, in the same order: the same exact fit. */
function sameAnswers(a: Answer[], b: Answer[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i].id && x.value === b[i].value && (x.times ?? 1) === (b[i].times ?? 1))
}
