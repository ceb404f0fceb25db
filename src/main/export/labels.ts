// The labelled dataset of an export: one row per answer standing at export time, with the
// image's key (a folder's file path, or the image's index in the IDX/MNIST training file), the
// answer, its time, and whether the image was asked more than once or its answer changed.
// labels.csv and labels.jsonl hold the same rows; a training set other tools read.
import { readIdx } from '../data/idx'
import { idxFilesOf } from '../data/mnist'
import { parseSpecOptions } from '../data/spec'
import { stratifiedSplit } from '../data/split'
import type { SessionEvent } from '../session/events'

/** An answer standing in the session (after undos), as the session fold gives it. */
export interface StandingAnswer {
  id: number
  key?: string
  value: 0 | 1 | null
  at: string
  iteration: number
  responseMs: number
}

export interface LabelRow {
  /** Folder datasets: the file's path relative to the folder; IDX and MNIST: its index in the training images file. */
  key: string
  /** The image's index in the session's pool, as the session log names it. */
  id: number
  label: string
  value: 0 | 1
  /** When the standing answer was given (ISO time). */
  time: string
  iteration: number
  responseMs: number
  /** False for answers in a batch not finished yet: listed, but the model was not fitted on them. */
  trained: boolean
  /** The image was asked more than once (a re-ask, or asked again after an undo across batches). */
  reasked: boolean
  /** An earlier answer to this image (undone, or relabelled) differs from the standing one. */
  changed: boolean
}

export const LABEL_COLUMNS = ['key', 'id', 'label', 'value', 'time', 'iteration', 'responseMs', 'trained', 'reasked', 'changed'] as const

/**
 * The rows, trained answers first, each in the order given. `history` is the session log: it
 * says how often each image was asked and every value it was given (label and relabel events), following remaps of a changed folder to the current ids.
 */
export function labelRows(
  trained: StandingAnswer[],
  pending: StandingAnswer[],
  history: SessionEvent[],
  names: [string, string],
  keyOf: (id: number) => string = String
): LabelRow[] {
  const asked = new Map<number, number>()
  const given = new Map<number, number[]>()
  for (const ev of history) {
    if (ev.type === 'query') for (const id of ev.ids) asked.set(id, (asked.get(id) ?? 0) + 1)
    else if (ev.type === 'label' || ev.type === 'relabel') given.set(ev.id, [...(given.get(ev.id) ?? []), ev.value])
    else if (ev.type === 'remap') {
      const to = new Map(ev.ids)
      const move = <T>(m: Map<number, T>) => new Map([...m].filter(([id]) => to.has(id)).map(([id, v]) => [to.get(id)!, v]))
      const [a, g] = [move(asked), move(given)]
      asked.clear()
      given.clear()
      a.forEach((v, k) => asked.set(k, v))
      g.forEach((v, k) => given.set(k, v))
    }
  }
  const row = (a: StandingAnswer, inModel: boolean): LabelRow => ({
    key: a.key ?? keyOf(a.id),
    id: a.id,
    label: names[a.value!],
    value: a.value!,
    time: a.at,
    iteration: a.iteration,
    responseMs: a.responseMs,
    trained: inModel,
    reasked: (asked.get(a.id) ?? 0) > 1,
    changed: (given.get(a.id) ?? []).some((v) => v !== a.value)
  })
  return [
    ...trained.filter((a) => a.value !== null).map((a) => row(a, true)),
    ...pending.filter((a) => a.value !== null).map((a) => row(a, false))
  ]
}

const csvCell = (v: unknown) => {
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export const labelsCsv = (rows: LabelRow[]): string =>
  [LABEL_COLUMNS.join(','), ...rows.map((r) => LABEL_COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n'

export const labelsJsonl = (rows: LabelRow[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '')

/**
 * For IDX and MNIST datasets: pool index -> index in the training images file. They are the
 * same unless the held-out split was drawn from that file (no test files): then the split is
 * recomputed from the labels file alone, exactly as the dataset loader drew it.
 */
export function idxKeyOf(datasetId: string): (id: number) => string {
  if (!datasetId.startsWith('idx:')) return String
  const { path, options } = parseSpecOptions(datasetId.slice(4), 'idx')
  if (options.testFraction === undefined || options.splitSeed === undefined) return String
  const labels = readIdx(idxFilesOf(path).trainLabels)
  const { pool } = stratifiedSplit(Array.from(labels.data), options.testFraction, options.splitSeed)
  return (id) => String(pool[id])
}
