// The events of session.jsonl: one JSON object per line, each with the format version `v`,
// a `type` and an ISO timestamp `at`. The validator is hand-written and strict (unknown keys
// are rejected too) because every line must be trusted before a session is rebuilt from it.
import { FITS, STRATEGIES } from '../../shared/contract'
import type { HistogramDto, LabelValue, SessionConfig } from '../../shared/contract'

export const FORMAT_VERSION = 1

let lastTime = 0
/**
 * The `at` of a new event: the wall clock, but strictly increasing, so no two events of a
 * session are ever byte-identical (the reader drops exact duplicate lines as damage).
 */
export function eventTime(): string {
  lastTime = Math.max(Date.now(), lastTime + 1)
  return new Date(lastTime).toISOString()
}

interface EventBase {
  v: typeof FORMAT_VERSION
  at: string
}

/** Always the first line of a log. */
export interface StartEvent extends EventBase {
  type: 'start'
  id: string
  config: SessionConfig
  dataset: { id: string; hash: string; poolSize: number; testSize: number }
  base: { id: string; hash: string }
  backend: string
  /** The Curator version that recorded it ("curator 0.1.0"): replay checks against it. */
  app: string
}

export interface QueryEvent extends EventBase {
  type: 'query'
  iteration: number
  ids: number[]
  /** Folder datasets: each asked image's file key (path relative to the folder), per id. */
  keys?: string[]
  scores: number[]
  p: number[]
  strategy: string
}

export interface LabelEvent extends EventBase {
  type: 'label'
  id: number
  /** Folder datasets: the image's file key. */
  key?: string
  value: LabelValue
  iteration: number
  responseMs: number
}

export interface SkipEvent extends EventBase {
  type: 'skip'
  id: number
  key?: string
  iteration: number
}

/**
 * The folder changed (files added, removed, renamed) and the session was reopened on it: every
 * image the log names is mapped by its file key to its id in the new folder (`ids`: [old, new]);
 * the answers of images no longer in the pool are dropped and listed in `missing`. Events after
 * it use the new ids.
 */
export interface RemapEvent extends EventBase {
  type: 'remap'
  dataset: StartEvent['dataset']
  ids: [number, number][]
  missing: { id: number; key: string; reason: string }[]
}

/** Takes back the last label of that id. */
export interface UndoEvent extends EventBase {
  type: 'undo'
  id: number
}

export interface TrainEvent extends EventBase {
  type: 'train'
  iteration: number
  labels: number
  headWeights: number[]
  headBias: number
  testAccuracy: number | null
  labelledAccuracy: number | null
  iterationMs: number
  histogram: HistogramDto
}

export type SessionEvent = StartEvent | QueryEvent | LabelEvent | SkipEvent | UndoEvent | TrainEvent | RemapEvent
export type EventType = SessionEvent['type']

/** The histogram has 11 bins over P(positive) (see HistogramDto). */
const BINS = 11

// --- small checkers: each throws an Error naming the field path ---

type Obj = Record<string, unknown>

function fail(path: string, want: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : Array.isArray(got) ? 'an array' : got === null ? 'null' : typeof got === 'object' ? 'an object' : String(got)
  throw new Error(`${path}: expected ${want}, got ${shown}`)
}

function obj(x: unknown, path: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'an object', x)
  return x as Obj
}

/** Rejects missing keys and unknown keys; `optional` keys may be absent. */
function keys(o: Obj, path: string, required: string[], optional: string[] = []): void {
  for (const k of required) if (o[k] === undefined) throw new Error(`${path}.${k}: missing`)
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw new Error(`${path}.${k}: unknown field`)
}

function str(x: unknown, path: string, nonEmpty = false): string {
  if (typeof x !== 'string' || (nonEmpty && x.length === 0)) fail(path, nonEmpty ? 'a non-empty string' : 'a string', x)
  return x
}

function num(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail(path, 'a finite number', x)
  return x
}

function int(x: unknown, path: string, min = 0): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) fail(path, `an integer >= ${min}`, x)
  return x
}

function prob(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > 1) fail(path, 'a number in [0, 1]', x)
  return x
}

function nullableProb(x: unknown, path: string): void {
  if (x !== null) prob(x, path)
}

function arr(x: unknown, path: string, each: (v: unknown, p: string) => unknown, length?: number): unknown[] {
  if (!Array.isArray(x)) fail(path, 'an array', x)
  if (length !== undefined && x.length !== length) throw new Error(`${path}: expected ${length} items, got ${x.length}`)
  x.forEach((v, i) => each(v, `${path}[${i}]`))
  return x
}

