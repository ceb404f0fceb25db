// The one schema of Curator's data: the session config, every StudioApi call's arguments and
// every session-log event, with their limits, the reserved keys and the error codes. The start
// form, the IPC and WebSocket bindings, the log reader and writer and the CLI all validate with
// it, so each rule (and its message) exists once. Types are inferred from the schemas.
//
// Extending: a config field goes into SessionConfigSchema (its limit into LIMITS); a call into
// CALLS (one line per method); an event gets its own section below and a line in EVENT_SCHEMAS.
// Messages read "<path> <message>", e.g. "config.batchSize must be a whole number from 1 to 64, got 65".
import * as v from 'valibot'
import { BaseSpecSchema } from './base-spec'

// ---------------------------------------------------------------- error codes

export const ERROR_CODES = [
  'BAD_ARGUMENT',
  'BAD_DATA',
  'NOT_FOUND',
  'EXISTS',
  'NOT_WRITABLE',
  'DISK_FULL',
  'NO_SESSION',
  'CANCELLED',
  'FORBIDDEN',
  /** The engine thread stopped (crashed, or shut down) before it answered; the next call starts a new one. */
  'ENGINE_STOPPED',
  'INTERNAL'
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** The serialisable form of any error, as it crosses IPC, the preload or the WebSocket. */
export const ErrorDtoSchema = v.object({
  code: v.picklist(ERROR_CODES),
  message: v.string(),
  /** Machine-readable specifics (e.g. the path that exists, the field that is wrong). */
  details: v.optional(v.record(v.string(), v.unknown()))
})
export type ErrorDto = v.InferOutput<typeof ErrorDtoSchema>

// ---------------------------------------------------------------- limits and reserved keys

export const LIMITS = {
  batchSize: { min: 1, max: 64 },
  /** Base layers that can train besides the head (the base CNN has 4 trainable blocks above its split). */
  unfreeze: { min: 0, max: 4 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  poolLimit: { min: 1, max: 1e8 },
  testLimit: { min: 1, max: 1e8 },
  imageId: { min: 0, max: 2 ** 31 - 1 },
  epochs: { min: 1, max: 50 },
  pretrainLimit: { min: 128, max: 60000 },
  /** Labels a simulated run may spend (CLI). */
  budget: { min: 1, max: 1e6 },
  questionLength: 500,
  answerNameLength: 64,
  classNameLength: 256,
  pathLength: 4096,
  taskNameLength: 200,
  /** Images one view call returns (the mistakes view's cell, a page of the pool browser). */
  viewImages: { min: 1, max: 2000 },
  /** A simulated labeller's chance of pressing the wrong key, per answer (CLI). */
  noise: { min: 0, max: 0.5 }
} as const

/** Keys the labelling view owns (skip, show guess, help, the numeric answers, play in replay). */
export const RESERVED_KEYS = ['s', 'g', '?', '0', '1', ' '] as const

/** The P(positive) histogram: 11 equal bins over [0, 1], as the original figure had. */
export const HISTOGRAM_BINS = 11

export const STRATEGIES = ['diverse', 'uncertainty', 'random', 'seed-window'] as const
export type StrategyName = (typeof STRATEGIES)[number]
/** The strategy a query records for an image the labeller picked in the pool browser. */
export const CHOSEN = 'chosen'

/** How the head is fitted after each batch. converge: L2-regularised logistic regression solved
 *  to convergence (Newton). original: one Adam step (lr 0.1) per iteration, as the 2019 demo did. */
export const FITS = ['converge', 'original'] as const
export type FitName = (typeof FITS)[number]

export const FOLDER_PURPOSES = ['dataset', 'session', 'export', 'base'] as const

// ---------------------------------------------------------------- messages

/** A value as a message shows it: short, and never the whole of a long string or a list. */
export function shown(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 60 ? `${x.slice(0, 60)}…` : x)
  if (Array.isArray(x)) return 'a list'
  if (x === null) return 'null'
  if (x === undefined) return 'nothing'
  if (typeof x === 'object') return 'an object'
  return String(x)
}

type AnyIssue = v.BaseIssue<unknown>
const must = (what: string) => (issue: AnyIssue) => `must be ${what}, got ${shown(issue.input)}`

// ---------------------------------------------------------------- building blocks

const whole = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const m = must(what)
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m))
}
/** A whole number within a LIMITS entry. */
const int = (limit: { min: number; max: number }) => whole(`a whole number from ${limit.min} to ${limit.max}`, limit.min, limit.max)
/** A whole number >= min, unbounded (counts and ids in the log). */
const count = (min = 0) => whole(`a whole number >= ${min}`, min)
const finite = () => v.pipe(v.number(must('a finite number')), v.finite(must('a finite number')))
const nonNegative = () => v.pipe(finite(), v.minValue(0, must('a number >= 0')))
const probability = () => v.pipe(finite(), v.minValue(0, must('a number from 0 to 1')), v.maxValue(1, must('a number from 0 to 1')))
const text = (max: number) =>
  v.pipe(
    v.string(must('a text')),
    v.maxLength(max, (i) => `must be at most ${max} characters, got ${(i.input as string).length}`)
  )
