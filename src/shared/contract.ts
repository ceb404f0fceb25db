// The one contract between the renderer and the main process. The preload, the IPC binding,
// the WebSocket binding and the renderer's client are all typed from StudioApi and
// StudioEvents, so a method one side lacks is a compile error.
import type { ErrorDto } from './errors'
import type { Progress } from './progress'
import type {
  AdviceDto,
  CallArgs,
  HistogramDto,
  LabelValue,
  MistakeCell,
  PoolQuery,
  PretrainOptions,
  SessionConfig,
  StrategyName,
  TaskConfig
} from './schema'
import type { BaseSpecFile, InputSpec } from './base-spec'

// The data types that cross the boundary are inferred from the schema (src/shared/schema.ts).
export { FITS, STRATEGIES } from './schema'
export { POOL_FILTERS, POOL_SORTS } from './schema'
export type {
  AdviceDto,
  AnswerDef,
  FitName,
  HistogramDto,
  LabelValue,
  MistakeCell,
  PoolQuery,
  PretrainOptions,
  SessionConfig,
  StrategyName,
  TaskConfig
} from './schema'

export const DEFAULT_TASK: TaskConfig = {
  question: 'Is this digit odd?',
  negative: { name: 'even', key: 'e' },
  positive: { name: 'odd', key: 'o' },
  positiveClasses: ['1', '3', '5', '7', '9']
}

export const DEFAULT_CONFIG: SessionConfig = {
  dataset: 'mnist',
  task: DEFAULT_TASK,
  strategy: 'diverse',
  fit: 'converge',
  batchSize: 4,
  unfreeze: 0,
  seed: 1
}

/** A pool image. Pixels are base64 so every transport carries the same bytes. */
export interface ImageItem {
  id: number
  /** Folder datasets: the file's path relative to the dataset folder (absent for MNIST and IDX sets). */
  key?: string
  width: number
  height: number
  /** 1 (grey) or 3 (RGB). */
  channels: number
  pixelsBase64: string
}

/** Why the checks of the answers asked an image (not the strategy): again (its answer is in doubt), to cover a region, to confirm one. */
export type CheckKind = 'reask' | 'cover' | 'confirm'

/** One image the model asks about. */
export interface QueryItem extends ImageItem {
  /** Asked by the checks of the answers rather than the strategy (absent: the strategy's pick). */
  check?: CheckKind
  /** The model's P(positive) when it asked; hidden from the labeller until revealed. */
  p: number
  /** The strategy's score (lower = asked first for uncertainty). */
  score: number
}

/** The state after one fit: what the charts show. Iteration 0 is the untrained head. */
export interface IterationDto {
  iteration: number
  labels: number
  /** Held-out accuracy on the test split, where ground truth exists. */
  testAccuracy: number | null
  /** Accuracy of the head on the labels given so far. */
  labelledAccuracy: number | null
  headWeights: number[]
  headBias: number
  histogram: HistogramDto
  iterationMs: number
}

/** What random picks with this many labels reach on the held-out split (the accuracy chart's baseline). */
export interface BaselinePoint {
  labels: number
  testAccuracy: number
}

export interface LabelDto {
  id: number
  /** Folder datasets: the file key. */
  key?: string
  value: LabelValue
  iteration: number
  responseMs: number
  at: string
  /** The labeller changed this answer in the history panel. */
  relabelled?: boolean
  /** Times it was answered (more than 1: asked again). */
  asked: number
  /**
   * The latest fit's doubt about it: fitted without it, the head gives P(positive) `p`;
   * `settled`: the labeller had the last word (answered the same twice), so it is not asked again.
   */
  suspect?: { p: number; settled?: boolean }
}

export interface SessionState {
  id: string
  dir: string
  config: SessionConfig
  backend: string
  poolSize: number
  testSize: number
  /** Class names of the base model's outputs (the head-weight bars). */
  baseClassNames: string[]
  history: IterationDto[]
  labels: LabelDto[]
  skipped: number[]
  /** The current batch, unanswered items only, in order. */
  queue: QueryItem[]
  /** The current batch's answered (labelled or skipped) items, in order: a reload shows them with their badges. */
  answered: QueryItem[]
  /** Prefetched next batches for the two answers to the last queued item, so answering never waits. */
  next: { negative: QueryItem[]; positive: QueryItem[] } | null
  /** Problems found when the log was opened (recovered lines, malformed lines). */
  warnings: string[]
  /** The random baseline at the label counts of history, as far as computed (empty without ground truth). */
  baseline: BaselinePoint[]
  /** Whether more answers are likely to help, after the latest fit, and why (null: not checked for this fit). */
  advice: AdviceDto | null
  /**
   * The last write to the log failed (a full disk, DISK_FULL or NOT_WRITABLE): nothing after it
   * was saved. Null once a write succeeds; a fit it left undone is redone by the next call.
   */
  writeError: ErrorDto | null
}

