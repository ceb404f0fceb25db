// One iteration of active learning as a pure function of the answers so far: refit, evaluate,
// pick the next batch. Undo and replay are just calls with fewer or recorded answers.
import type { StrategyName } from '../../shared/contract'
import { standing, type Answer, type Evaluation, type Learner } from './learner'

export interface LoopConfig {
  strategy: StrategyName
  batchSize: number
  /** Batches `diverse` spends covering the feature space (ceil(base classes / batch size)). */
  coldStartBatches: number
}

export interface IterationRecord extends Evaluation {
  iteration: number
  /** Images with a standing answer. */
  labels: number
  /** Answers given, re-asks included. */
  answers: number
  /** Fit + score the pool + evaluate + pick the next batch. */
  iterationMs: number
  /** keys: folder datasets' file keys of the ids (added by the engine, which knows the dataset). */
  next: { ids: number[]; scores: number[]; p: number[]; keys?: string[] }
}

export async function iterate(learner: Learner, cfg: LoopConfig, batches: Answer[][], skipped: number[]): Promise<IterationRecord> {
  const t0 = performance.now()
  await learner.fit(batches)
  const evaluation = learner.evaluate()
  const excluded = new Uint8Array(learner.poolP.length)
  for (const b of batches) for (const a of b) excluded[a.id] = 1
  for (const id of skipped) excluded[id] = 1
  const iteration = batches.length
  const q = learner.query(cfg.strategy, iteration, cfg.batchSize, excluded, cfg.coldStartBatches)
  const iterationMs = performance.now() - t0
  return {
    ...evaluation,
    iteration,
    labels: standing(batches).length,
    answers: batches.reduce((n, b) => n + b.length, 0),
    iterationMs,
    next: { ids: q.ids, scores: q.scores, p: q.ids.map((i) => learner.poolP[i]) }
  }
}

export const coldStartBatches = (baseClasses: number, batchSize: number) => Math.ceil(baseClasses / batchSize)

/** What `diverse` covers first: the base's classes, or (a base without class outputs) about ten picks. */
export const coldStartClasses = (base: { classNames: string[] }) => base.classNames.length || 10