/** Trimmed, not empty, at most `max` characters. */
const filled = (max: number) => v.pipe(text(max), v.trim(), v.nonEmpty('must not be empty'))
const list = <S extends v.GenericSchema>(item: S) => v.array(item, must('a list'))
const fixedList = <S extends v.GenericSchema>(item: S, n: number) =>
  v.pipe(
    list(item),
    v.length(n, (i) => `must have ${n} items, got ${(i.input as unknown[]).length}`)
  )
const isRecord = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x)
/** A strict object (unknown keys refused); valibot alone would take an array for an object. */
const obj = <E extends v.ObjectEntries>(entries: E) =>
  v.pipe(v.custom<object>(isRecord, must('an object')), v.strictObject(entries, must('an object')))
const oneOf = <T extends readonly (string | number)[]>(options: T) => v.picklist(options, must(`one of ${options.join(', ')}`))
/** null or undefined becomes undefined: an optional argument as JSON may carry null. */
const optionalArg = <S extends v.GenericSchema>(s: S) =>
  v.pipe(
    v.nullish(s),
    v.transform((x) => x ?? undefined)
  )
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/
const isoTime = () =>
  v.pipe(
    v.string(must('an ISO timestamp')),
    v.check((s) => ISO.test(s) && !Number.isNaN(Date.parse(s)), must('an ISO timestamp'))
  )

// ---------------------------------------------------------------- session config

const shownKeys = RESERVED_KEYS.map((k) => (k === ' ' ? 'Space' : k.toUpperCase())).join(', ')

/** One character, lower-cased; not a key the labelling view owns. */
const answerKey = (reservedAllowed: boolean) =>
  v.pipe(
    v.string(must('one character')),
    v.toLowerCase(),
    v.check((k) => [...k].length === 1, must('one character')),
    v.check(
      (k) => reservedAllowed || !(RESERVED_KEYS as readonly string[]).includes(k),
      (i) => `must not be a key the studio uses (${shownKeys}), got ${shown(i.input)}`
    )
  )

const answer = (reservedAllowed: boolean) => obj({ name: filled(LIMITS.answerNameLength), key: answerKey(reservedAllowed) })

const task = (reservedAllowed: boolean) =>
  v.pipe(
    obj({
      question: filled(LIMITS.questionLength),
      negative: answer(reservedAllowed),
      positive: answer(reservedAllowed),
      /** Ground-truth class names counted as positive (evaluation and simulated labelling). */
      positiveClasses: v.nullable(v.array(filled(LIMITS.classNameLength), must('a list of class names or null')))
    }),
    v.forward(
      v.check((t) => t.negative.name !== t.positive.name, 'must differ from the negative answer'),
      ['positive', 'name']
    ),
    v.forward(
      v.check((t) => t.negative.key !== t.positive.key, 'must differ from the negative answer’s key'),
      ['positive', 'key']
    )
  )

