// The studio: one service object behind every binding (Electron IPC, WebSocket, tests).
// It owns the open session: its log on disk, the derived state and the engine thread.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { writeFileAtomic } from '../files/safe'
import { basename, dirname, join, resolve } from 'node:path'
import {
  AppInfo,
  BaselinePoint,
  CheckKind,
  MistakeCell,
  MistakesDto,
  PoolItem,
  PoolPage,
  PoolQuery,
  BaseDto,
  DatasetPreview,
  FolderListing,
  DEFAULT_CONFIG,
  ExportResult,
  LabelValue,
  PretrainedBase,
  PretrainOptions,
  QueryItem,
  ReplayDto,
  SessionConfig,
  SessionState,
  SessionSummary,
  STRATEGIES,
  StudioApi,
  StudioEvents,
  WhyDto
} from '../../shared/contract'
import { CuratorError, toErrorDto, type ErrorDto } from '../../shared/errors'
import { CHOSEN } from '../../shared/schema'
import type { EngineClient } from '../engine/client'
import type { Answer } from '../engine/learner'
import type { IterationRecord } from '../engine/loop'
import type { ImageDto, OpenedSession } from '../engine/protocol'
import { BaseInfo, defaultBaseDir, findBase, readBase, readBaseSpec, retrainedBases } from '../engine/base'
import { BASE_SPEC_FILE, BaseSpecFile } from '../../shared/base-spec'
import { eventTime, FORMAT_VERSION, QueryEvent, SessionEvent, TrainEvent } from '../session/events'
import { createSessionLog, openSessionLog, readSessionLog, SessionLog } from '../session/log'
import { describeOwner } from '../session/lock'
import { answersOf, batchComplete, derive, Derived, engineBatches, skippedIds, standingAnswers, standingEntry } from '../session/derive'
import { iterationDto, labelEvent, queryEvent, skipEvent, summarize, trainEvent } from '../session/build'
import { writeAsked, writeIteration } from '../tensorboard/session'
import { EventWriter, RawImage, TENSORBOARD_DIR } from '../tensorboard/writer'
import { writeSessionGif } from '../export/gif'
import { previewDataset } from '../data/preview'
import { listFolders } from '../data/browse'
import { listSkipped } from '../data/dataset'
import { exportModelFolder } from '../export/model-folder'
import type { Progress } from '../../shared/progress'

export interface StudioOptions {
  dataDir: string
  engine: EngineClient
  version: string
  desktop?: boolean
  cacheDir?: string
  /** The base of new sessions, over the one chosen on the start screen (`--base DIR`). */
  baseDir?: string
  /** Native folder picker (desktop only). */
  pickFolder?: StudioApi['pickFolder']
}

type Emit = <E extends keyof StudioEvents>(event: E, payload: StudioEvents[E]) => void

interface Open {
  dir: string
  log: SessionLog
  events: SessionEvent[]
  d: Derived
  opened: OpenedSession
  warnings: string[]
  /** Prefetched fits for both answers to the last unanswered image of the batch. */
  speculation: { key: string; negative: IterationRecord; positive: IterationRecord } | null
  /** The random baseline computed so far, by label count. */
  baseline: BaselinePoint[]
  baselineBusy?: boolean
  /** This run's TensorBoard event file, opened at the first fit; 'failed' after a write error. */
  board?: EventWriter | 'failed'
  /** The last write to the log failed (a full disk): shown in the state until a write succeeds. */
  writeError: ErrorDto | null
  /** The engine's count of lost threads when the session was opened in it: another count means it must be opened again. */
  engineLost: number
}

/** Said when the engine thread was lost and the session was opened in a new one. */
const ENGINE_RESTARTED =
  'The engine thread stopped and a new one was started; this session was opened in it again from its log, so no answer was lost'

/** Images of a mistakes cell returned when the caller gives no limit. */
const MISTAKE_IMAGES = 200

/** Labelled images shown beside an image in "why this image". */
const WHY_NEIGHBOURS = 5

/** Baseline points per engine call: each is a few ms, so a label never waits behind many. */
const BASELINE_CHUNK = 4

export class Studio implements StudioApi {
  private session: Open | null = null
  private readonly imageCache = new Map<number, ImageDto>()
  private queue: Promise<unknown> = Promise.resolve()
  private listeners = new Set<Emit>()
  /** Progress tasks started and not yet finished (cancel names one). */
  private running = new Set<string>()

  constructor(readonly opts: StudioOptions) {}

  /** Subscribes to pushed events; returns the unsubscribe function. */
  on(listener: Emit): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit: Emit = (event, payload) => {
    if (event === 'progress') {
      const p = payload as Progress
      if (p.total > 0 && p.done >= p.total) this.running.delete(p.task)
      else this.running.add(p.task)
    }
    for (const l of this.listeners) l(event, payload)
  }

