// Pure bookkeeping behind optimistic labelling.
//
// The server's SessionState.queue holds the unanswered items of the current batch; the
// screen shows the whole batch, answered items dimmed. Answers are recorded locally at once
// (as LocalOps) and sent in order; until a server state reflects an answer, it is "ahead" of
// the server. `project` plays the ahead answers forward over a server state (using the
// prefetched `next` batch when an answer completes the queue), and `reconcile` maps that
// projected queue onto what is on screen, keeping answered items visible.
import type { LabelValue, QueryItem, SessionState } from '../../../shared/contract'

export type Answer = LabelValue | 'skipped'

export interface Slot {
  item: QueryItem
  /** null while unanswered. */
  answer: Answer | null
}

export interface LocalOp {
  kind: 'label' | 'skip'
  id: number
  value: LabelValue | null
}

export type Prefetch = NonNullable<SessionState['next']>

export interface Projection {
  /** The unanswered items the screen should ask next, in order. */
  queue: QueryItem[]
  /** The prefetched batches for the answers to the last item of `queue`, when known. */
  next: Prefetch | null
}

export const toSlots = (items: readonly QueryItem[]): Slot[] => items.map((item) => ({ item, answer: null }))

/** The whole current batch of a state, as a reload or resume shows it: answered items with their answers first. */
export function batchOf(state: SessionState): Slot[] {
  const labelOf = new Map(state.labels.map((l) => [l.id, l.value]))
  return [...state.answered.map((item): Slot => ({ item, answer: labelOf.get(item.id) ?? 'skipped' })), ...toSlots(state.queue)]
}

export const prefetchFor = (next: Prefetch, value: LabelValue): QueryItem[] => (value === 1 ? next.positive : next.negative)

/** Drops the local answers a server state already records (and no longer asks). */
export function confirmOps(ops: readonly LocalOp[], state: SessionState): LocalOp[] {
  const queued = new Set(state.queue.map((q) => q.id))
  const labelled = new Set(state.labels.map((l) => l.id))
  const skipped = new Set(state.skipped)
  return ops.filter((op) => queued.has(op.id) || !(op.kind === 'label' ? labelled.has(op.id) : skipped.has(op.id)))
}

/** The server's queue with the local answers applied on top. */
export function project(state: SessionState, ops: readonly LocalOp[]): Projection {
  let queue = state.queue.slice()
  let next: Prefetch | null = state.next
  for (const op of ops) {
    const i = queue.findIndex((q) => q.id === op.id)
    if (i < 0) continue
    const wasLast = i === queue.length - 1
    queue.splice(i, 1)
    // `next` is for the answers to the last queued item; answering it early makes it unusable.
    if (wasLast && queue.length > 0) next = null
    if (queue.length === 0) {
      if (op.kind === 'label' && op.value !== null && next) queue = prefetchFor(next, op.value).slice()
      next = null
    }
  }
  return { queue, next }
}

/**
 * The batch to show for a projected queue. Keeps the current batch (or the previous one,
 * after an undo that went back across a batch boundary) when it holds every queued item,
 * so answered items stay on screen; otherwise starts a fresh batch.
 */
export function reconcile(current: readonly Slot[], previous: readonly Slot[] | null, proj: Projection, state: SessionState): Slot[] {
  const queue = proj.queue
  if (queue.length === 0) {
    // Everything on screen is answered: keep it (dimmed) while the model retrains.
    return current.length > 0 && current.every((s) => s.answer !== null) ? (current as Slot[]) : []
  }
  for (const base of [current, previous]) {
    if (!base || base.length === 0) continue
    const ids = new Set(base.map((s) => s.item.id))
    if (queue.every((q) => ids.has(q.id))) return merge(base, queue, state)
  }
  return toSlots(queue)
}

function merge(base: readonly Slot[], queue: readonly QueryItem[], state: SessionState): Slot[] {
  const queued = new Map(queue.map((q) => [q.id, q]))
  const labelOf = new Map(state.labels.map((l) => [l.id, l.value]))
  let changed = false
  const out = base.map((s): Slot => {
    const q = queued.get(s.item.id)
    if (q) {
      if (s.answer === null) return s
      changed = true
      return { item: q, answer: null }
    }
    if (s.answer !== null) return s
    changed = true
    return { item: s.item, answer: labelOf.get(s.item.id) ?? 'skipped' }
  })
  return changed ? out : (base as Slot[])
}
