// The session fold on hand-written logs: relabels, re-asked images, undo of a relabel, and what
// each fit stood on (replay rebuilds every fit from it).
import { describe, expect, it } from 'vitest'
import { derive, engineBatches, standingAnswers } from '../../../src/main/session/derive'
import type { SessionEvent, StartEvent, TrainEvent } from '../../../src/main/session/events'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'
import { labelEvent, queryEvent, startEvent, trainEvent } from './fixtures'

const at = '2026-01-01T00:00:00.000Z'
const start: StartEvent = {
  v: 1,
  type: 'start',
  at,
  id: 's',
  config: DEFAULT_CONFIG,
  dataset: { id: 'mnist', hash: 'h', poolSize: 100, testSize: 0 },
  base: { id: 'b', hash: 'b' },
  backend: 'wasm',
  app: 'curator test'
}
const query = (iteration: number, ids: number[]): SessionEvent => ({
  v: 1,
  type: 'query',
  at,
  iteration,
  ids,
  scores: ids.map(() => 0),
  p: ids.map(() => 0.5),
  strategy: 'uncertainty'
})
const label = (id: number, value: 0 | 1, iteration: number): SessionEvent => ({
  v: 1,
  type: 'label',
  at,
  id,
  value,
  iteration,
  responseMs: 1
})
const train = (iteration: number): TrainEvent => ({
  v: 1,
  type: 'train',
  at,
  iteration,
  labels: 0,
  headWeights: [],
  headBias: 0,
  testAccuracy: null,
  labelledAccuracy: null,
  iterationMs: 0,
  histogram: { counts: Array(11).fill(0), byTruth: null }
})
const relabel = (id: number, value: 0 | 1, iteration: number): SessionEvent => ({ v: 1, type: 'relabel', at, id, value, iteration })
const undo = (id: number): SessionEvent => ({ v: 1, type: 'undo', at, id })

describe('derive', () => {
  const base = [start, train(0), query(0, [1, 2]), label(1, 1, 0), label(2, 0, 0), train(1), query(1, [3, 1])]

  it('a re-asked image stands once, with its latest answer; every fit keeps what it stood on', () => {
    const d = derive([...base, label(3, 1, 1), label(1, 0, 1), train(2), query(2, [4])])
    expect(d.warnings).toEqual([])
    expect(engineBatches(d)).toEqual([
      [
        { id: 1, value: 1 },
        { id: 2, value: 0 }
      ],
      [
        { id: 3, value: 1 },
        { id: 1, value: 0 }
      ]
    ])
    expect(standingAnswers(d).map((a) => [a.id, a.value])).toEqual([
      [2, 0],
      [3, 1],
      [1, 0]
    ])
    expect(d.fits.map((f) => f.batches.length)).toEqual([0, 1, 2])
    expect(d.fits.map((f) => f.query?.ids)).toEqual([[1, 2], [3, 1], [4]])
  })

  it('a relabel changes the standing answer; a refit of the same iteration closes nothing and replaces the fit', () => {
    const d = derive([...base, label(3, 1, 1), relabel(2, 1, 1), train(1)])
    expect(d.warnings).toEqual([])
    expect(d.trains.map((t) => t.iteration)).toEqual([0, 1])
    expect(d.current?.answers.map((a) => a.id)).toEqual([3])
    expect(d.done[0].answers.find((a) => a.id === 2)).toMatchObject({ value: 1, relabelled: true })
    // The refit stood on the relabel; no query followed it.
    expect(d.fits[1]).toEqual({
      batches: [
        [
          { id: 1, value: 1 },
          { id: 2, value: 1, relabelled: true }
        ]
      ],
      skipped: [],
      query: null
    })
  })

  it('undo takes back the last change: a relabel first, then the answers before it', () => {
    const events = [...base, label(3, 1, 1), relabel(2, 1, 1), undo(2)]
    const d = derive(events)
    expect(d.warnings).toEqual([])
    expect(d.done[0].answers.find((a) => a.id === 2)).toEqual(expect.objectContaining({ value: 0 }))
    expect(d.done[0].answers.find((a) => a.id === 2)?.relabelled).toBeUndefined()
    expect(d.current?.answers.map((a) => a.id)).toEqual([3])
    const d2 = derive([...events, undo(3)])
    expect(d2.warnings).toEqual([])
    expect(d2.current?.answers).toEqual([])
    // An undo that names another image than the last change is reported, and changes nothing.
    const d3 = derive([...base, relabel(1, 0, 1), undo(2)])
    expect(d3.warnings).toEqual(['undo of image 2, whose relabel was not the last change'])
    expect(standingAnswers(d3).find((a) => a.id === 1)?.value).toBe(0)
  })

  it('a relabel of an image never answered is reported and ignored', () => {
    const d = derive([...base, relabel(9, 1, 1)])
    expect(d.warnings).toEqual(['relabel of image 9, which has no answer'])
    expect(d.undoable.at(-1)).toEqual({ kind: 'answer' })
  })

  it('keeps the fit that stands: a refit of the same iteration (after a crash) replaces the earlier one', () => {
    const first = { ...trainEvent(1, 2), testAccuracy: 0.5 }
    const refit = { ...trainEvent(1, 2), testAccuracy: 0.75 }
    const d = derive([
      startEvent(),
      trainEvent(0, 0),
      queryEvent(0, [1, 2]),
      labelEvent(1, 1, 0),
      labelEvent(2, 0, 0),
      first,
      refit,
      queryEvent(1, [3, 4])
    ])
    expect(d.trains.map((t) => t.iteration)).toEqual([0, 1])
    expect(d.trains[1]).toBe(refit)
    expect(d.warnings).toEqual([])
  })
})