  get sessionsDir(): string {
    return join(this.opts.dataDir, 'sessions')
  }

  /** Remembers the base model chosen for new sessions: {"dir": ...}. */
  get baseFile(): string {
    return join(this.opts.dataDir, 'base.json')
  }

  /** The base of new sessions: the one chosen last (base.json), else the shipped one. */
  baseDir(): string {
    if (this.opts.baseDir) return this.opts.baseDir
    try {
      const { dir } = JSON.parse(readFileSync(this.baseFile, 'utf8')) as { dir?: unknown }
      if (typeof dir === 'string' && existsSync(join(dir, 'model.json'))) return dir
    } catch {
      // No choice recorded (or an unreadable one): the shipped base.
    }
    return defaultBaseDir()
  }

  /** The base a session was recorded on, if it is still here (shipped or retrained); else the chosen one. */
  private baseWithHash(hash: string): string {
    return findBase(hash, [this.baseDir(), defaultBaseDir(), ...retrainedBases(this.opts.dataDir)]) ?? this.baseDir()
  }

  get current(): Open | null {
    return this.session
  }

  /** Runs one state change at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => {})
    return run
  }

  async info(): Promise<AppInfo> {
    const base = readBase(this.baseDir())
    const backend = await this.opts.engine.backend()
    return {
      version: this.opts.version,
      backend: backend.name,
      backendNotice: backend.notice,
      desktop: !!this.opts.desktop,
      dataDir: this.opts.dataDir,
      defaults: DEFAULT_CONFIG,
      strategies: STRATEGIES,
      base: baseDto(base)
    }
  }

  async listSessions(): Promise<SessionSummary[]> {
    let names: string[] = []
    try {
      names = await readdir(this.sessionsDir)
    } catch {
      return []
    }
    const out: SessionSummary[] = []
    for (const name of names) {
      try {
        out.push(summarize(join(this.sessionsDir, name), derive((await readSessionLog(join(this.sessionsDir, name))).events)))
      } catch {
        // Not a session folder, or one without a readable start: not listed.
      }
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  }

  newSession(config: SessionConfig): Promise<SessionState> {
    return this.serial(async () => {
      const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`
      const target = join(this.sessionsDir, id)
      // Open the new session fully before letting go of the current one: a bad dataset keeps it.
      const opened = await this.opts.engine.open(config, this.opts.cacheDir, this.baseDir())
      await this.closeSession()
      const start: SessionEvent = {
        v: FORMAT_VERSION,
        type: 'start',
        at: eventTime(),
        id,
        config,
        dataset: { id: opened.dataset.id, hash: opened.dataset.hash, poolSize: opened.poolSize, testSize: opened.testSize },
        base: { id: opened.base.id, hash: opened.base.hash },
        backend: opened.backend,
        features: opened.features,
        ...(opened.trainer ? { trainer: opened.trainer } : {}),
        trust: opened.trust,
        app: `curator ${this.opts.version}`
      }
      const log = await createSessionLog(target, start)
      this.session = {
        dir: target,
        log,
        events: [start],
        d: derive([start]),
        opened,
        warnings: skippedWarning(opened),
        speculation: null,
        baseline: [],
        writeError: null,
        engineLost: this.opts.engine.lost
      }
      await this.advance()
      return this.snapshot()
    })
  }

  openSession(dir: string): Promise<SessionState> {
    return this.serial(async () => {
      const target = resolve(dir)
      if (this.session?.dir === target) return this.snapshot()
      // Open the new session fully before letting go of the current one: a bad folder keeps it.
      // On the chosen base: a session recorded on another one gets the warning below.
      const { start } = derive((await readSessionLog(target)).events)
      const opened = await this.opts.engine.open(
        start.config,
        this.opts.cacheDir,
        this.baseWithHash(start.base.hash),
        start.features ?? 'tfjs',
        start.trainer ?? 'tfjs',
        start.trust ?? 1
      )
      await this.closeSession()
      const { log, events, warnings } = await openSessionLog(target)
      const d = derive(events)
      if (log.lockedBy)
        warnings.unshift(
          `Read-only: ${describeOwner(log.lockedBy)} has this session open for writing, so answers here are not saved; replay and export work`
        )
      if (opened.base.hash !== d.start.base.hash)
        warnings.push(`the base model changed since this session was recorded (hash ${d.start.base.hash}, now ${opened.base.hash})`)
      this.session = {
        dir: target,
        log,
        events,
        d,
        opened,
        warnings: [...warnings, ...d.warnings, ...skippedWarning(opened)],
        speculation: null,
        baseline: [],
        writeError: null,
        engineLost: this.opts.engine.lost
      }
      if (opened.dataset.hash !== d.dataset.hash) {
        if (log.lockedBy)
          this.session.warnings.push(
            `the dataset changed since this session was recorded (hash ${d.dataset.hash}, now ${opened.dataset.hash}); read-only, so it is not remapped`
          )
        else await this.remapChangedDataset()
      }
      await this.advance()
      return this.snapshot()
    })
  }

  async label(id: number, value: LabelValue, responseMs: number): Promise<{ labels: number }> {
    const labels = await this.serial(async () => {
      const s = this.need()
      await this.catchUp(s)
      this.expectWaiting(s, id)
      await this.append(labelEvent(id, queryKey(s, id), value, s.d.done.length, responseMs))
      return countLabels(s.d)
    })
    void this.serial(() => this.advance()).catch((err) => this.emit('error', toErrorDto(err)))
    return { labels }
  }

  async skip(id: number): Promise<{ skipped: number }> {
    const skipped = await this.serial(async () => {
      const s = this.need()
      await this.catchUp(s)
      this.expectWaiting(s, id)
      await this.append(skipEvent(id, queryKey(s, id), s.d.done.length))
      return skippedIds(s.d).length
    })
    void this.serial(() => this.advance()).catch((err) => this.emit('error', toErrorDto(err)))
    return { skipped }
  }

  undo(): Promise<SessionState> {
    return this.serial(async () => {
      const s = this.need()
      const top = s.d.undoable.at(-1)
      const last = top?.kind === 'relabel' ? top : (s.d.current?.answers.at(-1) ?? s.d.done.at(-1)?.answers.at(-1))
      if (!last) throw new CuratorError('BAD_ARGUMENT', 'Nothing to undo')
      await this.append({ v: FORMAT_VERSION, type: 'undo', at: eventTime(), id: last.id })
      await this.advance()
      return this.snapshot()
    })
  }

  relabel(id: number, value: LabelValue): Promise<SessionState> {
    return this.serial(async () => {
      const s = this.need()
      const entry = standingEntry(s.d, id)
      if (!entry) throw new CuratorError('BAD_ARGUMENT', `Image ${id} has no answer to change`)
      if (entry.value !== value) {
        await this.append({
          v: FORMAT_VERSION,
          type: 'relabel',
          at: eventTime(),
          id,
          ...(entry.key === undefined ? {} : { key: entry.key }),
          value,
          iteration: s.d.done.length
        })
        await this.advance()
      }
      return this.snapshot()
    })
  }

  /** Pool images of the open session (a view: outside the serial queue). */
  async images(ids: number[]): Promise<ImageDto[]> {
    await this.attached()
    await this.loadImages(ids)
    return ids.map((id) => this.imageCache.get(id)!)
  }