/** Each config field's rule, also used on its own (CLI flags). */
export const CONFIG_FIELDS = {
  /** 'mnist', 'idx:PATH' or 'folder:PATH'. */
  dataset: filled(LIMITS.pathLength),
  strategy: oneOf(STRATEGIES),
  fit: oneOf(FITS),
  batchSize: int(LIMITS.batchSize),
  /** Base layers left trainable, counted from the top (0: only the head trains). */
  unfreeze: int(LIMITS.unfreeze),
  seed: int(LIMITS.seed),
  /** Ask answers in doubt again (default true; false: they are still found and listed, never asked again). */
  reask: v.boolean(),
  /** Use only the first N pool / test images (quick runs and tests). */
  poolLimit: int(LIMITS.poolLimit),
  testLimit: int(LIMITS.testLimit)
}

const config = (reservedAllowed: boolean) =>
  obj({
    dataset: CONFIG_FIELDS.dataset,
    task: task(reservedAllowed),
    strategy: CONFIG_FIELDS.strategy,
    fit: CONFIG_FIELDS.fit,
    batchSize: CONFIG_FIELDS.batchSize,
    unfreeze: CONFIG_FIELDS.unfreeze,
    seed: CONFIG_FIELDS.seed,
    reask: v.optional(CONFIG_FIELDS.reask),
    poolLimit: v.optional(CONFIG_FIELDS.poolLimit),
    testLimit: v.optional(CONFIG_FIELDS.testLimit)
  })

export const SessionConfigSchema = config(false)
export type SessionConfig = v.InferOutput<typeof SessionConfigSchema>
export type TaskConfig = SessionConfig['task']
export type AnswerDef = TaskConfig['negative']

/**
 * What the log reader tolerates in the config of logs written before this schema, and nothing
 * else: answer keys the studio now reserves (the API accepted them, so such sessions exist and
 * must still resume and replay). Everything else is the strict schema.
 */
export const LoggedConfigSchema = config(true)

// ---------------------------------------------------------------- StudioApi arguments

const folder = filled(LIMITS.pathLength)
const imageId = int(LIMITS.imageId)

export const PretrainOptionsSchema = obj({
  epochs: int(LIMITS.epochs),
  seed: int(LIMITS.seed),
  /** Train and test on the first N MNIST images only (quick runs). */
  limit: v.optional(int(LIMITS.pretrainLimit))
})
export type PretrainOptions = v.InferOutput<typeof PretrainOptionsSchema>

export const LabelValueSchema = v.picklist([0, 1] as const, must('0 or 1'))
/** 0 = negative answer, 1 = positive answer. */
export type LabelValue = v.InferOutput<typeof LabelValueSchema>

type Arg = readonly [name: string, schema: v.GenericSchema]
const call = <const A extends readonly Arg[]>(...a: A) => ({
  names: a.map(([n]) => n),
  schema: v.strictTuple(a.map(([, s]) => s) as unknown as { [K in keyof A]: A[K][1] }, must('a list of arguments'))
})

/** A cell of the mistakes view: a cell of the confusion matrix, or one ground-truth class. */
export const MistakeCellSchema = v.union(
  [obj({ truth: LabelValueSchema, predicted: LabelValueSchema }), obj({ className: filled(LIMITS.classNameLength) })],
  must('{truth, predicted} or {className}')
)
export type MistakeCell = v.InferOutput<typeof MistakeCellSchema>

export const POOL_SORTS = ['p', 'uncertainty', 'class'] as const
export const POOL_FILTERS = ['all', 'unanswered', 'labelled', 'skipped'] as const
/** A page of the pool browser: sorted (P high to low, closest to 0.5 first, base class), filtered by answer state. */
export const PoolQuerySchema = obj({
  sort: oneOf(POOL_SORTS),
  filter: oneOf(POOL_FILTERS),
  offset: int(LIMITS.imageId),
  limit: int(LIMITS.viewImages)
})
export type PoolQuery = v.InferOutput<typeof PoolQuerySchema>

