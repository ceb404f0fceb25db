// Browser mode pushes the whole session state after every answer, and most of it is what the
// previous push said: the batch's images and its two prefetched successors (with a batch of 64,
// 192 images, 80-230 KB of JSON a push), every fit of the history and every answer. Over one
// WebSocket the pushes arrive in the order they were sent, so each side keeps the previous push
// and the wire carries what is new: an image's pixels only when the previous push did not have
// the same pixels for that id, the history and the answers only after the entries both sides
// already hold (the longest common start).
// Responses to calls are never slimmed; only `session` events count as pushes.
import type { IterationDto, LabelDto, QueryItem, SessionState } from './contract'

/** A `session` event's payload on the wire. */
export interface WireState extends SessionState {
  /** The first `keptHistory` fits are the previous push's; `history` holds those after them. */
  keptHistory?: number
  /** The same for the answers. */
  keptLabels?: number
}

/** How many entries at the start of `next` are those of `prev` (by their JSON). */
function commonStart(prev: readonly string[], next: readonly string[]): number {
  let k = 0
  while (k < next.length && k < prev.length && next[k] === prev[k]) k++
  return k
}

type WireItem = Omit<QueryItem, 'pixelsBase64'> & { pixelsBase64?: string }

function mapItems(s: SessionState, f: (q: QueryItem) => QueryItem): Pick<SessionState, 'queue' | 'answered' | 'next'> {
  return {
    queue: s.queue.map(f),
    answered: s.answered.map(f),
    next: s.next ? { negative: s.next.negative.map(f), positive: s.next.positive.map(f) } : null
  }
}

/** The server's side, one per connection. */
export class StateEncoder {
  private pixels = new Map<number, string>()
  private history: string[] = []
  private labels: string[] = []

  encode(s: SessionState): WireState {
    const before = this.pixels
    const pixels = new Map<number, string>()
    const items = mapItems(s, (q) => {
      pixels.set(q.id, q.pixelsBase64)
      if (before.get(q.id) !== q.pixelsBase64) return q
      const slim: WireItem = { ...q }
      delete slim.pixelsBase64
      return slim as QueryItem
    })
    const history = s.history.map((h) => JSON.stringify(h))
    const labels = s.labels.map((l) => JSON.stringify(l))
    const keptHistory = commonStart(this.history, history)
    const keptLabels = commonStart(this.labels, labels)
    this.pixels = pixels
    this.history = history
    this.labels = labels
    return { ...s, ...items, history: s.history.slice(keptHistory), keptHistory, labels: s.labels.slice(keptLabels), keptLabels }
  }
}

/** The client's side, one per connection (a new socket starts from nothing, as the server does). */
export class StateDecoder {
  private pixels = new Map<number, string>()
  private history: IterationDto[] = []
  private labels: LabelDto[] = []

  /** The full state of a pushed payload (a full state passes through unchanged). */
  decode(w: WireState): SessionState {
    if (!Array.isArray(w.queue) || !Array.isArray(w.history) || !Array.isArray(w.labels)) return w
    const before = this.pixels
    const pixels = new Map<number, string>()
    const items = mapItems(w, (q: WireItem) => {
      const p = q.pixelsBase64 ?? before.get(q.id)
      if (p === undefined) throw new Error(`The server sent image ${q.id} without its pixels, and no earlier push had them`)
      pixels.set(q.id, p)
      return q.pixelsBase64 === undefined ? { ...q, pixelsBase64: p } : (q as QueryItem)
    })
    const history = kept(this.history, w.keptHistory, w.history, 'fits of the history')
    const labels = kept(this.labels, w.keptLabels, w.labels, 'answers')
    this.pixels = pixels
    this.history = history
    this.labels = labels
    const s: WireState = { ...w, ...items, history, labels }
    delete s.keptHistory
    delete s.keptLabels
    return s
  }
}

/** The previous push's first `count` entries, then the new ones. */
function kept<T>(prev: readonly T[], count: number | undefined, tail: T[], what: string): T[] {
  if (!count) return tail
  if (count > prev.length) throw new Error(`The server kept ${count} ${what}, and the last push had ${prev.length}`)
  return [...prev.slice(0, count), ...tail]
}