  /** The open session's state; first redoes a fit that a failed write left undone (still failing: said as an error event). */
  async state(): Promise<SessionState | null> {
    return this.serial(async () => {
      if (!this.session) return null
      await this.catchUp(this.session).catch((err) => this.emit('error', toErrorDto(err)))
      return this.snapshot()
    })
  }

  async replay(dir: string): Promise<ReplayDto> {
    return this.serial(async () => {
      const target = resolve(dir)
      const { events, warnings } = await readSessionLog(target)
      const d = derive(events)
      // The images come from that session's dataset; the open session stays as it is.
      const images = new Map(
        (await this.opts.engine.images([...new Set(d.done.flatMap((b) => b.query.ids))], d.start.config)).map((i) => [i.id, i])
      )
      const steps = d.trains.map((t, k) => ({
        iteration: iterationDto(t),
        asked: k === 0 ? [] : d.done[k - 1].answers.map((a) => ({ ...queryItem(images, d.done[k - 1].query, a.id), answer: a.value }))
      }))
      const baseline = await this.baselineOf(target, d)
      return {
        session: summarize(target, d),
        config: d.start.config,
        baseClassNames: await this.baseClassNames(),
        steps,
        warnings: [...warnings, ...d.warnings],
        baseline
      }
    })
  }

  /** The mistakes view after the latest standing fit; read outside the serial queue (a view, never in the way of labelling). */
  async mistakes(cell?: MistakeCell, limit = MISTAKE_IMAGES): Promise<MistakesDto | null> {
    const s = await this.attached()
    const last = s.d.trains.at(-1)
    if (!last) return null
    return this.opts.engine.mistakes(standingBatches(s.d), { iteration: last.iteration, labels: last.labels }, cell ?? null, limit)
  }