/** The arguments of every StudioApi method, by name (contract.ts checks these against StudioApi). */
export const CALLS = {
  info: call(),
  listSessions: call(),
  newSession: call(['config', SessionConfigSchema]),
  openSession: call(['session folder', folder]),
  label: call(['image id', imageId], ['label', LabelValueSchema], ['responseMs', nonNegative()]),
  skip: call(['image id', imageId]),
  undo: call(),
  state: call(),
  replay: call(['session folder', folder]),
  exportGif: call(['session folder', folder], ['output file', optionalArg(folder)]),
  exportModel: call(
    ['output folder', optionalArg(folder)],
    ['force', optionalArg(v.boolean(must('true or false')))],
    ['withImages', optionalArg(v.boolean(must('true or false')))]
  ),
  pickFolder: call(['purpose', oneOf(FOLDER_PURPOSES)]),
  /** A dataset spec, as the start form's field holds it. */
  inspectDataset: call(['dataset', CONFIG_FIELDS.dataset]),
  /** A full path (none: the home folder). */
  listFolders: call(['folder', optionalArg(folder)]),
  cancel: call(['task', filled(LIMITS.taskNameLength)]),
  pretrainBase: call(['options', PretrainOptionsSchema]),
  mistakes: call(['cell', optionalArg(MistakeCellSchema)], ['limit', optionalArg(int(LIMITS.viewImages))]),
  pool: call(['query', PoolQuerySchema]),
  /** An asked image that is answered (none: the last answer). */
  why: call(['image id', optionalArg(imageId)]),
  choose: call(['image id', imageId], ['label', LabelValueSchema], ['responseMs', nonNegative()]),
  /** Changes the standing answer to an image answered before (the history panel). */
  relabel: call(['image id', imageId], ['label', LabelValueSchema]),
  /** Pool images by id (the history panel's thumbnails). */
  images: call(['image ids', v.pipe(list(imageId), v.maxLength(LIMITS.viewImages.max, must(`at most ${LIMITS.viewImages.max} ids`)))]),
  /** A base model folder (null: the shipped digit CNN) and what to save in its curator-base.json. */
  chooseBase: call(['base model folder', v.nullable(folder)], ['base spec', optionalArg(BaseSpecSchema)])
}
export type CallName = keyof typeof CALLS
export type CallArgs = { [M in CallName]: v.InferOutput<(typeof CALLS)[M]['schema']> }

/**
 * The files and folders each call names, from its checked arguments: `paths`, and dataset specs
 * ('mnist', 'idx:PATH', 'folder:PATH'). The desktop app answers such a call only when each is
 * inside a folder the user chose in a dialog that run, or inside its own data folder.
 */
export const NAMED_PATHS: {
  readonly [M in CallName]?: (args: CallArgs[M]) => { paths?: (string | null | undefined)[]; datasets?: string[] }
} = {
  newSession: ([config]) => ({ datasets: [config.dataset] }),
  inspectDataset: ([dataset]) => ({ datasets: [dataset] }),
  // None given: the home folder, which no dialog grants by that name (the desktop lists nothing this way).
  listFolders: ([dir]) => ({ paths: [dir ?? '~'] }),
  openSession: ([dir]) => ({ paths: [dir] }),
  replay: ([dir]) => ({ paths: [dir] }),
  exportGif: ([dir, out]) => ({ paths: [dir, out] }),
  exportModel: ([out]) => ({ paths: [out] }),
  chooseBase: ([dir]) => ({ paths: [dir] })
}

// ---------------------------------------------------------------- CLI flags

/** The CLI's numeric flags beyond the config's own fields (which it checks with CONFIG_FIELDS). */
export const CLI_FIELDS = {
  budget: int(LIMITS.budget),
  epochs: int(LIMITS.epochs),
  pretrainLimit: int(LIMITS.pretrainLimit),
  port: int({ min: 0, max: 65535 }),
  /** Benchmark sizes, logging intervals. */
  count: count(1),
  /** The chance a simulated answer is the wrong one. */
  noise: v.pipe(
    finite(),
    v.minValue(LIMITS.noise.min, must(`a number from ${LIMITS.noise.min} to ${LIMITS.noise.max}`)),
    v.maxValue(LIMITS.noise.max, must(`a number from ${LIMITS.noise.min} to ${LIMITS.noise.max}`))
  ),
  /** A duration in seconds (benchmarks). */
  seconds: v.pipe(finite(), v.minValue(0.001, must('a number of seconds > 0')))
}

