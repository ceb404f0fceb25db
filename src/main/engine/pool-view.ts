// The pool browser's pages: the whole pool sorted by P(positive), by uncertainty or by base
// class, filtered by answer state, sliced. Orders are cached per fit and sort, so scrolling
// through 60,000 images only slices.
import type { PoolItem, PoolPage, PoolQuery } from '../../shared/contract'
import { encodeImage, ImageSet } from '../data/dataset'
import type { FeatureMatrix } from './features'

export interface PoolViewInput {
  set: ImageSet
  p: Float32Array
  features: FeatureMatrix
  /** The base's class names; the base class of an image is the argmax of its features when they are the base's outputs. */
  classNames: string[]
  /** Answers given: id -> 0 | 1 | 'skipped'. */
  answers: Map<number, PoolItem['answer']>
}

/** The base model's class for each image (argmax of its output), or null when the features are not the outputs. */
export function baseClasses(f: FeatureMatrix, classes: number): Int32Array | null {
  if (f.dim !== classes) return null
  const out = new Int32Array(f.count)
  for (let i = 0; i < f.count; i++) {
    let best = 0
    for (let j = 1; j < f.dim; j++) if (f.data[i * f.dim + j] > f.data[i * f.dim + best]) best = j
    out[i] = best
  }
  return out
}

export function sortedOrder(sort: PoolQuery['sort'], p: Float32Array, classOf: Int32Array | null): Int32Array {
  const ids = Int32Array.from({ length: p.length }, (_, i) => i)
  const byP = (a: number, b: number) => p[b] - p[a] || a - b
  if (sort === 'p') return ids.sort(byP)
  if (sort === 'uncertainty') return ids.sort((a, b) => Math.abs(p[a] - 0.5) - Math.abs(p[b] - 0.5) || a - b)
  if (!classOf) throw new Error('sorting by base class needs the base model’s outputs as features (unfreeze 0)')
  return ids.sort((a, b) => classOf[a] - classOf[b] || byP(a, b))
}

export function poolPage(v: PoolViewInput, order: Int32Array, classOf: Int32Array | null, q: PoolQuery): PoolPage {
  const keep = (id: number) => {
    const a = v.answers.get(id) ?? null
    return q.filter === 'all' || (q.filter === 'unanswered' ? a === null : q.filter === 'skipped' ? a === 'skipped' : a === 0 || a === 1)
  }
  const ids = q.filter === 'all' ? order : order.filter(keep)
  const page = ids.subarray(q.offset, q.offset + q.limit)
  const items: PoolItem[] = Array.from(page, (id) => ({
    id,
    ...encodeImage(v.set, id),
    p: v.p[id],
    baseClass: classOf ? (v.classNames[classOf[id]] ?? null) : null,
    answer: v.answers.get(id) ?? null
  }))
  return { query: q, total: ids.length, items }
}
