// A session's state is a pure function of its log: resume, undo and replay all use this fold.
import type { LabelValue } from '../../shared/contract'
import type { Answer } from '../engine/learner'
import type { QueryEvent, RemapEvent, SessionEvent, StartEvent, TrainEvent } from './events'

/** One answer in a batch: a label, or null for a skip. */
export interface BatchAnswer {
  id: number
  /** Folder datasets: the image's file key. */
  key?: string
  value: LabelValue | null
  responseMs: number
  at: string
  iteration: number
}

export interface Derived {
  start: StartEvent
  /** The dataset the ids refer to: the start's, or the last remap's. */
  dataset: StartEvent['dataset']
  /** Completed batches: the query that was asked and the answers given. */
  done: { query: QueryEvent; answers: BatchAnswer[] }[]
  /** One train event per completed fit: iteration 0 (no labels) and one per completed batch. */
  trains: TrainEvent[]
  /** The batch being answered now (null before the first query or after a crash mid-iteration). */
  current: { query: QueryEvent; answers: BatchAnswer[] } | null
  /** Events the fold could not apply (reported, not fatal). */
  warnings: string[]
}

export function derive(events: SessionEvent[]): Derived {
  const [start, ...rest] = events
  if (start?.type !== 'start') throw new Error('a session log must begin with a start event')
  const d: Derived = { start, dataset: start.dataset, done: [], trains: [], current: null, warnings: [] }
  for (const e of rest) {
    switch (e.type) {
      case 'train':
        // A fit closes the current batch (all of it answered); iteration 0 closes nothing.
        if (e.iteration > 0 && d.current) {
          d.done.push(d.current)
          d.current = null
        }
        if (d.trains.at(-1)?.iteration === e.iteration) {
          // Refitted after a crash between this fit and its query: the later fit stands.
          d.trains[d.trains.length - 1] = e
          break
        }
        if (e.iteration !== d.done.length) d.warnings.push(`train event for iteration ${e.iteration} after ${d.done.length} batches`)
        d.trains.push(e)
        break
      case 'query':
        d.current = { query: e, answers: [] }
        break
      case 'label':
      case 'skip':
        if (!d.current || !d.current.query.ids.includes(e.id) || d.current.answers.some((a) => a.id === e.id)) {
          d.warnings.push(`${e.type} of image ${e.id} that was not waiting for an answer`)
          break
        }
        d.current.answers.push({
          id: e.id,
          ...keyOf(d.current.query, e.id),
          value: e.type === 'label' ? e.value : null,
          responseMs: e.type === 'label' ? e.responseMs : 0,
          at: e.at,
          iteration: e.iteration
        })
        break
      case 'undo':
        undo(d, e.id)
        break
      case 'remap':
        remap(d, e)
        break
      case 'start':
        d.warnings.push('a second start event')
        break
    }
  }
  return d
}

const keyOf = (q: QueryEvent, id: number): { key?: string } => {
  const key = q.keys?.[q.ids.indexOf(id)]
  return key === undefined ? {} : { key }
}

/** Moves every id to the new folder's; asked images that are gone leave their batch. */
function remap(d: Derived, e: RemapEvent): void {
  const to = new Map(e.ids)
  const moveQuery = (q: QueryEvent): QueryEvent => {
    const keep = q.ids.map((_, k) => k).filter((k) => to.has(q.ids[k]))
    const pick = <T>(a: T[]) => keep.map((k) => a[k])
    return {
      ...q,
      ids: keep.map((k) => to.get(q.ids[k])!),
      scores: pick(q.scores),
      p: pick(q.p),
      ...(q.keys ? { keys: pick(q.keys) } : {})
    }
  }
  const moveBatch = (b: { query: QueryEvent; answers: BatchAnswer[] }) => ({
    query: moveQuery(b.query),
    answers: b.answers.filter((a) => to.has(a.id)).map((a) => ({ ...a, id: to.get(a.id)! }))
  })
  d.done = d.done.map(moveBatch)
  if (d.current) d.current = moveBatch(d.current)
  d.dataset = e.dataset
}

/** Takes back the last answer; across a batch boundary the model goes back to before that batch. */
function undo(d: Derived, id: number): void {
  if (d.current && d.current.answers.length === 0 && d.done.length > 0) {
    d.current = d.done.pop()!
    d.trains.pop()
  }
  const last = d.current?.answers.at(-1)
  if (!last || last.id !== id) {
    d.warnings.push(`undo of image ${id}, which was not the last answer`)
    return
  }
  d.current!.answers.pop()
}

/** The labelled answers of completed batches, as the engine takes them. */
export const engineBatches = (d: Derived): Answer[][] =>
  d.done.map((b) => b.answers.filter((a) => a.value !== null).map((a) => ({ id: a.id, value: a.value as LabelValue })))

export const skippedIds = (d: Derived): number[] =>
  [...d.done, ...(d.current ? [d.current] : [])].flatMap((b) => b.answers.filter((a) => a.value === null).map((a) => a.id))

/** True when every image of the current batch has an answer: the fit is due. */
export const batchComplete = (d: Derived): boolean => !!d.current && d.current.answers.length === d.current.query.ids.length
