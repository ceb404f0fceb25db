// Recording a simulated run as a session: the same log the studio writes for a labelled one,
// so it opens, replays, verifies and exports like any other (rebuilding it is replay.ts).
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { SessionConfig } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import type { Answer } from '../engine/learner'
import type { IterationRecord } from '../engine/loop'
import type { Prepared } from '../engine/setup'
import { simulate, SimulateSummary } from '../engine/simulate'
import { VERSION } from '../version'
import { labelEvent, queryEvent, skipEvent, trainEvent } from './build'
import { eventTime, FORMAT_VERSION, StartEvent } from './events'
import { createSessionLog } from './log'

export interface RecordOptions {
  /** Stop after this many labels (as `curator simulate --budget`). */
  budget: number
  /** The backend the run uses (recorded in the start event). */
  backend: string
  /** The simulated labeller's chance of a wrong answer (simulate's `noise`). */
  noise?: number
  /** Called after each fit with the answers about to be given (as simulate's onIteration). */
  onIteration?: (r: IterationRecord, answers: Answer[], skipped: number[]) => void | Promise<void>
}

/**
 * Runs `simulate` on a prepared session and records it in `dir` exactly as the studio records
 * a labelled one: start; train 0; query 0; then per batch the answers (label events with
 * responseMs 0, the noisy labeller's answers as given; skip events for images without ground
 * truth), train, query. Refuses a folder
 * that already holds a session. Opens with Studio.openSession, replays and verifies.
 */
export async function recordSimulation(
  dir: string,
  p: Prepared,
  config: SessionConfig,
  opts: RecordOptions
): Promise<{ dir: string; id: string; summary: SimulateSummary }> {
  const target = resolve(dir)
  const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`
  const start: StartEvent = {
    v: FORMAT_VERSION,
    type: 'start',
    at: eventTime(),
    id,
    config,
    dataset: { id: p.dataset.id, hash: p.dataset.hash, poolSize: p.dataset.pool.count, testSize: p.dataset.test?.count ?? 0 },
    base: { id: p.base.id, hash: p.base.hash },
    backend: opts.backend,
    features: p.featurizer,
    ...(p.learner.trainer ? { trainer: p.learner.trainer } : {}),
    trust: p.learner.trust,
    app: `curator ${VERSION}`
  }
  if (!p.poolTruth)
    throw new CuratorError('BAD_DATA', 'Simulating needs ground truth: this dataset has no classes, or the task maps none to positive')
  const log = await createSessionLog(target, start)
  const names = p.dataset.pool.names
  try {
    const summary = await simulate(p, {
      strategy: config.strategy,
      batchSize: config.batchSize,
      ...(config.reask === false ? { reask: false } : {}),
      budget: opts.budget,
      noise: opts.noise,
      onIteration: async (r, answers, skipped) => {
        await log.append(trainEvent(r))
        await log.append(queryEvent(names ? { ...r, next: { ...r.next, keys: r.next.ids.map((id) => names[id]) } } : r, config.strategy))
        // In the order asked: labels, and skips for images without ground truth, as a person would skip them.
        const value = new Map(answers.map((a) => [a.id, a.value]))
        const skip = new Set(skipped)
        for (const imageId of r.next.ids.filter((id) => value.has(id) || skip.has(id))) {
          if (skip.has(imageId)) {
            await log.append(skipEvent(imageId, names?.[imageId], r.iteration))
          } else {
            await log.append(labelEvent(imageId, names?.[imageId], value.get(imageId)!, r.iteration, 0))
          }
        }
        await opts.onIteration?.(r, answers, skipped)
      }
    })
    return { dir: target, id, summary }
  } finally {
    await log.close()
  }
}
