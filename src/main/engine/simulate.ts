// A simulated labeller: answers every query from ground truth, as a person would.
import { CuratorError } from '../../shared/errors'
import type { Answer } from './learner'
import { coldStartBatches, coldStartClasses, iterate, IterationRecord, LoopConfig } from './loop'
import type { Prepared } from './setup'

export interface SimulateOptions extends Omit<LoopConfig, 'coldStartBatches'> {
  budget: number
  onIteration?: (r: IterationRecord, answers: Answer[]) => void | Promise<void>
}

export interface SimulateSummary {
  labels: number
  iterations: number
  finalTestAccuracy: number | null
  labelsTo985: number | null
  meanIterationMs: number
}

export async function simulate(p: Prepared, opts: SimulateOptions): Promise<SimulateSummary> {
  const truth = p.poolTruth
  if (!truth)
    throw new CuratorError('BAD_DATA', 'Simulating needs ground truth: this dataset has no classes, or the task maps none to positive')
  const cfg: LoopConfig = { ...opts, coldStartBatches: coldStartBatches(coldStartClasses(p.base), opts.batchSize) }
  const batches: Answer[][] = []
  const skipped: number[] = []
  let labels = 0
  let labelsTo985: number | null = null
  let total = 0
  let r = await iterate(p.learner, cfg, batches, skipped)
  for (;;) {
    total += r.iterationMs
    if (labelsTo985 === null && r.testAccuracy !== null && r.testAccuracy >= 0.985) labelsTo985 = r.labels
    const answers: Answer[] = []
    if (labels < opts.budget) {
      for (const id of r.next.ids.slice(0, opts.budget - labels)) {
        if (truth[id] < 0) skipped.push(id)
        else answers.push({ id, value: truth[id] as 0 | 1 })
      }
    }
    await opts.onIteration?.(r, answers)
    if (labels >= opts.budget || r.next.ids.length === 0) break
    batches.push(answers)
    labels += answers.length
    r = await iterate(p.learner, cfg, batches, skipped)
  }
  return {
    labels,
    iterations: batches.length,
    finalTestAccuracy: r.testAccuracy,
    labelsTo985,
    meanIterationMs: total / (batches.length + 1)
  }
}