  /** A page of the pool browser under the latest standing fit (a view: outside the serial queue). */
  async pool(query: PoolQuery): Promise<PoolPage> {
    const s = await this.attached()
    const answers: [number, PoolItem['answer']][] = [...s.d.done, ...(s.d.current ? [s.d.current] : [])].flatMap((b) =>
      b.answers.map((a) => [a.id, a.value ?? 'skipped'] as [number, PoolItem['answer']])
    )
    return this.opts.engine.pool(standingBatches(s.d), answers, query)
  }

  /** Why an answered image was asked, and its nearest labelled images (a view: outside the serial queue). */
  async why(id?: number): Promise<WhyDto | null> {
    const s = await this.attached()
    const batches = [...s.d.done, ...(s.d.current ? [s.d.current] : [])]
    const order = batches.flatMap((b, k) => b.answers.map((a) => ({ a, k })))
    // A re-asked image: its latest answer.
    let at = order.length - 1
    if (id !== undefined) while (at >= 0 && order[at].a.id !== id) at--
    if (at < 0) {
      if (id === undefined) return null
      if (s.d.current?.query.ids.includes(id))
        throw new CuratorError(
          'BAD_ARGUMENT',
          `Image ${id} is not answered yet: why it was asked is shown once you answer it, so it cannot sway the answer`
        )
      throw new CuratorError('NOT_FOUND', `Image ${id} was not asked in this session (or its answer was undone)`)
    }
    const { a, k } = order[at]
    const q = batches[k].query
    // The checks' picks come first in a query; a strategy's pick is ranked among the strategy's own.
    const checks = [...(q.reask ?? []), ...(q.cover ?? []), ...(q.confirm ?? [])]
    const check = checkOf(q, a.id)
    const position = check ? (q[check] ?? []).indexOf(a.id) : q.ids.indexOf(a.id) - checks.length
    const before = batches.slice(0, k).flatMap((b) => b.answers)
    const labelled = order.flatMap((o) => (o.a.value === null ? [] : [{ id: o.a.id, value: o.a.value }]))
    const r = await this.opts.engine.why(
      a.id,
      {
        strategy: q.strategy,
        iteration: q.iteration,
        position,
        batch: check ? (q[check] ?? []).length : q.ids.length - checks.length,
        score: q.scores[q.ids.indexOf(a.id)],
        p: q.p[q.ids.indexOf(a.id)],
        ...(check ? { check } : {}),
        candidates: s.opened.poolSize - before.length,
        labelledBefore: before.filter((b) => b.value !== null).length
      },
      standingBatches(s.d),
      labelled,
      WHY_NEIGHBOURS
    )
    return {
      ...r.image,
      iteration: q.iteration,
      answer: a.value ?? 'skipped',
      reason: r.reason,
      pNow: r.pNow,
      nearest: r.nearest,
      position: at + 1,
      answered: order.length,
      previous: order[at - 1]?.a.id ?? null,
      next: order[at + 1]?.a.id ?? null
    }
  }

  choose(id: number, value: LabelValue, responseMs: number): Promise<SessionState> {
    return this.serial(async () => {
      const s = this.need()
      const c = s.d.current
      if (c && c.answers.length > 0)
        throw new CuratorError(
          'BAD_ARGUMENT',
          `Finish the batch on screen first (${c.answers.length} of ${c.query.ids.length} answered), then choose images`
        )
      if ([...s.d.done.flatMap((b) => b.answers)].some((a) => a.id === id))
        throw new CuratorError('BAD_ARGUMENT', `Image ${id} is answered already`)
      await this.reattach(s)
      const { p, keys } = await this.opts.engine.chosen(standingBatches(s.d), [id])
      // A query of one image the labeller picked, then its answer: a batch like any other.
      const iteration = s.d.done.length
      await this.append({
        v: FORMAT_VERSION,
        type: 'query',
        at: eventTime(),
        iteration,
        ids: [id],
        ...(keys ? { keys } : {}),
        scores: [0],
        p,
        strategy: CHOSEN
      })
      await this.append(labelEvent(id, queryKey(s, id), value, iteration, responseMs))
      await this.advance()
      return this.snapshot()
    })
  }

  /** The random baseline at a recorded session's label counts; empty where it cannot be had (a view only). */
  async baselineOf(dir: string, d: Derived): Promise<BaselinePoint[]> {
    const counts = d.trains.map((t) => t.labels)
    const of = this.session?.dir === resolve(dir) ? undefined : { config: d.start.config, baseDir: this.baseWithHash(d.start.base.hash) }
    return this.opts.engine.baseline(counts, of).catch(() => [])
  }

