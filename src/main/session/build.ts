// Builders of log events and of the DTOs the studio sends, from engine records and the derived
// state: the session layer's own, used by the studio and by recorded simulations alike.
import type { IterationDto, SessionSummary } from '../../shared/contract'
import type { IterationRecord } from '../engine/loop'
import type { Derived } from './derive'
import { eventTime, FORMAT_VERSION, type LabelEvent, type QueryEvent, type SkipEvent, type TrainEvent } from './events'

/** The query event for the images an iteration asks next (file keys for folder datasets). */
export const queryEvent = (r: IterationRecord, strategy: string): QueryEvent => ({
  v: FORMAT_VERSION,
  type: 'query',
  at: eventTime(),
  iteration: r.iteration,
  ids: r.next.ids,
  ...(r.next.keys ? { keys: r.next.keys } : {}),
  scores: r.next.scores,
  p: r.next.p,
  strategy,
  ...(r.next.reask ? { reask: r.next.reask } : {}),
  ...(r.next.cover ? { cover: r.next.cover } : {}),
  ...(r.next.confirm ? { confirm: r.next.confirm } : {})
})

/** An answer: the image (with its file key for folder datasets), the iteration that asked it, the time the person took. */
export const labelEvent = (
  id: number,
  key: string | undefined,
  value: LabelEvent['value'],
  iteration: number,
  responseMs: number
): LabelEvent => ({
  v: FORMAT_VERSION,
  type: 'label',
  at: eventTime(),
  id,
  ...(key === undefined ? {} : { key }),
  value,
  iteration,
  responseMs: Math.max(0, Math.round(responseMs))
})

/** A skipped image, as labelEvent names it. */
export const skipEvent = (id: number, key: string | undefined, iteration: number): SkipEvent => ({
  v: FORMAT_VERSION,
  type: 'skip',
  at: eventTime(),
  id,
  ...(key === undefined ? {} : { key }),
  iteration
})

export function trainEvent(r: IterationRecord): TrainEvent {
  return {
    v: FORMAT_VERSION,
    type: 'train',
    at: eventTime(),
    iteration: r.iteration,
    labels: r.labels,
    answers: r.answers,
    headWeights: r.headWeights,
    headBias: r.headBias,
    testAccuracy: r.testAccuracy,
    labelledAccuracy: r.labelledAccuracy,
    iterationMs: Math.round(r.iterationMs * 1000) / 1000,
    histogram: r.histogram,
    ...(r.suspects ? { suspects: r.suspects.map((s) => ({ id: s.id, p: s.p, ...(s.settled ? { settled: true as const } : {}) })) } : {}),
    ...(r.advice ? { advice: r.advice } : {})
  }
}

export const iterationDto = (t: TrainEvent): IterationDto => ({
  iteration: t.iteration,
  labels: t.labels,
  testAccuracy: t.testAccuracy,
  labelledAccuracy: t.labelledAccuracy,
  headWeights: t.headWeights,
  headBias: t.headBias,
  histogram: t.histogram,
  iterationMs: t.iterationMs
})

export function summarize(dir: string, d: Derived): SessionSummary {
  return {
    id: d.start.id,
    dir,
    createdAt: d.start.at,
    dataset: d.start.config.dataset,
    strategy: d.start.config.strategy,
    labels: countLabels(d),
    lastAccuracy: d.trains.at(-1)?.testAccuracy ?? null
  }
}

const countLabels = (d: Derived) =>
  [...d.done.flatMap((b) => b.answers), ...(d.current?.answers ?? [])].filter((a) => a.value !== null).length
