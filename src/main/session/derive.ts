// A session's state is a pure function of its log: resume, undo and replay all use this fold.
import type { LabelValue } from '../../shared/contract'
import type { Answer } from '../engine/learner'
import type { QueryEvent, RelabelEvent, RemapEvent, SessionEvent, StartEvent, TrainEvent } from './events'

/** One answer in a batch: a label, or null for a skip. */
export interface BatchAnswer {
  id: number
  /** Folder datasets: the image's file key. */
  key?: string
  value: LabelValue | null
  responseMs: number
  at: string
  iteration: number
  /** The labeller changed this answer afterwards (a relabel event); `value` is the changed one. */
  relabelled?: boolean
}

/** What one fit stood on, as the log had it when the fit was written: replay rebuilds each fit from this. */
export interface FitInput {
  /** The labelled answers of the completed batches, batch by batch (relabels applied as they stood then). */
  batches: Answer[][]
  /** Images skipped in those batches. */
  skipped: number[]
  /** The query written right after this fit (null: none, e.g. a refit after a relabel mid-batch). */
  query: QueryEvent | null
}

export interface Derived {
  start: StartEvent
  /** The dataset the ids refer to: the start's, or the last remap's. */
  dataset: StartEvent['dataset']
  /** Completed batches: the query that was asked and the answers given. */
  done: { query: QueryEvent; answers: BatchAnswer[] }[]
  /** One train event per completed fit: iteration 0 (no labels) and one per completed batch. */
  trains: TrainEvent[]
  /** What each of `trains` was fitted on (same order). */
  fits: FitInput[]
  /** The batch being answered now (null before the first query or after a crash mid-iteration). */
  current: { query: QueryEvent; answers: BatchAnswer[] } | null
  /** Events the fold could not apply (reported, not fatal). */
  warnings: string[]
  /** The changes undo takes back, last on top: an answer, or a relabel with the value it replaced. */
  undoable: Undoable[]
}

type Undoable = { kind: 'answer' } | { kind: 'relabel'; id: number; before: LabelValue; wasRelabelled: boolean }

export function derive(events: SessionEvent[]): Derived {
  const [start, ...rest] = events
  if (start?.type !== 'start') throw new Error('a session log must begin with a start event')
  const d: Derived = { start, dataset: start.dataset, done: [], trains: [], fits: [], current: null, warnings: [], undoable: [] }
  let previous: SessionEvent = start
  for (const e of rest) {
    switch (e.type) {
      case 'train': {
        // A fit of the next iteration closes the current batch (all of it answered); a refit of
        // the same iteration (after a crash, a relabel or an undo) closes nothing.
        if (e.iteration > d.done.length && d.current) {
          d.done.push(d.current)
          d.current = null
        }
        const fit: FitInput = { batches: engineBatches(d), skipped: skippedOf(d.done), query: null }
        if (d.trains.at(-1)?.iteration === e.iteration) {
          // Refitted: the later fit stands.
          d.trains[d.trains.length - 1] = e
          d.fits[d.fits.length - 1] = fit
          break
        }
        if (e.iteration !== d.done.length) d.warnings.push(`train event for iteration ${e.iteration} after ${d.done.length} batches`)
        d.trains.push(e)
        d.fits.push(fit)
        break
      }
      case 'query':
        d.current = { query: e, answers: [] }
        // The strategy's choice after a fit is the query written right after it.
        if (previous.type === 'train' && d.fits.length && d.trains.at(-1) === previous) d.fits[d.fits.length - 1].query = e
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
        d.undoable.push({ kind: 'answer' })
        break
      case 'relabel':
        relabel(d, e)
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
    previous = e
  }
  return d
}

/** The answer that stands for an image: its latest label (a re-asked image was answered more than once). */
export function standingEntry(d: Pick<Derived, 'done' | 'current'>, id: number): BatchAnswer | null {
  const batches = [...d.done, ...(d.current ? [d.current] : [])]
  for (let b = batches.length - 1; b >= 0; b--) {
    const answers = batches[b].answers
    for (let k = answers.length - 1; k >= 0; k--) if (answers[k].id === id && answers[k].value !== null) return answers[k]
  }
  return null
}

/** Every standing label, one per image, in the order the standing answers were given. */
export function standingAnswers(d: Pick<Derived, 'done' | 'current'>): BatchAnswer[] {
  const all = [...d.done, ...(d.current ? [d.current] : [])].flatMap((b) => b.answers).filter((a) => a.value !== null)
  const last = new Map(all.map((a) => [a.id, a]))
  return all.filter((a) => last.get(a.id) === a)
}

function relabel(d: Derived, e: RelabelEvent): void {
  const entry = standingEntry(d, e.id)
  if (!entry) {
    d.warnings.push(`relabel of image ${e.id}, which has no answer`)
    return
  }
  d.undoable.push({ kind: 'relabel', id: e.id, before: entry.value as LabelValue, wasRelabelled: !!entry.relabelled })
  entry.value = e.value
  entry.relabelled = true
}

const keyOf = (q: QueryEvent, id: number): { key?: string } => {
  const key = q.keys?.[q.ids.indexOf(id)]
  return key === undefined ? {} : { key }
}

/** Moves every id to the new folder's; asked images that are gone leave their batch (and undo's list of relabels). */
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
  d.undoable = d.undoable.flatMap((u): Undoable[] => (u.kind === 'answer' ? [u] : to.has(u.id) ? [{ ...u, id: to.get(u.id)! }] : []))
  d.dataset = e.dataset
}

/**
 * Takes back the last change: a relabel gets its earlier answer back; an answer is taken back,
 * and across a batch boundary the model goes back to before that batch.
 */
function undo(d: Derived, id: number): void {
  const top = d.undoable.at(-1)
  if (top?.kind === 'relabel') {
    const entry = top.id === id ? standingEntry(d, id) : null
    if (!entry) {
      d.warnings.push(`undo of image ${id}, whose relabel was not the last change`)
      return
    }
    entry.value = top.before
    if (top.wasRelabelled) entry.relabelled = true
    else delete entry.relabelled
    d.undoable.pop()
    return
  }
  if (d.current && d.current.answers.length === 0 && d.done.length > 0) {
    d.current = d.done.pop()!
    d.trains.pop()
    d.fits.pop()
  }
  const last = d.current?.answers.at(-1)
  if (!last || last.id !== id) {
    d.warnings.push(`undo of image ${id}, which was not the last answer`)
    return
  }
  d.current!.answers.pop()
  d.undoable.pop()
}

/**
 * The labelled answers of completed batches, as the engine takes them: every answer given, a
 * re-asked image in each batch that asked it (the engine lets the latest stand).
 */
export const engineBatches = (d: Pick<Derived, 'done'>): Answer[][] => d.done.map((b) => answersOf(b.answers))

/** Labels only, as the engine takes them; a relabelled answer says so (the labeller looked at it twice). */
export const answersOf = (answers: BatchAnswer[]): Answer[] =>
  answers
    .filter((a) => a.value !== null)
    .map((a) => ({ id: a.id, value: a.value as LabelValue, ...(a.relabelled ? { relabelled: true } : {}) }))

const skippedOf = (batches: Derived['done']): number[] => batches.flatMap((b) => b.answers.filter((a) => a.value === null).map((a) => a.id))

export const skippedIds = (d: Derived): number[] => skippedOf([...d.done, ...(d.current ? [d.current] : [])])

/** True when every image of the current batch has an answer: the fit is due. */
export const batchComplete = (d: Derived): boolean => !!d.current && d.current.answers.length === d.current.query.ids.length