  async exportModel(out?: string, force = false, withImages = false): Promise<ExportResult> {
    return this.serial(async () => {
      const s = this.need('Open a session before exporting its model')
      await this.reattach(s)
      const target = resolve(out ?? join(this.opts.dataDir, 'exports', s.d.start.id))
      const session = { dir: s.dir, events: s.events, d: s.d, base: s.opened.base, backend: s.opened.backend }
      return exportModelFolder({ target, force, withImages, session, engine: this.opts.engine })
    })
  }

  /** Writes the session in `dir` as an animated GIF: `out`, or session.gif in the session folder. */
  async exportGif(dir: string, out?: string): Promise<ExportResult> {
    return this.serial(async () => {
      const baseline = await this.baselineOf(dir, derive((await readSessionLog(dir)).events))
      const r = await writeSessionGif(dir, out ?? join(dir, 'session.gif'), baseline)
      return { dir: dirname(r.file), files: [basename(r.file)] }
    })
  }

  inspectDataset(dataset: string): Promise<DatasetPreview> {
    return previewDataset(dataset)
  }

  listFolders(dir?: string): Promise<FolderListing> {
    return listFolders(dir)
  }

  async pickFolder(purpose: 'dataset' | 'session' | 'export'): Promise<string | null> {
    return this.opts.pickFolder ? this.opts.pickFolder(purpose) : null
  }

  /** Stops the named long work (a progress task) if it is running; another task is left alone. */
  async cancel(task: string): Promise<void> {
    if (this.running.delete(task)) this.opts.engine.cancel()
  }

  /** Trains a new base on MNIST (progress task 'pretrain') and makes it the base of new sessions. */
  pretrainBase(options: PretrainOptions): Promise<PretrainedBase> {
    return this.serial(async () => {
      const base = await this.opts.engine.pretrain({ ...options, dataDir: this.opts.dataDir })
      await writeFileAtomic(this.baseFile, JSON.stringify({ dir: base.dir }, null, 2) + '\n')
      return base
    })
  }

  chooseBase(dir: string | null, spec?: BaseSpecFile): Promise<BaseDto> {
    return this.serial(async () => {
      const target = dir === null ? defaultBaseDir() : resolve(dir)
      if (!existsSync(join(target, 'model.json')))
        throw new CuratorError('NOT_FOUND', `No model.json in ${target}: choose a TF.js layers model folder`)
      // Merged into what is there and written whole: a failed write keeps the old spec.
      if (spec)
        await writeFileAtomic(join(target, BASE_SPEC_FILE), JSON.stringify({ ...(readBaseSpec(target) ?? {}), ...spec }, null, 2) + '\n')
      const base = readBase(target) // refuses graph models, unknown feature layers, bad specs
      await writeFileAtomic(this.baseFile, JSON.stringify({ dir: target }, null, 2) + '\n')
      return baseDto(base)
    })
  }

  async close(): Promise<void> {
    await this.serial(() => this.closeSession())
  }

  // ---- internals -------------------------------------------------------------------------

  private need(why = 'No session is open: start or open one first'): Open {
    if (!this.session) throw new CuratorError('NO_SESSION', why)
    return this.session
  }

  /** The open session, opened again in the engine first if the engine thread was lost since. */
  private async attached(): Promise<Open> {
    const s = this.need()
    await this.reattach(s)
    return s
  }

  /**
   * The engine thread was lost since the session was opened in it (a crash, a shutdown): the new
   * thread holds nothing, so the session is opened there again. The log is the truth; nothing is lost.
   */
  private async reattach(s: Open): Promise<void> {
    const lost = this.opts.engine.lost
    if (s.engineLost === lost) return
    const { start } = s.d
    s.opened = await this.opts.engine.open(
      start.config,
      this.opts.cacheDir,
      this.baseWithHash(start.base.hash),
      start.features ?? 'tfjs',
      start.trainer ?? 'tfjs',
      start.trust ?? 1
    )
    s.engineLost = lost
    s.speculation = null
    if (!s.warnings.includes(ENGINE_RESTARTED)) s.warnings = [...s.warnings, ENGINE_RESTARTED]
  }

  private expectWaiting(s: Open, id: number): void {
    const c = s.d.current
    if (!c || !c.query.ids.includes(id) || c.answers.some((a) => a.id === id)) {
      throw new CuratorError('BAD_ARGUMENT', `Image ${id} is not waiting for an answer`)
    }
  }

  private async append(e: SessionEvent): Promise<void> {
    const s = this.need()
    try {
      await s.log.append(e)
    } catch (err) {
      if (err instanceof CuratorError && (err.code === 'DISK_FULL' || err.code === 'NOT_WRITABLE')) s.writeError = toErrorDto(err)
      throw err
    }
    s.writeError = null
    s.events.push(e)
    s.d = derive(s.events)
  }