/** A dataset spec's classes and images, before Start (inspectDataset). */
export interface DatasetPreview {
  dataset: string
  kind: 'mnist' | 'idx' | 'folder'
  /** Ground-truth class names, in the order sessions number them; null: no ground truth. */
  classNames: string[] | null
  /** Images per class, as classNames. */
  classCounts: number[]
  /** Image files (a folder's by extension: unreadable ones are found only when opened). */
  images: number
  /** Folder: images directly in the folder, without a class. */
  unlabelled: number
  /** Folder: entries that are not PNG or JPEG files (other files, links out of the folder, ...). */
  skipped: number
  /** Why Start would refuse it, found by the listing alone, or null. */
  problem: string | null
}

/** One folder's subfolders (listFolders). */
export interface FolderListing {
  /** The folder listed, absolute. */
  path: string
  /** Its parent, or null at a root. */
  parent: string | null
  /** Subfolder names, sorted. */
  folders: string[]
  /** PNG and JPEG files directly in it, counted by name (none is opened). */
  images: number
  /** The folder holds more than was read: `folders` is cut short. */
  truncated: boolean
}

export interface SessionSummary {
  id: string
  dir: string
  createdAt: string
  dataset: string
  strategy: StrategyName
  labels: number
  lastAccuracy: number | null
}

export interface AppInfo {
  version: string
  backend: string
  /** Why Curator is not on native TensorFlow (e.g. tfjs-node not installed), or null. */
  backendNotice: string | null
  /** True where native dialogs exist (the desktop app). */
  desktop: boolean
  dataDir: string
  defaults: SessionConfig
  strategies: readonly StrategyName[]
  /** The base of new sessions: the digit CNN, or a model folder the user chose (custom). */
  base: BaseDto
}

export interface BaseDto {
  id: string
  hash: string
  /** Held-out accuracy of a base Curator trained; null for one brought by the user. */
  testAccuracy: number | null
  classNames: string[]
  dir: string
  featureLayer: string
  input: InputSpec
  custom: boolean
}

export interface ReplayStep {
  iteration: IterationDto
  /** The images asked in this iteration with the answers given (null: skipped). */
  asked: (QueryItem & { answer: LabelValue | null })[]
}

export interface ReplayDto {
  session: SessionSummary
  config: SessionConfig
  baseClassNames: string[]
  steps: ReplayStep[]
  warnings: string[]
  /** The random baseline at the steps' label counts (empty without ground truth). */
  baseline: BaselinePoint[]
}

export interface ExportResult {
  dir: string
  files: string[]
  /** In browser mode: a URL the folder can be downloaded from, as a zip. */
  downloadUrl?: string
}

