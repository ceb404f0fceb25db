// The random baseline: the held-out accuracy that random picks with the same number of labels
// reach, simulated from the ground truth. Always the exact head on the frozen features (the
// fit that makes it a few milliseconds a point, with the session's prior and weights), averaged
// over a few seeded orders of the pool.
import type { BaselinePoint } from '../../shared/contract'
import type { FeatureMatrix } from './features'
import type { Prepared } from './setup'
import { fitLogistic, HeadParams, predictLogistic } from './head'
import type { Answer } from './learner'
import { Rng } from '../util/rng'

/** Random orders averaged per point: one order alone is as noisy as one random session. */
export const BASELINE_RUNS = 5

export interface BaselineInput {
  pool: FeatureMatrix
  test: FeatureMatrix
  poolTruth: Int8Array
  testTruth: Int8Array
  seed: number
  /** The head's fit on these answers (default: the exact head with its default options). */
  fit?: (answers: Answer[]) => HeadParams
}

export class RandomBaseline {
  private readonly orders: Int32Array[]
  private readonly known = new Map<number, number>()
  private readonly testP: Float32Array

  constructor(private readonly input: BaselineInput) {
    const candidates = Int32Array.from(Array.from(input.poolTruth).flatMap((t, i) => (t >= 0 ? [i] : [])))
    // Seeded apart from the session's own choices, so the baseline never mirrors them.
    this.orders = Array.from({ length: BASELINE_RUNS }, (_, r) =>
      new Rng(input.seed * 7919 + 104729 + r).shuffle(Int32Array.from(candidates))
    )
    this.testP = new Float32Array(input.test.count)
  }

  /** The mean held-out accuracy over the runs for each label count (computed once per count). */
  at(counts: number[]): BaselinePoint[] {
    return [...new Set(counts)].sort((a, b) => a - b).map((labels) => ({ labels, testAccuracy: this.point(labels) }))
  }

  private point(labels: number): number {
    const hit = this.known.get(labels)
    if (hit !== undefined) return hit
    const { pool, test, poolTruth, testTruth } = this.input
    let sum = 0
    for (const order of this.orders) {
      const rows = order.subarray(0, Math.min(labels, order.length))
      const answers = Array.from(rows, (id) => ({ id, value: poolTruth[id] as 0 | 1 }))
      const head = this.input.fit
        ? this.input.fit(answers)
        : fitLogistic(
            pool.data as Float32Array,
            pool.dim,
            rows,
            answers.map((a) => a.value)
          )
      predictLogistic(head, test.data as Float32Array, test.dim, this.testP)
      let right = 0
      let n = 0
      for (let i = 0; i < this.testP.length; i++) {
        if (testTruth[i] < 0) continue
        n++
        if (this.testP[i] >= 0.5 === (testTruth[i] === 1)) right++
      }
      sum += n ? right / n : 0
    }
    const mean = sum / this.orders.length
    this.known.set(labels, mean)
    return mean
  }
}

/** The baseline of a prepared session, or null where there is no ground truth to simulate from. */
export function baselineOf(p: Prepared, seed: number): RandomBaseline | null {
  return p.poolTruth && p.testTruth && p.testFeatures
    ? new RandomBaseline({
        pool: p.poolFeatures,
        test: p.testFeatures,
        poolTruth: p.poolTruth,
        testTruth: p.testTruth,
        seed,
        fit: (answers) => p.learner.exactFit(answers)
      })
    : null
}