/**
 * A number typed as text (a CLI flag, a form field) as a number; anything else unchanged, so the
 * schema names it. A whole number too long for a double to hold exactly stays the text typed, so
 * the message echoes it ("got \"12345678901234567890\"", not a rounded 12345678901234567000).
 */
export const numberFromText = (x: unknown): unknown => {
  if (typeof x !== 'string' || !/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(x)) return x
  const n = Number(x)
  return /^\s*[-+]?\d+\s*$/.test(x) && !Number.isSafeInteger(n) ? x.trim() : n
}

// ---------------------------------------------------------------- log events

export const FORMAT_VERSION = 1

const eventOf = <T extends string, E extends v.ObjectEntries>(type: T, entries: E) =>
  obj({ v: v.literal(FORMAT_VERSION), type: v.literal(type), at: isoTime(), ...entries })

export const HistogramSchema = obj({
  counts: fixedList(count(0), HISTOGRAM_BINS),
  /** When ground truth exists: counts split by true class, [negative[], positive[]]. */
  byTruth: v.nullable(v.strictTuple([fixedList(count(0), HISTOGRAM_BINS), fixedList(count(0), HISTOGRAM_BINS)], must('a list of 2 lists')))
})
export type HistogramDto = v.InferOutput<typeof HistogramSchema>

/** Folder datasets: an image's file key (its path relative to the folder). */
const fileKey = () => filled(LIMITS.pathLength)
const datasetRecord = () => obj({ id: filled(LIMITS.pathLength), hash: v.string(must('a text')), poolSize: count(0), testSize: count(0) })

// --- start: always the first line
const startEntries = (cfg: typeof SessionConfigSchema | typeof LoggedConfigSchema) => ({
  id: filled(LIMITS.pathLength),
  config: cfg,
  dataset: datasetRecord(),
  base: obj({ id: filled(LIMITS.pathLength), hash: v.string(must('a text')) }),
  backend: filled(200),
  /** The engine that computed the frozen features; absent in logs from before it was recorded: tfjs. */
  features: v.optional(v.picklist(['tfjs', 'onnxruntime'], must('tfjs or onnxruntime'))),
  /** What trained the suffix with Adam (--unfreeze N, --fit original); absent in older logs and with the exact head: tfjs. */
  trainer: v.optional(v.picklist(['tfjs', 'onnxruntime'], must('tfjs or onnxruntime'))),
  /** The version of the exact head's rules it was recorded with (TRUST_RULES); absent in logs from before versions: 1. */
  trust: v.optional(count(1)),
  /** The Curator version that recorded it ("curator 0.1.0"): replay checks against it. */
  app: filled(200)
})
const StartEventSchema = eventOf('start', startEntries(SessionConfigSchema))

// --- query: the images asked in an iteration
const QueryEventSchema = v.pipe(
  eventOf('query', {
    iteration: count(0),
    ids: list(count(0)),
    /** Folder datasets: each asked image's file key, per id. */
    keys: v.optional(list(fileKey())),
    scores: list(finite()),
    p: list(probability()),
    strategy: filled(200),
    /** Asked again: their answer is in doubt (the other answers contradict it). */
    reask: v.optional(list(count(0))),
    /** Asked to cover a region of the pool no answer covers yet. */
    cover: v.optional(list(count(0))),
    /** Asked to confirm a region that rests on too few answers. */
    confirm: v.optional(list(count(0)))
  }),
  v.check(
    (q) => [q.reask, q.cover, q.confirm].every((l) => l === undefined || l.every((id) => q.ids.includes(id))),
    'names in reask, cover and confirm only images it asks'
  ),
  v.check(
    (q) => q.scores.length === q.ids.length && q.p.length === q.ids.length && (q.keys === undefined || q.keys.length === q.ids.length),
    (i) => {
      const q = i.input as { ids: unknown[]; keys?: unknown[]; scores: unknown[]; p: unknown[] }
      const keys = q.keys ? `, keys` : ''
      return `needs ids${keys}, scores and p of the same length, got ${[q.ids, ...(q.keys ? [q.keys] : []), q.scores, q.p].map((a) => a.length).join(', ')}`
    }
  )
)