export interface StudioApi {
  info(): Promise<AppInfo>
  listSessions(): Promise<SessionSummary[]>
  newSession(config: SessionConfig): Promise<SessionState>
  openSession(dir: string): Promise<SessionState>
  /** Resolves once the label is flushed to disk; the retrained model arrives as a `session` event. */
  label(id: number, value: LabelValue, responseMs: number): Promise<{ labels: number }>
  skip(id: number): Promise<{ skipped: number }>
  /** Takes back the last change: the last label (rolling the model back to before its batch), or the last relabel. */
  undo(): Promise<SessionState>
  /**
   * Changes the standing answer to an image answered before (logged as a relabel event); the head
   * is refitted on it at once. BAD_ARGUMENT for an image without an answer.
   */
  relabel(id: number, value: LabelValue): Promise<SessionState>
  /** Pool images of the open session by id (the history panel's thumbnails). */
  images(ids: number[]): Promise<ImageItem[]>
  state(): Promise<SessionState | null>
  replay(dir: string): Promise<ReplayDto>
  exportGif(dir: string, out?: string): Promise<ExportResult>
  /** `withImages`: also copy the labelled images into images/<answer>/. */
  exportModel(out?: string, force?: boolean, withImages?: boolean): Promise<ExportResult>
  /**
   * What a dataset spec holds, read cheaply before Start: class names (a folder's first-level
   * subfolders holding images, the digits of MNIST and IDX sets) and image counts. A folder is
   * only listed, no image opened; a spec Start would refuse is the same error here.
   */
  inspectDataset(dataset: string): Promise<DatasetPreview>
  /**
   * The subfolders of a folder (none given: the home folder), for browser mode's folder browser.
   * Reads directory entries only, never a file; hidden entries and links out of the folder are
   * left out, and a folder of more than 20,000 entries is listed only that far.
   */
  listFolders(dir?: string): Promise<FolderListing>
  /** Native folder picker on desktop; null in browser mode or when cancelled. */
  pickFolder(purpose: 'dataset' | 'session' | 'export' | 'base'): Promise<string | null>
  cancel(task: string): Promise<void>
  /**
   * Trains a new base digit CNN on MNIST (progress task 'pretrain', cancelled with
   * cancel('pretrain')) and makes it the base of new sessions. `limit`: train and test on the
   * first N MNIST images only (quick runs).
   */
  pretrainBase(options: PretrainOptions): Promise<PretrainedBase>
  /**
   * The mistakes view on the held-out split after the latest fit, and the images of one cell
   * (most confident first, at most `limit`, default 200). Null where there is no ground truth.
   */
  mistakes(cell?: MistakeCell, limit?: number): Promise<MistakesDto | null>
  /** A page of the pool browser, under the latest fit. */
  pool(query: PoolQuery): Promise<PoolPage>
  /**
   * Answers an image the labeller picked (pool browser): logged as a query of one image with
   * strategy 'chosen' and its label, then fitted like any batch. Only between batches: with
   * part of the batch on screen answered, a BAD_ARGUMENT says to finish it first.
   */
  choose(id: number, value: LabelValue, responseMs: number): Promise<SessionState>
  /**
   * Why an asked image was asked (the strategy's rule in words and numbers) and the labelled
   * images nearest to it; `id` omitted: the last one answered (null when none is). Only once it
   * is answered, so it never sways the answer: an image still waiting is a BAD_ARGUMENT.
   */
  why(id?: number): Promise<WhyDto | null>
  /**
   * Makes a TF.js layers model folder the base of new sessions (null: the shipped digit CNN).
   * `spec` (feature layer, input size, fit, value range) is saved as curator-base.json in that
   * folder first. Refused with a clear error when the folder is not a usable base.
   */
  chooseBase(dir: string | null, spec?: BaseSpecFile): Promise<BaseDto>
}

export interface PretrainedBase {
  dir: string
  testAccuracy: number
  hash: string
}

/** Events the main process pushes to the renderer. */
export interface StudioEvents {
  /** The model was refitted: the new state (history, queue) is complete. */
  session: SessionState
  progress: Progress
  error: ErrorDto
  /** A desktop menu item was chosen; the renderer carries it out. */
  menu: MenuCommand
  /** More of the open session's random baseline was computed (after a fit, off the labelling path). */
  baseline: { sessionId: string; points: BaselinePoint[] }
}

/** A held-out image in the mistakes view, with the model's P(positive) and its ground truth. */
export interface HeldOutItem {
  /** Index in the held-out split. */
  id: number
  width: number
  height: number
  channels: number
  pixelsBase64: string
  p: number
  truth: LabelValue
  className: string | null
}

/** Where the model is wrong on the held-out split, after the latest fit. */
export interface MistakesDto {
  iteration: number
  labels: number
  /** confusion[truth][predicted], predicted = P(positive) >= 0.5. */
  confusion: [[number, number], [number, number]]
  /** Accuracy per ground-truth class (per digit, per subfolder). */
  perClass: { name: string; positive: boolean; count: number; correct: number }[]
  /** The cell asked for, its size, and its images, the most confident first (at most `limit`). */
  cell: MistakeCell | null
  total: number
  items: HeldOutItem[]
}

/** One pool image in the pool browser. */
export interface PoolItem {
  id: number
  width: number
  height: number
  channels: number
  pixelsBase64: string
  /** P(positive) under the latest fit. */
  p: number
  /** The base model's class for it (its top output), where the features are the base's outputs. */
  baseClass: string | null
  answer: LabelValue | 'skipped' | null
}

export interface PoolPage {
  query: PoolQuery
  /** Images that pass the filter. */
  total: number
  items: PoolItem[]
}

