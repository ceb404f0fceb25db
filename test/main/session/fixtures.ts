// Valid sample events for the session log tests. Each call gets a later timestamp, so no two
// events are byte-identical (identical lines are reported as duplicates by the reader).
import { DEFAULT_CONFIG } from '../../../src/shared/contract'
import type { LabelEvent, QueryEvent, SkipEvent, StartEvent, TrainEvent, UndoEvent } from '../../../src/main/session/events'

let clock = Date.UTC(2025, 0, 1)
export const at = (): string => new Date((clock += 1000)).toISOString()

export const startEvent = (over: Partial<StartEvent> = {}): StartEvent => ({
  v: 1,
  type: 'start',
  at: at(),
  id: 'session-1',
  config: { ...DEFAULT_CONFIG, poolLimit: 100 },
  dataset: { id: 'mnist', hash: 'abc123', poolSize: 100, testSize: 50 },
  base: { id: 'digits-cnn', hash: 'def456' },
  backend: 'cpu',
  app: 'curator test',
  ...over
})

export const queryEvent = (iteration: number, ids: number[]): QueryEvent => ({
  v: 1,
  type: 'query',
  at: at(),
  iteration,
  ids,
  scores: ids.map((_, i) => i / 10),
  p: ids.map((_, i) => 0.5 + i / 100),
  strategy: 'diverse'
})

export const labelEvent = (id: number, value: 0 | 1 = 1, iteration = 0): LabelEvent => ({
  v: 1,
  type: 'label',
  at: at(),
  id,
  value,
  iteration,
  responseMs: 812.5
})

export const skipEvent = (id: number, iteration = 0): SkipEvent => ({ v: 1, type: 'skip', at: at(), id, iteration })

export const undoEvent = (id: number): UndoEvent => ({ v: 1, type: 'undo', at: at(), id })

export const trainEvent = (iteration: number, labels: number): TrainEvent => ({
  v: 1,
  type: 'train',
  at: at(),
  iteration,
  labels,
  headWeights: [0.25, -1.5, 3e-7, 0, 2],
  headBias: -0.125,
  testAccuracy: 0.875,
  labelledAccuracy: null,
  iterationMs: 42.1,
  histogram: { counts: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], byTruth: [Array(11).fill(0), Array(11).fill(1)] }
})