// --- label: one answer
const LabelEventSchema = eventOf('label', {
  id: count(0),
  key: v.optional(fileKey()),
  value: LabelValueSchema,
  iteration: count(0),
  responseMs: nonNegative()
})

// --- skip
const SkipEventSchema = eventOf('skip', { id: count(0), key: v.optional(fileKey()), iteration: count(0) })

// --- remap: the folder changed and the session was reopened on it. Every image the log names
// is mapped by its file key to its id in the new folder (`ids`: [old, new]); the answers of images
// no longer in the pool are dropped and listed in `missing`. Events after it use the new ids.
const RemapEventSchema = eventOf('remap', {
  dataset: datasetRecord(),
  ids: list(v.strictTuple([count(0), count(0)], must('an [old, new] pair'))),
  missing: list(obj({ id: count(0), key: fileKey(), reason: filled(LIMITS.pathLength) }))
})

// --- relabel: the standing answer to an image answered before is changed (the history panel).
// `iteration`: the batches completed when it was given. The next fit stands on the new answer.
const RelabelEventSchema = eventOf('relabel', {
  id: count(0),
  key: v.optional(fileKey()),
  value: LabelValueSchema,
  iteration: count(0)
})

// --- undo: takes back the last answer of that id (or, when the last change was a relabel of it, that relabel)
const UndoEventSchema = eventOf('undo', { id: count(0) })

/** An answer the other answers contradict, after a fit: p is P(positive) from a fit without it. */
export const SuspectSchema = obj({ id: count(0), p: probability(), settled: v.optional(v.literal(true)) })
/** Whether more answers are likely to help, and why. */
export const AdviceSchema = obj({ stop: v.boolean(must('true or false')), reason: filled(500) })
export type AdviceDto = v.InferOutput<typeof AdviceSchema>

// --- train: the state after one fit
const TrainEventSchema = eventOf('train', {
  iteration: count(0),
  labels: count(0),
  /** Answers the fit stood on, re-asks included (absent in older logs: labels). */
  answers: v.optional(count(0)),
  headWeights: list(finite()),
  headBias: finite(),
  testAccuracy: v.nullable(probability()),
  labelledAccuracy: v.nullable(probability()),
  iterationMs: nonNegative(),
  histogram: HistogramSchema,
  /** Answers in doubt after this fit (absent: not checked, in older logs or without the exact head). */
  suspects: v.optional(list(SuspectSchema)),
  advice: v.optional(AdviceSchema)
})

/** The strict event schemas: what Curator writes. */
export const EVENT_SCHEMAS = {
  start: StartEventSchema,
  query: QueryEventSchema,
  label: LabelEventSchema,
  skip: SkipEventSchema,
  remap: RemapEventSchema,
  relabel: RelabelEventSchema,
  undo: UndoEventSchema,
  train: TrainEventSchema
}
/** What the reader accepts: the strict schemas, except where an old log needs tolerance (see LoggedConfigSchema). */
export const LOGGED_EVENT_SCHEMAS: { [T in EventType]: v.GenericSchema<unknown, SessionEventOf<T>> } = {
  ...EVENT_SCHEMAS,
  start: eventOf('start', startEntries(LoggedConfigSchema))
}

export type EventType = keyof typeof EVENT_SCHEMAS
export type StartEvent = v.InferOutput<typeof StartEventSchema>
export type QueryEvent = v.InferOutput<typeof QueryEventSchema>
export type LabelEvent = v.InferOutput<typeof LabelEventSchema>
export type SkipEvent = v.InferOutput<typeof SkipEventSchema>
export type RemapEvent = v.InferOutput<typeof RemapEventSchema>
export type RelabelEvent = v.InferOutput<typeof RelabelEventSchema>
export type UndoEvent = v.InferOutput<typeof UndoEventSchema>
export type TrainEvent = v.InferOutput<typeof TrainEventSchema>
export type SessionEvent = { [T in EventType]: v.InferOutput<(typeof EVENT_SCHEMAS)[T]> }[EventType]
export type SessionEventOf<T extends EventType> = Extract<SessionEvent, { type: T }>

// ---------------------------------------------------------------- checking

