// A small in-memory studio implementing the client interface, for store and component
// tests (the stores and views are what is under test, not this).
import type { BaseSpecFile } from '../../src/shared/base-spec'
import {
  DEFAULT_CONFIG,
  type AppInfo,
  type BaseDto,
  type DatasetPreview,
  type FolderListing,
  type EventName,
  type ExportResult,
  type HistogramDto,
  type ImageItem,
  type IterationDto,
  type LabelDto,
  type LabelValue,
  type MistakeCell,
  type MistakesDto,
  type PoolPage,
  type PoolQuery,
  type PretrainedBase,
  type PretrainOptions,
  type QueryItem,
  type ReplayDto,
  type SessionConfig,
  type SessionState,
  type SessionSummary,
  type StudioEvents,
  type WhyDto
} from '../../src/shared/contract'
import { ApiError, type Connection, type StudioClient } from '../../src/renderer/src/api/bridge'
import type { ErrorCode } from '../../src/shared/errors'

export function pixels(seed: number, size = 28 * 28): string {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + seed * 13) % 256
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin)
}

export function item(id: number, p = 0.5): QueryItem {
  return { id, width: 28, height: 28, channels: 1, pixelsBase64: pixels(id), p, score: Math.abs(p - 0.5) }
}

export function histogram(shift = 0, truth = true): HistogramDto {
  const counts = Array.from({ length: 11 }, (_, i) => 10 + ((i + shift) % 5))
  return { counts, byTruth: truth ? [counts.map((c) => Math.floor(c / 2)), counts.map((c) => c - Math.floor(c / 2))] : null }
}