function oneOf(x: unknown, path: string, allowed: readonly string[]): void {
  if (typeof x !== 'string' || !allowed.includes(x)) fail(path, `one of ${allowed.join(', ')}`, x)
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

function isoTime(x: unknown, path: string): void {
  if (typeof x !== 'string' || !ISO.test(x) || Number.isNaN(Date.parse(x))) fail(path, 'an ISO timestamp', x)
}

function answer(x: unknown, path: string): void {
  const o = obj(x, path)
  keys(o, path, ['name', 'key'])
  str(o.name, `${path}.name`, true)
  str(o.key, `${path}.key`, true)
}

function config(x: unknown, path: string): void {
  const o = obj(x, path)
  keys(o, path, ['dataset', 'task', 'strategy', 'fit', 'batchSize', 'unfreeze', 'seed'], ['poolLimit', 'testLimit'])
  str(o.dataset, `${path}.dataset`, true)
  const t = obj(o.task, `${path}.task`)
  keys(t, `${path}.task`, ['question', 'negative', 'positive', 'positiveClasses'])
  str(t.question, `${path}.task.question`)
  answer(t.negative, `${path}.task.negative`)
  answer(t.positive, `${path}.task.positive`)
  if (t.positiveClasses !== null) arr(t.positiveClasses, `${path}.task.positiveClasses`, str)
  oneOf(o.strategy, `${path}.strategy`, STRATEGIES)
  oneOf(o.fit, `${path}.fit`, FITS)
  int(o.batchSize, `${path}.batchSize`, 1)
  int(o.unfreeze, `${path}.unfreeze`)
  int(o.seed, `${path}.seed`, Number.MIN_SAFE_INTEGER)
  if (o.poolLimit !== undefined) int(o.poolLimit, `${path}.poolLimit`, 1)
  if (o.testLimit !== undefined) int(o.testLimit, `${path}.testLimit`, 1)
}

function histogram(x: unknown, path: string): void {
  const o = obj(x, path)
  keys(o, path, ['counts', 'byTruth'])
  arr(o.counts, `${path}.counts`, (v, p) => int(v, p), BINS)
  if (o.byTruth !== null) arr(o.byTruth, `${path}.byTruth`, (v, p) => arr(v, p, (w, q) => int(w, q), BINS), 2)
}

/** Event fields that may be absent (file keys: only folder datasets have them). */
const OPTIONAL_FIELDS = new Set(['keys', 'key'])
const optional =
  (check: (x: unknown, path: string) => unknown) =>
  (x: unknown, path: string): unknown =>
    x === undefined ? undefined : check(x, path)
const fileKey = (x: unknown, p: string) => str(x, p, true)

function datasetRecord(x: unknown, p: string): void {
  const o = obj(x, p)
  keys(o, p, ['id', 'hash', 'poolSize', 'testSize'])
  str(o.id, `${p}.id`, true)
  str(o.hash, `${p}.hash`)
  int(o.poolSize, `${p}.poolSize`)
  int(o.testSize, `${p}.testSize`)
}

// The fields of each event type beyond v, type and at, with their checks.
const FIELDS: { [T in EventType]: Record<string, (x: unknown, path: string) => unknown> } = {
  start: {
    id: (x, p) => str(x, p, true),
    config,
    dataset: datasetRecord,
    base: (x, p) => {
      const o = obj(x, p)
      keys(o, p, ['id', 'hash'])
      str(o.id, `${p}.id`, true)
      str(o.hash, `${p}.hash`)
    },
    backend: (x, p) => str(x, p, true),
    app: (x, p) => str(x, p, true)
  },
  query: {
    iteration: int,
    ids: (x, p) => arr(x, p, (v, q) => int(v, q)),
    keys: optional((x, p) => arr(x, p, fileKey)),
    scores: (x, p) => arr(x, p, num),
    p: (x, p) => arr(x, p, prob),
    strategy: (x, p) => str(x, p, true)
  },
  label: {
    id: int,
    key: optional(fileKey),
    value: (x, p) => {
      if (x !== 0 && x !== 1) fail(p, '0 or 1', x)
    },
    iteration: int,
    responseMs: (x, p) => {
      if (num(x, p) < 0) fail(p, 'a number >= 0', x)
    }
  },
  skip: { id: int, key: optional(fileKey), iteration: int },
  remap: {
    dataset: datasetRecord,
    ids: (x, p) => arr(x, p, (v, q) => arr(v, q, (w, r) => int(w, r), 2)),
    missing: (x, p) =>
      arr(x, p, (v, q) => {
        const o = obj(v, q)
        keys(o, q, ['id', 'key', 'reason'])
        int(o.id, `${q}.id`)
        str(o.key, `${q}.key`, true)
        str(o.reason, `${q}.reason`, true)
      })
  },
  undo: { id: int },
  train: {
    iteration: int,
    labels: int,
    headWeights: (x, p) => arr(x, p, num),
    headBias: num,
    testAccuracy: nullableProb,
    labelledAccuracy: nullableProb,
    iterationMs: (x, p) => {
      if (num(x, p) < 0) fail(p, 'a number >= 0', x)
    },
    histogram
  }
}

/** Returns `obj` typed as an event, or throws an Error naming the first bad field. */
export function validateEvent(x: unknown): SessionEvent {
  const o = obj(x, 'event')
  if (o.v === undefined) throw new Error('missing format version (v)')
  if (o.v !== FORMAT_VERSION) throw new Error(`unsupported format version ${JSON.stringify(o.v)}`)
  if (typeof o.type !== 'string' || !Object.hasOwn(FIELDS, o.type)) {
    throw new Error(o.type === undefined ? 'missing event type' : `unknown event type ${JSON.stringify(o.type)}`)
  }
  const type = o.type as EventType
  const fields = FIELDS[type]
  const names = Object.keys(fields)
  keys(o, type, ['v', 'type', 'at', ...names.filter((k) => !OPTIONAL_FIELDS.has(k))], names.filter((k) => OPTIONAL_FIELDS.has(k)))
  isoTime(o.at, `${type}.at`)
  for (const [k, check] of Object.entries(fields)) check(o[k], `${type}.${k}`)
  if (type === 'query') {
    // scores and p are per asked id.
    const q = o as unknown as QueryEvent
    if (q.scores.length !== q.ids.length || q.p.length !== q.ids.length) {
      throw new Error(`query: ids, scores and p must have the same length (${q.ids.length}, ${q.scores.length}, ${q.p.length})`)
    }
    if (q.keys && q.keys.length !== q.ids.length) throw new Error(`query: ids and keys must have the same length (${q.ids.length}, ${q.keys.length})`)
  }
  return o as unknown as SessionEvent
}