/** Rejected input: `problems` holds one "<path> <message>" line per wrong field (the first is `message`). */
export class SchemaError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path} ${p.message}`).join('; '))
    this.name = 'SchemaError'
  }
}

/** "config.task.positive.key", "train.headWeights[1]". */
function pathOf(root: string, issue: AnyIssue): string {
  let out = root
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key
    out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key)
  }
  return out
}

function messageOf(issue: AnyIssue): string {
  const last = issue.path?.[issue.path.length - 1] as { origin?: string } | undefined
  if (issue.type === 'strict_object' && last?.origin === 'key') return issue.expected === 'never' ? 'is not a known field' : 'is missing'
  if (issue.type === 'strict_tuple' && issue.expected === 'never') return 'is one item too many'
  if (issue.input === undefined && issue.kind === 'schema' && issue.path?.length) return 'is missing'
  return issue.message
}

/** The problems of a failed parse, one per field, in a stable order. */
export function problemsOf(issues: readonly AnyIssue[], root = ''): { path: string; message: string }[] {
  return issues.map((i) => ({ path: pathOf(root, i), message: messageOf(i) }))
}

/**
 * Parses `input` with `schema`, or throws a SchemaError whose message names the first wrong
 * field under `root` ("config.batchSize must be ..."). `all`: report every wrong field (forms).
 */
export function parse<S extends v.GenericSchema>(schema: S, input: unknown, root = '', all = false): v.InferOutput<S> {
  const r = v.safeParse(schema, input, { abortEarly: !all, abortPipeEarly: true })
  if (r.success) return r.output
  throw new SchemaError(problemsOf(r.issues, root))
}

/** Checks one StudioApi call's method and arguments; the arguments come back in their typed form. */
export function parseCall(method: unknown, args: unknown): { method: CallName; args: unknown[] } {
  if (typeof method !== 'string' || !Object.hasOwn(CALLS, method))
    throw new SchemaError([{ path: 'method', message: `must be a Studio method, got ${shown(method)}` }])
  const m = method as CallName
  if (!Array.isArray(args)) throw new SchemaError([{ path: `${m}()`, message: must('a list of arguments')({ input: args } as AnyIssue) }])
  const { names, schema } = CALLS[m]
  if (args.length > names.length)
    throw new SchemaError([
      { path: `${m}()`, message: `takes ${names.length} argument${names.length === 1 ? '' : 's'}, got ${args.length}` }
    ])
  const r = v.safeParse(schema, args, { abortEarly: true, abortPipeEarly: true })
  if (r.success) return { method: m, args: r.output as unknown[] }
  const problems = r.issues.map((i) => {
    const [first, ...rest] = i.path ?? []
    const name = names[(first as { key: number } | undefined)?.key ?? 0] ?? m
    return {
      path: pathOf(name, { ...i, path: rest } as AnyIssue),
      message: messageOf({ ...i, path: rest.length ? rest : i.path } as AnyIssue)
    }
  })
  throw new SchemaError(problems)
}

/**
 * Checks one log event. `logged`: as read from disk (LOGGED_EVENT_SCHEMAS' tolerance);
 * otherwise strict, as written. Throws a SchemaError naming the first wrong field.
 */
export function parseEvent(x: unknown, logged = false): SessionEvent {
  const fail = (path: string, message: string): never => {
    throw new SchemaError([{ path, message }])
  }
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail('event', must('an object')({ input: x } as AnyIssue))
  const o = x as Record<string, unknown>
  if (o.v === undefined) fail('event.v', 'is missing (the format version)')
  if (o.v !== FORMAT_VERSION) fail('event.v', `must be format version ${FORMAT_VERSION}, got ${shown(o.v)}`)
  if (typeof o.type !== 'string' || !Object.hasOwn(EVENT_SCHEMAS, o.type)) {
    fail(
      'event.type',
      o.type === undefined ? 'is missing' : `must be one of ${Object.keys(EVENT_SCHEMAS).join(', ')}, got ${shown(o.type)}`
    )
  }
  const type = o.type as EventType
  return parse((logged ? LOGGED_EVENT_SCHEMAS : EVENT_SCHEMAS)[type], x, type) as SessionEvent
}