/**
 * The rule that asked an image. Extensible: a new way of asking adds its kind here and its text
 * in src/main/engine/why.ts.
 *   uncertain    closest to the decision boundary (uncertainty; diverse after its cold start)
 *   farthest     drawn far from every labelled image (diverse's cold start without the exact head)
 *   first-pick   diverse's seeded first pick, before anything was labelled
 *   random       a seeded random pick
 *   window       the original demo's schedule: a random pick inside its P window
 *   window-fill  that window held too few images; the nearest to 0.5 filled the batch
 *   chosen       the labeller picked it in the pool browser
 *   reask        asked again: the other answers contradict the one given
 *   cover        a typical image of a region no answer covered yet (diverse)
 *   confirm      a typical image of a region resting on too few answers
 *   other        a strategy this build does not know (a newer log)
 */
export type WhyKind =
  'uncertain' | 'farthest' | 'first-pick' | 'random' | 'window' | 'window-fill' | 'chosen' | 'reask' | 'cover' | 'confirm' | 'other'

export interface WhyReason {
  kind: WhyKind
  /** The strategy the query recorded. */
  strategy: string
  /** One line, words and numbers: "closest to the boundary: P 0.48, rank 1 of 59,988". */
  text: string
  /** P(positive) when it was asked. */
  p: number
  /** Its place in the rule's ranking (1: first), where the rule ranks. */
  rank: number | null
  /** Images it was picked from: the pool less those answered before it was asked. */
  candidates: number
  /** farthest: its distance (features) to the nearest labelled image or earlier pick of its batch. */
  distance: number | null
}

/** A labelled image near the one asked about, in the base's feature space. */
export interface WhyNeighbour {
  id: number
  key?: string
  width: number
  height: number
  channels: number
  pixelsBase64: string
  value: LabelValue
  /** Euclidean distance between the two images' features. */
  distance: number
}

/** Why an answered image was asked, and what the model now has near it. */
export interface WhyDto {
  id: number
  key?: string
  width: number
  height: number
  channels: number
  pixelsBase64: string
  /** The iteration it was asked in (0: the first batch). */
  iteration: number
  answer: LabelValue | 'skipped'
  reason: WhyReason
  /** P(positive) under the latest fit. */
  pNow: number
  /** The labelled images nearest to it (itself left out), nearest first. */
  nearest: WhyNeighbour[]
  /** Its place among the answered images, in answer order (1-based), and the ones either side. */
  position: number
  answered: number
  previous: number | null
  next: number | null
}

export type MenuCommand = 'new-session' | 'open-session' | 'export-model' | 'replay' | 'undo' | 'shortcuts' | 'about'

export type MethodName = keyof StudioApi
export type EventName = keyof StudioEvents

/** A call's outcome on the wire (IPC, WebSocket, engine thread): errors travel as data, so code and details survive. */
export type Reply<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorDto }

/**
 * What the preload exposes as `window.studio`: one function per method, answering a Reply
 * (contextBridge would keep only an Error's message), plus event subscription.
 */
export type StudioBridge = {
  [M in MethodName]: (...args: Parameters<StudioApi[M]>) => Promise<Reply<Awaited<ReturnType<StudioApi[M]>>>>
} & {
  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void
}

/** Every method, for the bindings that enumerate them (preload, IPC, WebSocket). */
export const METHODS = [
  'info',
  'listSessions',
  'newSession',
  'openSession',
  'label',
  'skip',
  'undo',
  'state',
  'replay',
  'exportGif',
  'exportModel',
  'pickFolder',
  'inspectDataset',
  'listFolders',
  'cancel',
  'pretrainBase',
  'mistakes',
  'pool',
  'why',
  'choose',
  'chooseBase',
  'relabel',
  'images'
] as const satisfies readonly MethodName[]

// Compile-time checks: METHODS lists every method of StudioApi, and the schema's CALLS parse
// each method's arguments into exactly its parameter types.
type Missing = Exclude<MethodName, (typeof METHODS)[number]>
export const _allMethodsListed: Missing extends never ? true : Missing = true
type WrongArgs = { [M in MethodName]: CallArgs[M] extends Parameters<StudioApi[M]> ? never : M }[MethodName]
export const _argsMatchSchema: [WrongArgs] extends [never] ? true : WrongArgs = true

export const EVENTS = ['session', 'progress', 'error', 'menu', 'baseline'] as const satisfies readonly EventName[]

/** The IPC channel of a method or an event. */
export const channel = (name: MethodName | EventName): string => `curator:${name}`

/** The WebSocket wire format. */
export type WsRequest = { id: number; method: MethodName; args: unknown[] }
export type WsResponse = { id: number } & Reply
export type WsEvent = { event: EventName; payload: unknown }