export function iteration(i: number, labels: number, extra: Partial<IterationDto> = {}): IterationDto {
  return {
    iteration: i,
    labels,
    testAccuracy: 0.5 + i * 0.1,
    labelledAccuracy: i === 0 ? null : 0.9,
    headWeights: Array.from({ length: 10 }, (_, d) => (d % 2 ? 1 : -1) * (i + 1) * 0.5),
    headBias: -0.2 * i,
    histogram: histogram(i),
    iterationMs: 3,
    ...extra
  }
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

export const INFO: AppInfo = {
  version: '0.1.0',
  backend: 'wasm',
  backendNotice: null,
  desktop: false,
  dataDir: '/tmp/curator-data',
  defaults: DEFAULT_CONFIG,
  strategies: ['diverse', 'uncertainty', 'random', 'seed-window'],
  base: {
    id: 'mnist-cnn',
    hash: 'abc',
    testAccuracy: 0.99,
    classNames: DIGITS,
    dir: '/tmp/models/mnist-cnn',
    featureLayer: 'classes',
    input: { size: [28, 28], channels: 3, fit: 'pad', range: [0, 1], mean: [0], std: [1] },
    custom: false
  }
}

export interface Call {
  method: string
  args: unknown[]
}

export interface FakeOptions {
  batchSize?: number
  /** Fill `next` (the prefetched batches) whenever one item is left in the queue. */
  prefetch?: boolean
  config?: SessionConfig
  warnings?: string[]
}

/**
 * Holds one session. `label`/`skip` record and shrink the queue; when the queue empties the
 * fake does NOT push anything by itself: tests call `refit()` to push the `session` event,
 * so they control exactly when the server's answer arrives.
 */
export class FakeStudio implements StudioClient {
  readonly mode = 'browser' as const
  calls: Call[] = []
  session: SessionState | null = null
  sessions: SessionSummary[] = []
  replayDto: ReplayDto | null = null
  info_: AppInfo = INFO
  /** The next call of this method rejects with this error. */
  failures = new Map<string, ApiError>()
  private listeners = new Map<EventName, Set<(p: unknown) => void>>()
  private reconnect = new Set<() => void>()
  private nextItemId = 1
  private opts: Required<Omit<FakeOptions, 'config' | 'warnings'>> & Pick<FakeOptions, 'config' | 'warnings'>

  constructor(opts: FakeOptions = {}) {
    this.opts = { batchSize: 4, prefetch: false, ...opts }
  }

  fail(method: string, code: ErrorCode, message: string): void {
    this.failures.set(method, new ApiError(code, message))
  }

  private record(method: string, args: unknown[]): void {
    // As the WebSocket client does: nothing is sent while the connection is down.
    if (this.connectionState === 'lost' || this.connectionState === 'gone')
      throw new ApiError('INTERNAL', 'Not connected to the Curator server: nothing was sent')
    this.calls.push({ method, args })
    const f = this.failures.get(method)
    if (f) {
      this.failures.delete(method)
      throw f
    }
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args)
  }

  emit<E extends EventName>(event: E, payload: StudioEvents[E]): void {
    for (const l of this.listeners.get(event) ?? []) l(payload)
  }

  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener as (p: unknown) => void)
    return () => set.delete(listener as (p: unknown) => void)
  }

  onReconnect(listener: () => void): () => void {
    this.reconnect.add(listener)
    return () => this.reconnect.delete(listener)
  }

  private connectionState: Connection = 'open'
  private connectionListeners = new Set<(c: Connection) => void>()
  connection(): Connection {
    return this.connectionState
  }
  onConnection(listener: (c: Connection) => void): () => void {
    this.connectionListeners.add(listener)
    return () => this.connectionListeners.delete(listener)
  }
  private held = new Map<string, { promise: Promise<void>; release: () => void; fail: (e: unknown) => void }>()
  /** The next calls of `method` wait, unanswered (not yet saved), until released; a lost connection fails them. */
  hold(method: 'label'): () => void {
    let release!: () => void
    let fail!: (e: unknown) => void
    const promise = new Promise<void>((ok, no) => ((release = ok), (fail = no)))
    this.held.set(method, { promise, release, fail })
    return () => {
      this.held.delete(method)
      release()
    }
  }

  /** The transport changes state as the WebSocket client's would; back to 'open' after a loss also reconnects. */
  setConnection(c: Connection): void {
    const wasLost = this.connectionState === 'lost' || this.connectionState === 'gone'
    if (c === 'lost' || c === 'gone') {
      for (const h of this.held.values()) h.fail(new ApiError('INTERNAL', 'Lost the connection to the Curator server before it answered'))
      this.held.clear()
    }
    this.connectionState = c
    for (const l of this.connectionListeners) l(c)
    if (c === 'open' && wasLost) for (const l of this.reconnect) l()
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0
  }

  // --- session simulation ---------------------------------------------------------------

  batch(n = this.opts.batchSize, config = this.session?.config ?? this.opts.config ?? DEFAULT_CONFIG): QueryItem[] {
    // As the studio's diverse strategy: its first batches cover the pool's regions (a check of the answers).
    const cover = config.strategy === 'diverse'
    const items = Array.from({ length: n }, () => ({
      ...item(this.nextItemId++, 0.3 + (this.nextItemId % 5) * 0.1),
      ...(cover ? { check: 'cover' as const } : {})
    }))
    for (const q of items) this.seen.set(q.id, q)
    return items
  }

  makeSession(config: SessionConfig = this.opts.config ?? DEFAULT_CONFIG): SessionState {
    this.answerOrder = []
    const s: SessionState = {
      id: 'sess-1',
      dir: '/tmp/sessions/sess-1',
      config,
      backend: 'wasm',
      poolSize: 1000,
      testSize: 200,
      baseClassNames: INFO.base.classNames,
      history: [iteration(0, 0)],
      labels: [],
      skipped: [],
      queue: this.batch(config.batchSize, config),
      answered: [],
      next: null,
      warnings: this.opts.warnings ?? [],
      // As the studio with ground truth: random picks' held-out accuracy, here at 0 labels.
      baseline: [{ labels: 0, testAccuracy: 0.5 }],
      advice: { stop: false, reason: 'No answers yet' },
      writeError: null
    }
    this.session = s
    this.updateNext()
    return this.snapshot()
  }

  private updateNext(): void {
    const s = this.session
    if (!s) return
    if (this.opts.prefetch && s.queue.length === 1 && !s.next)
      s.next = { negative: this.batch(s.config.batchSize), positive: this.batch(s.config.batchSize) }
  }

  snapshot(): SessionState {
    const s = this.session!
    return structuredClone({
      ...s,
      queue: s.queue.slice(),
      answered: s.answered.slice(),
      labels: s.labels.slice(),
      skipped: s.skipped.slice(),
      history: s.history.slice()
    })
  }

  /** Fits after a complete batch and pushes the new state, as the studio does. */
  refit(): SessionState {
    const s = this.session!
    const last = s.labels[s.labels.length - 1]
    const it = s.history.length
    s.history = [...s.history, iteration(it, s.labels.length)]
    if (s.queue.length === 0) {
      s.queue = s.next && last ? (last.value === 1 ? s.next.positive : s.next.negative).slice() : this.batch(s.config.batchSize)
      s.answered = []
      s.next = null
    }
    this.updateNext()
    const snap = this.snapshot()
    this.emit('session', snap)
    return snap
  }

  /** Pushes the current state without refitting (e.g. the prefetch became known). */
  push(): SessionState {
    const snap = this.snapshot()
    this.emit('session', snap)
    return snap
  }

  // --- StudioApi --------------------------------------------------------------------------

  async info(): Promise<AppInfo> {
    this.record('info', [])
    return this.info_
  }

  async listSessions(): Promise<SessionSummary[]> {
    this.record('listSessions', [])
    return this.sessions
  }

  async newSession(config: SessionConfig): Promise<SessionState> {
    this.record('newSession', [config])
    return this.makeSession(config)
  }

  async openSession(dir: string): Promise<SessionState> {
    this.record('openSession', [dir])
    // As the studio: a folder without a session log is NOT_FOUND. The fake knows its listed
    // sessions, the one it made and what its folder picker returns.
    const known = [...this.sessions.map((x) => x.dir), this.session?.dir, '/picked/session']
    if (!known.includes(dir)) throw new ApiError('NOT_FOUND', `No session log in ${dir}`)
    const s = this.makeSession()
    this.session!.dir = dir
    return { ...s, dir }
  }

  async label(id: number, value: LabelValue, responseMs: number): Promise<{ labels: number }> {
    this.record('label', [id, value, responseMs])
    await this.held.get('label')?.promise
    const s = this.session!
    this.promotePrefetch()
    const i = s.queue.findIndex((q) => q.id === id)
    if (i < 0) throw new ApiError('BAD_ARGUMENT', `Image ${id} is not in the queue`)
    s.answered.push(...s.queue.splice(i, 1))
    const l: LabelDto = { id, value, iteration: s.history.length - 1, responseMs, at: new Date(0).toISOString(), asked: 1 }
    s.labels.push(l)
    this.answerOrder.push(id)
    this.updateNext()
    return { labels: s.labels.length }
  }

  async skip(id: number): Promise<{ skipped: number }> {
    this.record('skip', [id])
    const s = this.session!
    this.promotePrefetch()
    const i = s.queue.findIndex((q) => q.id === id)
    if (i < 0) throw new ApiError('BAD_ARGUMENT', `Image ${id} is not in the queue`)
    const [it] = s.queue.splice(i, 1)
    s.answered.push(it)
    s.skipped.push(it.id)
    this.answerOrder.push(it.id)
    this.updateNext()
    return { skipped: s.skipped.length }
  }

  /** Answers may run ahead of the refit: the prefetched batch for the last answer is the queue. */
  private promotePrefetch(): void {
    const s = this.session!
    const last = s.labels[s.labels.length - 1]
    if (s.queue.length === 0 && s.next && last) {
      s.queue = (last.value === 1 ? s.next.positive : s.next.negative).slice()
      s.answered = []
      s.next = null
    }
  }

  /** Remembers every item ever queued, so undo can put one back. */
  private seen = new Map<number, QueryItem>()

  /** Ids answered (labelled or skipped) in order: undo takes back the last, as the studio does. */
  private answerOrder: number[] = []

  async undo(): Promise<SessionState> {
    this.record('undo', [])
    const s = this.session!
    const last = this.answerOrder.pop()
    if (last === undefined) throw new ApiError('BAD_ARGUMENT', 'Nothing to undo')
    if (s.skipped.at(-1) === last && s.labels.at(-1)?.id !== last) {
      s.skipped.pop()
      s.queue = [this.seen.get(last) ?? item(last), ...s.queue.filter((q) => q.id !== last)]
      s.answered = s.answered.filter((q) => q.id !== last)
      s.next = null
      return this.snapshot()
    }
    const l = s.labels.pop()!
    const back = this.seen.get(l.id) ?? item(l.id)
    if (l.iteration < s.history.length - 1) {
      // The label's batch was already fitted: roll the model back to before it.
      s.history = s.history.slice(0, l.iteration + 1)
      s.queue = [back]
      s.answered = []
    } else {
      s.queue = [back, ...s.queue.filter((q) => q.id !== l.id)]
      s.answered = s.answered.filter((q) => q.id !== l.id)
    }
    s.next = null
    return this.snapshot()
  }

  /** relabel: the answer changes in place (the fake does not refit). */
  async relabel(id: number, value: LabelValue): Promise<SessionState> {
    this.record('relabel', [id, value])
    const l = this.session!.labels.find((x) => x.id === id)
    if (!l) throw new ApiError('BAD_ARGUMENT', `Image ${id} has no answer to change`)
    if (l.value !== value) Object.assign(l, { value, relabelled: true })
    return this.snapshot()
  }

  async images(ids: number[]): Promise<ImageItem[]> {
    this.record('images', [ids])
    return ids.map((id) => {
      const { p: _p, score: _s, ...image } = this.seen.get(id) ?? item(id)
      return image
    })
  }

  async state(): Promise<SessionState | null> {
    this.record('state', [])
    return this.session ? this.snapshot() : null
  }

  async replay(dir: string): Promise<ReplayDto> {
    this.record('replay', [dir])
    if (!this.replayDto) throw new ApiError('NOT_FOUND', `No session in ${dir}`)
    return this.replayDto
  }

  async exportGif(dir: string, out?: string): Promise<ExportResult> {
    this.record('exportGif', out === undefined ? [dir] : [dir, out])
    // As the studio: the folder, and the file's name in it (session.gif unless `out` names one).
    if (out === undefined) return { dir, files: ['session.gif'] }
    const cut = out.lastIndexOf('/')
    return { dir: out.slice(0, cut), files: [out.slice(cut + 1)] }
  }

  async exportModel(out?: string, force?: boolean, withImages?: boolean): Promise<ExportResult> {
    this.record('exportModel', withImages === undefined ? [out, force] : [out, force, withImages])
    const dir = out ?? `/tmp/curator-data/exports/${this.session?.id ?? 'none'}`
    return { dir, files: ['README.md', 'metadata.json', 'model.json', 'weights.bin'] } // file names, as the studio
  }

  /** What inspectDataset answers per spec (tests set it); other specs: MNIST's digits for 'mnist', else NOT_FOUND. */
  previews = new Map<string, DatasetPreview>()

  async inspectDataset(dataset: string): Promise<DatasetPreview> {
    this.record('inspectDataset', [dataset])
    const p = this.previews.get(dataset)
    if (p) return p
    if (dataset === 'mnist')
      return {
        dataset,
        kind: 'mnist',
        classNames: DIGITS,
        classCounts: DIGITS.map(() => 7000),
        images: 70000,
        unlabelled: 0,
        skipped: 0,
        problem: null
      }
    throw new ApiError('NOT_FOUND', `${dataset}: there is no such folder`)
  }

  /** The folders the fake lists: path -> subfolder names. */
  folderTree: Record<string, string[]> = {
    '/home/me': ['data', 'photos'],
    '/home/me/photos': ['cats', 'dogs'],
    '/home/me/photos/cats': [],
    '/home': ['me'],
    '/': ['home']
  }

  async listFolders(dir = '/home/me'): Promise<FolderListing> {
    this.record('listFolders', [dir])
    const folders = this.folderTree[dir]
    if (!folders) throw new ApiError('NOT_FOUND', `There is no folder ${dir}`)
    const parent = dir === '/' ? null : dir.replace(/\/[^/]+$/, '') || '/'
    return { path: dir, parent, folders, images: dir.endsWith('cats') ? 3 : 0, truncated: false }
  }

  async pickFolder(purpose: 'dataset' | 'session' | 'export' | 'base'): Promise<string | null> {
    this.record('pickFolder', [purpose])
    return `/picked/${purpose}`
  }

  async cancel(task: string): Promise<void> {
    this.record('cancel', [task])
  }

  /** What pretrainBase resolves with; info() then reports this base. */
  pretrained: PretrainedBase = { dir: '/tmp/curator-data/models/mnist-cnn-1', testAccuracy: 0.975, hash: 'def' }

  /** What mistakes() answers (tests set it); the cell asked for is recorded. */
  mistakesDto: MistakesDto | null = null

  async mistakes(cell?: MistakeCell, limit?: number): Promise<MistakesDto | null> {
    this.record('mistakes', [cell, limit])
    return this.mistakesDto && { ...this.mistakesDto, cell: cell ?? null }
  }

  /** The pool the fake browses: ids 0..poolSize-1 with P = id / poolSize (sort 'p' reverses). */
  async pool(query: PoolQuery): Promise<PoolPage> {
    this.record('pool', [query])
    const n = this.session?.poolSize ?? 0
    const answered = new Map(this.chosen.map(([id, v]) => [id, v] as const))
    const all = Array.from({ length: n }, (_, i) => (query.sort === 'p' ? n - 1 - i : i))
    const ids = all.filter((id) => query.filter === 'all' || (query.filter === 'unanswered') === !answered.has(id))
    const items = ids
      .slice(query.offset, query.offset + query.limit)
      .map((id) => ({ ...item(id, id / n), baseClass: String(id % 10), answer: answered.get(id) ?? null }))
    return { query, total: ids.length, items }
  }

  chosen: [number, LabelValue][] = []

  /** What why() answers for each id (tests set it); an id not in it is refused as the studio refuses an unanswered image. */
  whyDtos = new Map<number, WhyDto>()

  async why(id?: number): Promise<WhyDto | null> {
    this.record('why', [id])
    const ids = [...this.whyDtos.keys()]
    const dto = this.whyDtos.get(id ?? ids[ids.length - 1])
    if (dto) return dto
    if (id === undefined) return null
    throw new ApiError('BAD_ARGUMENT', `Image ${id} is not answered yet`)
  }

  async choose(id: number, value: LabelValue, responseMs: number): Promise<SessionState> {
    this.record('choose', [id, value, responseMs])
    this.chosen.push([id, value])
    return this.snapshot()
  }

  async pretrainBase(options: PretrainOptions): Promise<PretrainedBase> {
    this.record('pretrainBase', [options])
    this.info_ = { ...this.info_, base: { ...this.info_.base, hash: this.pretrained.hash, testAccuracy: this.pretrained.testAccuracy } }
    return this.pretrained
  }

  /** chooseBase: the folder becomes the base (a custom one, 1,280 features, 224x224 cropped). */
  async chooseBase(dir: string | null, spec?: BaseSpecFile): Promise<BaseDto> {
    this.record('chooseBase', spec === undefined ? [dir] : [dir, spec])
    const custom: BaseDto = {
      id: dir === null ? 'mnist-cnn' : (spec?.name ?? dir.split('/').pop()!),
      hash: 'ccc',
      testAccuracy: null,
      classNames: [],
      dir: dir ?? '/tmp/models/mnist-cnn',
      featureLayer: spec?.featureLayer ?? 'flatten_1',
      input: {
        size: spec?.input?.size ?? [224, 224],
        channels: 3,
        fit: spec?.input?.fit ?? 'pad',
        range: spec?.input?.range ?? [0, 1],
        mean: [0],
        std: [1]
      },
      custom: dir !== null
    }
    this.info_ = { ...this.info_, base: custom }
    return custom
  }
}

export function replayDto(steps = 3): ReplayDto {
  let id = 500
  return {
    session: {
      id: 'sess-r',
      dir: '/tmp/sessions/sess-r',
      createdAt: new Date(0).toISOString(),
      dataset: 'mnist',
      strategy: 'diverse',
      labels: (steps - 1) * 4,
      lastAccuracy: 0.9
    },
    config: DEFAULT_CONFIG,
    baseClassNames: INFO.base.classNames,
    steps: Array.from({ length: steps }, (_, i) => ({
      iteration: iteration(i, i * 4),
      asked: i === 0 ? [] : Array.from({ length: 4 }, (_, k) => ({ ...item(id++), answer: k === 3 ? null : ((k % 2) as LabelValue) }))
    })),
    baseline: [],
    warnings: []
  }
}