  /** Whether the session waits for a fit: nothing asked yet, or the batch is answered (read-only sessions fit nothing). */
  /** A batch is complete (or none was asked yet), or the answers under the standing fit changed (a relabel, an undo of one). */
  private needsFit(s: Open): boolean {
    return !s.log.lockedBy && (!s.d.current || batchComplete(s.d) || staleFit(s.d))
  }

  /**
   * After a failed write (a full disk) a fit may be left undone: the batch answered, its fit or
   * the next query not in the log. The next call does it, so freeing space is all it takes.
   */
  private async catchUp(s: Open): Promise<void> {
    if (s.writeError && this.needsFit(s)) await this.advance()
  }

  /**
   * The dataset changed since the log was written. A folder's images are found again by their
   * file keys and a remap event moves the log to the new ids; answers of files that are gone
   * are dropped and reported, never given to another image. Without keys (MNIST, IDX, logs
   * older than keys) nothing can be matched: the session is opened as it is, with a warning.
   */
  private async remapChangedDataset(): Promise<void> {
    const s = this.need()
    const { d, opened } = s
    const changed = `the dataset changed since this session was recorded (hash ${d.dataset.hash}, now ${opened.dataset.hash})`
    const keyOf = new Map<number, string>()
    const ids = new Set<number>()
    for (const b of [...d.done, ...(d.current ? [d.current] : [])]) {
      b.query.ids.forEach((id, k) => {
        ids.add(id)
        const key = b.query.keys?.[k]
        if (key !== undefined) keyOf.set(id, key)
      })
    }
    if (!ids.size) {
      s.warnings.push(changed)
      return
    }
    if (keyOf.size < ids.size) {
      s.warnings.push(`${changed}; the log has no file keys, so its answers may now name other images`)
      return
    }
    const old = [...ids].sort((a, b) => a - b)
    const found = await this.opts.engine.locate(old.map((id) => keyOf.get(id)!))
    const map: [number, number][] = []
    const missing: { id: number; key: string; reason: string }[] = []
    old.forEach((id, k) => {
      const f = found[k]
      if (f.id === null) missing.push({ id, key: keyOf.get(id)!, reason: f.reason })
      else map.push([id, f.id])
    })
    const dataset = { id: opened.dataset.id, hash: opened.dataset.hash, poolSize: opened.poolSize, testSize: opened.testSize }
    await this.append({ v: FORMAT_VERSION, type: 'remap', at: eventTime(), dataset, ids: map, missing })
    const answered = new Map([...d.done, ...(d.current ? [d.current] : [])].flatMap((b) => b.answers.map((a) => [a.id, a.value] as const)))
    const lost = missing.filter((m) => answered.has(m.id))
    const names = (list: typeof missing) =>
      list
        .slice(0, 5)
        .map((m) => `${m.key} (${m.reason})`)
        .join(', ') + (list.length > 5 ? `, and ${list.length - 5} more` : '')
    s.warnings.push(
      `The folder changed since this session was recorded: ${map.length} asked image${map.length === 1 ? '' : 's'} found again by file name` +
        (lost.length
          ? `; ${lost.length} answer${lost.length === 1 ? ' is' : 's are'} for files that are gone and no longer count: ${names(lost)}`
          : '; no answer was lost')
    )
  }

  /**
   * After any change: fit when a batch is complete (or none was asked yet), or again when the
   * answers the standing fit was made on changed (a relabel, an undo of one); then prefetch.
   */
  private async advance(): Promise<void> {
    const s = this.need()
    try {
      await this.reattach(s)
      try {
        await this.advanceOnce(s)
      } catch (err) {
        if (!(err instanceof CuratorError && err.code === 'ENGINE_STOPPED') || this.session !== s) throw err
        // The engine thread stopped during the fit: once more, in a new one.
        await this.reattach(s)
        await this.advanceOnce(s)
      }
    } catch (err) {
      // The view must say the fit was not saved (and offer to retry), not wait for it.
      if (s.writeError && this.session === s) this.emit('session', this.snapshot())
      throw err
    }
  }

