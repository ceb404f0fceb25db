// The pushed-state codec of browser mode: what goes over the wire is only what changed, and the
// client rebuilds every state exactly.
import { describe, expect, it } from 'vitest'
import type { IterationDto, LabelDto, QueryItem, SessionState } from '../../../src/shared/contract'
import { sessionState } from '../../helpers/session-state'
import { StateDecoder, StateEncoder } from '../../../src/shared/state-codec'

const item = (id: number, pixels = `px${id}`): QueryItem => ({
  id,
  width: 2,
  height: 2,
  channels: 1,
  pixelsBase64: pixels,
  p: id / 100,
  score: id
})
const fit = (iteration: number, bias = iteration / 10): IterationDto => ({
  iteration,
  labels: 4 * iteration,
  testAccuracy: 0.5 + iteration / 100,
  labelledAccuracy: 1,
  headWeights: [bias, -bias],
  headBias: bias,
  histogram: { counts: [iteration, 2], edges: [0, 0.5, 1] } as unknown as IterationDto['histogram'],
  iterationMs: 3
})
const label = (id: number, value: 0 | 1 = 1): LabelDto =>
  ({ id, value, iteration: 0, responseMs: 500, at: '2026-12-03T06:00:00Z', asked: 1 }) as LabelDto
const state = sessionState

/** Sends each state through a fresh encoder and decoder pair, over JSON as on the socket. */
function wire(states: SessionState[]): { sent: ReturnType<StateEncoder['encode']>[]; got: SessionState[] } {
  const enc = new StateEncoder()
  const dec = new StateDecoder()
  const sent = states.map((s) => JSON.parse(JSON.stringify(enc.encode(s))))
  return { sent, got: sent.map((w) => dec.decode(w)) }
}

describe('pushed states over the WebSocket', () => {
  const first = state({ history: [fit(0)], queue: [item(1), item(2)], next: { negative: [item(3)], positive: [item(4)] } })
  const answered = state({
    history: [fit(0)],
    labels: [label(1)],
    queue: [item(2)],
    answered: [item(1)],
    next: { negative: [item(3)], positive: [item(4)] }
  })
  // The batch's last answer: a fit, the prefetched batch for it asked, new prefetches.
  const nextBatch = state({
    history: [fit(0), fit(1)],
    labels: [label(1), label(2)],
    queue: [item(4)],
    next: { negative: [item(5)], positive: [item(6, 'new')] }
  })
  // Undo: the last fit taken back and made again differently; image 6 comes back with other pixels.
  const undone = state({
    history: [fit(0), fit(1, 0.7)],
    labels: [label(1, 0), label(2)],
    queue: [item(4)],
    next: { negative: [item(5)], positive: [item(6, 'other')] }
  })

  it('rebuilds every state exactly', () => {
    const seq = [first, answered, nextBatch, undone]
    expect(wire(seq).got).toEqual(JSON.parse(JSON.stringify(seq))) // as the socket carries them
  })

  it("sends an image's pixels once while it stays in the pushes, and the history and the answers after those already sent", () => {
    const { sent } = wire([first, answered, nextBatch, undone])
    expect(sent[0].queue.map((q) => q.pixelsBase64)).toEqual(['px1', 'px2'])
    expect(sent[0].keptHistory).toBe(0)
    expect(sent[1].queue[0].pixelsBase64).toBeUndefined()
    expect(sent[1].answered[0].pixelsBase64).toBeUndefined()
    expect(sent[1].history).toEqual([])
    expect(sent[1].keptHistory).toBe(1)
    expect([sent[1].keptLabels, sent[1].labels]).toEqual([0, [label(1)]])
    // Image 4 was a prefetch and is now the queue: not sent again; image 6 is new.
    expect(sent[2].queue[0].pixelsBase64).toBeUndefined()
    expect(sent[2].next!.positive[0].pixelsBase64).toBe('new')
    expect(sent[2].history).toEqual([fit(1)])
    expect([sent[2].keptLabels, sent[2].labels]).toEqual([1, [label(2)]])
    // Changed pixels under the same id are sent; a fit made again is sent again.
    expect(sent[3].next!.positive[0].pixelsBase64).toBe('other')
    expect(sent[3].keptHistory).toBe(1)
    expect(sent[3].history).toEqual([fit(1, 0.7)])
    // An answer changed: the answers from it on are sent.
    expect([sent[3].keptLabels, sent[3].labels]).toEqual([0, [label(1, 0), label(2)]])
  })

  it('passes a full state through, and refuses a slim one it cannot complete', () => {
    expect(new StateDecoder().decode(first)).toEqual(first)
    const enc = new StateEncoder()
    enc.encode(first)
    const slim = JSON.parse(JSON.stringify(enc.encode(answered)))
    expect(() => new StateDecoder().decode(slim)).toThrow(/image 2 without its pixels/)
  })
})
