// The mistakes view, as a pure function of the held-out P(positive) and the ground truth: the
// binary confusion matrix, accuracy per ground-truth class, and the images of one cell.
import type { HeldOutItem, LabelValue, MistakeCell, MistakesDto } from '../../shared/contract'
import { encodeImage, ImageSet } from '../data/dataset'

export interface HeldOut {
  /** P(positive) per held-out image under the latest fit. */
  p: ArrayLike<number>
  /** 1 positive, 0 negative, -1 unknown. */
  truth: Int8Array
  set: ImageSet
  classNames: string[] | null
}

/** How sure the model is of its own call: 0 at p = 0.5, 0.5 at p = 0 or 1. */
export const confidence = (p: number): number => Math.abs(p - 0.5)

export function mistakesOf(
  h: HeldOut,
  at: { iteration: number; labels: number },
  cell: MistakeCell | null,
  limit: number
): Omit<MistakesDto, never> {
  const confusion: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0]
  ]
  const names = h.classNames ?? []
  const perClass = names.map((name) => ({ name, positive: false, count: 0, correct: 0 }))
  const inCell: number[] = []
  const classIndex = cell && 'className' in cell ? names.indexOf(cell.className) : -1
  for (let i = 0; i < h.truth.length; i++) {
    const t = h.truth[i]
    if (t < 0) continue
    const predicted = h.p[i] >= 0.5 ? 1 : 0
    confusion[t][predicted]++
    const c = h.set.classes?.[i] ?? -1
    if (c >= 0 && perClass[c]) {
      perClass[c].count++
      perClass[c].positive = t === 1
      if (predicted === t) perClass[c].correct++
    }
    if (!cell) continue
    if ('truth' in cell ? cell.truth === t && cell.predicted === predicted : c === classIndex) inCell.push(i)
  }
  // Most confident first; for a class, its mistakes before the images it gets right.
  const wrong = (i: number) => ((h.p[i] >= 0.5 ? 1 : 0) === h.truth[i] ? 1 : 0)
  inCell.sort((a, b) => wrong(a) - wrong(b) || confidence(h.p[b]) - confidence(h.p[a]) || a - b)
  const items: HeldOutItem[] = inCell.slice(0, limit).map((id) => ({
    id,
    ...encodeImage(h.set, id),
    p: h.p[id],
    truth: h.truth[id] as LabelValue,
    className: names[h.set.classes?.[id] ?? -1] ?? null
  }))
  return {
    iteration: at.iteration,
    labels: at.labels,
    confusion,
    perClass: perClass.filter((c) => c.count > 0),
    cell,
    total: inCell.length,
    items
  }
}