  private async advanceOnce(s: Open): Promise<void> {
    let fitted: { train: TrainEvent; query: QueryEvent | null; loss: number | null } | null = null
    const c = s.d.current
    // Read-only (another process writes this session): show the log as it is, fit nothing.
    if (this.needsFit(s) && c && !batchComplete(s.d)) {
      // The answers under the standing fit changed: the batch on screen stays; with none of it answered, the refit chooses it again.
      const rec = await this.opts.engine.iterate(engineBatches(s.d), skippedIds(s.d))
      const train = trainEvent(rec)
      await this.append(train)
      const requery = c.answers.length === 0 && c.query.strategy !== CHOSEN
      const query = requery ? queryEvent(rec, s.d.start.config.strategy) : null
      if (query) await this.append(query)
      s.speculation = null
      fitted = { train, query, loss: rec.loss }
    } else if (this.needsFit(s)) {
      const batches = engineBatches(s.d)
      const pending = s.d.current ? [...batches, answersOf(s.d.current.answers)] : batches
      const answered = s.d.current?.answers ?? []
      const last = answered.at(-1)
      const spec = s.speculation
      const reuse =
        spec && last && last.value !== null && spec.key === specKey(s.d, answered.slice(0, -1))
          ? last.value === 1
            ? spec.positive
            : spec.negative
          : null
      const rec = reuse ?? (await this.opts.engine.iterate(pending, skippedIds(s.d)))
      const train = trainEvent(rec)
      await this.append(train)
      const query = queryEvent(rec, s.d.start.config.strategy)
      await this.append(query)
      s.speculation = null
      fitted = { train, query, loss: rec.loss }
    }
    await this.loadImages(s.d.current?.query.ids ?? [])
    if (!s.log.lockedBy) await this.prefetch()
    this.emit('session', this.snapshot())
    if (fitted) this.toBoard(s, fitted.train, fitted.loss, fitted.query)
    void this.extendBaseline(s)
  }

  /**
   * Computes the baseline at the label counts not yet covered, a few points per engine call and
   * outside the serial queue, after the labeller has the next batch; pushed as `baseline` events.
   */
  private async extendBaseline(s: Open): Promise<void> {
    if (s.baselineBusy) return
    s.baselineBusy = true
    try {
      for (;;) {
        const have = new Set(s.baseline.map((b) => b.labels))
        const missing = [...new Set(s.d.trains.map((t) => t.labels))].filter((n) => !have.has(n)).slice(0, BASELINE_CHUNK)
        if (!missing.length || this.session !== s) return
        const points = await this.opts.engine.baseline(missing)
        if (this.session !== s || !points.length) return
        s.baseline = [...s.baseline, ...points].sort((a, b) => a.labels - b.labels)
        this.emit('baseline', { sessionId: s.d.start.id, points: s.baseline })
      }
    } catch {
      // A view only: a failed baseline never disturbs labelling.
    } finally {
      s.baselineBusy = false
    }
  }

  /** Appends a fit to the session's TensorBoard file, after the labeller has the next batch. */
  private toBoard(s: Open, train: TrainEvent, loss: number | null, query: QueryEvent | null): void {
    if (s.board === 'failed') return
    try {
      s.board ??= new EventWriter(join(s.dir, TENSORBOARD_DIR))
      writeIteration(s.board, train, loss)
      if (query)
        writeAsked(
          s.board,
          query,
          query.ids.flatMap((id) => (this.imageCache.has(id) ? [rawImage(this.imageCache.get(id)!)] : []))
        )
    } catch (err) {
      // TensorBoard files are a view: losing them must not stop labelling. Said once.
      if (s.board instanceof EventWriter) s.board.close()
      s.board = 'failed'
      this.emit(
        'error',
        toErrorDto(new CuratorError('NOT_WRITABLE', `TensorBoard files are no longer written for this session: ${(err as Error).message}`))
      )
    }
  }

  /** With one image left in the batch, fit for both answers now so the next batch is ready. */
  private async prefetch(): Promise<void> {
    const s = this.need()
    const c = s.d.current
    if (!c || c.query.ids.length - c.answers.length !== 1) {
      s.speculation = null
      return
    }
    const key = specKey(s.d)
    if (s.speculation?.key === key) return
    const last = c.query.ids.find((id) => !c.answers.some((a) => a.id === id))!
    const fit = (value: LabelValue) =>
      this.opts.engine.iterate([...engineBatches(s.d), [...answersOf(c.answers), { id: last, value }]], skippedIds(s.d))
    const negative = await fit(0)
    const positive = await fit(1)
    s.speculation = { key, negative, positive }
    await this.loadImages([...negative.next.ids, ...positive.next.ids])
  }

  private async loadImages(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.imageCache.has(id))
    if (missing.length) for (const img of await this.opts.engine.images(missing)) this.imageCache.set(img.id, img)
  }

  private queryItem(q: Asked, id: number): QueryItem {
    return queryItem(this.imageCache, q, id)
  }

  private async baseClassNames(): Promise<string[]> {
    return this.session?.opened.base.classNames ?? readBase(this.baseDir()).classNames
  }

  private snapshot(): SessionState {
    const s = this.need()
    const { d } = s
    const c = d.current
    const items = (r: IterationRecord) => r.next.ids.map((id) => this.queryItem(r.next, id))
    // The latest fit's doubts, about the answers it stood on; answered counts, re-asks included.
    const last = d.trains.at(-1)
    const doubt = new Map((last?.suspects ?? []).map((x) => [x.id, { p: x.p, ...(x.settled ? { settled: true } : {}) }]))
    const asked = new Map<number, number>()
    for (const b of [...d.done, ...(c ? [c] : [])])
      for (const a of b.answers) if (a.value !== null) asked.set(a.id, (asked.get(a.id) ?? 0) + 1)
    return {
      id: d.start.id,
      dir: s.dir,
      config: d.start.config,
      backend: s.opened.backend,
      poolSize: s.opened.poolSize,
      testSize: s.opened.testSize,
      baseClassNames: s.opened.base.classNames,
      history: d.trains.map(iterationDto),
      labels: standingAnswers(d).map((a) => ({
        id: a.id,
        ...(a.key === undefined ? {} : { key: a.key }),
        value: a.value!,
        iteration: a.iteration,
        responseMs: a.responseMs,
        at: a.at,
        ...(a.relabelled ? { relabelled: true } : {}),
        asked: asked.get(a.id) ?? 1,
        ...(doubt.has(a.id) ? { suspect: doubt.get(a.id)! } : {})
      })),
      advice: last?.advice ?? null,
      skipped: skippedIds(d),
      queue: c ? c.query.ids.filter((id) => !c.answers.some((a) => a.id === id)).map((id) => this.queryItem(c.query, id)) : [],
      answered: c ? c.query.ids.filter((id) => c.answers.some((a) => a.id === id)).map((id) => this.queryItem(c.query, id)) : [],
      next: s.speculation ? { negative: items(s.speculation.negative), positive: items(s.speculation.positive) } : null,
      warnings: s.warnings,
      baseline: s.baseline,
      writeError: s.writeError
    }
  }

  private async closeSession(): Promise<void> {
    if (!this.session) return
    if (this.session.board instanceof EventWriter) this.session.board.close()
    await this.session.log.close()
    this.session = null
    this.imageCache.clear()
  }
}

const baseDto = (b: BaseInfo): BaseDto => ({
  id: b.id,
  hash: b.hash,
  testAccuracy: b.testAccuracy,
  classNames: b.classNames,
  dir: b.dir,
  featureLayer: b.featureLayer,
  input: b.input,
  custom: !b.meta
})

/** The file key of an image of the current batch, for its label or skip event. */
/** The file key of an image the current query asked (folder datasets). */
function queryKey(s: Open, id: number): string | undefined {
  const q = s.d.current?.query
  return q?.keys?.[q.ids.indexOf(id)]
}

/** One line naming the dataset files that were skipped (the first few, and how many). */
function skippedWarning(opened: OpenedSession): string[] {
  const s = opened.skipped
  if (!s.length) return []
  return [`${s.length} file${s.length === 1 ? ' was' : 's were'} skipped in the dataset folder: ${listSkipped(s)}`]
}

type Asked = { ids: number[]; p: number[]; scores: number[]; reask?: number[]; cover?: number[]; confirm?: number[] }

/** Which check of the answers asked an image of a query, if one did. */
const checkOf = (q: Asked, id: number): CheckKind | undefined => (['reask', 'cover', 'confirm'] as const).find((c) => q[c]?.includes(id))

function queryItem(images: Map<number, ImageDto>, q: Asked, id: number): QueryItem {
  const k = q.ids.indexOf(id)
  const check = checkOf(q, id)
  return { ...images.get(id)!, p: q.p[k], score: q.scores[k], ...(check ? { check } : {}) }
}

const rawImage = (i: ImageDto): RawImage => ({
  width: i.width,
  height: i.height,
  channels: i.channels,
  pixels: Buffer.from(i.pixelsBase64, 'base64')
})

/** The answers of the batches the latest standing fit was made on. */
const standingBatches = (d: Derived): Answer[][] => engineBatches(d).slice(0, d.trains.at(-1)?.iteration ?? 0)

/** Identifies the state a speculation was made in: the answers before the batch, the batch and the answers given before its last image. */
const specKey = (d: Derived, answered = d.current?.answers ?? []) =>
  JSON.stringify([engineBatches(d), d.current?.query.ids, answered.map((a) => [a.id, a.value])])

const countLabels = (d: Derived) => standingAnswers(d).length

/** The answers of the completed batches changed since the standing fit was made on them. */
const staleFit = (d: Derived) => {
  const fit = d.fits.at(-1)
  return !!fit && JSON.stringify(fit.batches) !== JSON.stringify(engineBatches(d))
}
