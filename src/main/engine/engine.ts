// The engine behind the studio: one open session's data, features and learner. It runs in
// the engine thread (engine-worker.ts); the CLI may also use it in-process.
import type { BaselinePoint, MistakeCell, MistakesDto, PoolItem, PoolPage, PoolQuery, SessionConfig } from '../../shared/contract'
import { baseClasses, poolPage, sortedOrder } from './pool-view'
import { mistakesOf } from './mistakes'
import { AskedImage, nearestLabelled, whyAsked } from './why'
import { baselineOf, RandomBaseline } from './baseline'
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import { Dataset, encodeImage, imageKey } from '../data/dataset'
import { loadDataset } from '../data/load'
import { backendNotice, initBackend } from './backend'
import { Answer } from './learner'
import type { FeaturizerName } from './featurizer'
import type { TrainerName } from './parallel-train'
import { iterate, IterationRecord, LoopConfig, loopConfigOf, WarmUp } from './loop'
import { modelFiles } from './model-io'
import type { EngineMethods, ImageDto, OpenedSession, PretrainedBase, PretrainRequest, WhyResult } from './protocol'
import { prepare, disposePrepared, Prepared } from './setup'
import { loadMnist } from '../data/mnist'
import { baseMetadata, pretrain, writeBaseModel } from './pretrain'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TENSORBOARD_DIR } from '../tensorboard/writer'
import { writeFolderAtomic } from '../files/safe'

/** Progress updates sent while featurizing or pretraining, at most this often (the last one always goes). */
const PROGRESS_MS = 200

/** `send`, at most every PROGRESS_MS per task: each update is work for the UI's threads, which a person is waiting on. */
function throttled(send: (p: Progress) => void): (p: Progress) => void {
  const last = new Map<string, number>()
  return (p) => {
    const now = performance.now()
    if (now - (last.get(p.task) ?? -Infinity) < PROGRESS_MS && p.done < p.total) return
    last.set(p.task, now)
    send(p)
  }
}

export class Engine implements EngineMethods {
  private prepared: Prepared | null = null
  private openKey = ''
  private loop: LoopConfig | null = null
  /** The open session's warm-up of the iteration's code, run while no call waits (see idle). */
  private warm: WarmUp | null = null
  /** Whether the warm-up is still to start: after the session's first iteration, so it never delays the first batch. */
  private warmToStart = false
  private cancelled = false
  private cacheDir: string | undefined
  /** The random baseline of the open session, or of the last other session asked about (replay). */
  private baselines = new Map<string, RandomBaseline | null>()

  constructor(private readonly onProgress: (p: Progress) => void = () => {}) {}

  cancel(): void {
    this.cancelled = true
  }

  async backend(): Promise<{ name: string; notice: string | null }> {
    return { name: await initBackend(), notice: backendNotice() }
  }

  async open(
    config: SessionConfig,
    cacheDir?: string,
    baseDir?: string,
    featurizer?: FeaturizerName,
    trainer?: TrainerName,
    trust?: number
  ): Promise<OpenedSession> {
    const t0 = performance.now()
    const backend = await initBackend()
    this.cancelled = false
    // Prepare the new session before dropping the current one, which survives a failure.
    // A person is waiting on this machine: featurizing threads run below the UI's priority.
    const p = await prepare(config, {
      backend,
      cacheDir,
      baseDir,
      featurizer,
      trainer,
      trust,
      background: true,
      onProgress: throttled(this.onProgress),
      shouldStop: () => this.cancelled
    })
    this.close()
    this.prepared = p
    this.cacheDir = cacheDir
    this.view = null
    this.classOf = undefined
    this.openKey = JSON.stringify([config.dataset, config.poolLimit, config.testLimit, config.seed])
    this.loop = loopConfigOf(config, p.base)
    this.warmToStart = true
    return {
      backend,
      poolSize: p.dataset.pool.count,
      testSize: p.dataset.test?.count ?? 0,
      dataset: { id: p.dataset.id, hash: p.dataset.hash, classNames: p.dataset.classNames },
      base: {
        id: p.base.id,
        hash: p.base.hash,
        classNames: p.base.classNames,
        testAccuracy: p.base.testAccuracy,
        dir: p.base.dir,
        featureLayer: p.base.featureLayer,
        input: p.base.input
      },
      featuresCached: p.featuresCached,
      features: p.featurizer,
      trainer: p.learner.trainer,
      trust: p.learner.trust,
      skipped: p.dataset.skipped ?? [],
      openMs: performance.now() - t0
    }
  }

  async iterate(batches: Answer[][], skipped: number[]): Promise<IterationRecord> {
    const p = this.need()
    const rec = await iterate(p.learner, this.loop!, batches, skipped)
    if (this.warmToStart) {
      this.warmToStart = false
      this.warm = WarmUp.of(p.learner, this.loop!)
    }
    const names = p.dataset.pool.names
    return names ? { ...rec, next: { ...rec.next, keys: rec.next.ids.map((id) => names[id]) } } : rec
  }

  async locate(keys: string[]): Promise<({ id: number } | { id: null; reason: string })[]> {
    const { pool, test } = this.need().dataset
    const inPool = new Map((pool.names ?? []).map((k, i) => [k, i]))
    const inTest = new Set(test?.names ?? [])
    return keys.map((k) => {
      const id = inPool.get(k)
      if (id !== undefined) return { id }
      return { id: null, reason: inTest.has(k) ? 'now in the held-out split' : 'no longer in the folder (or unreadable)' }
    })
  }

  /** Pool images of the open session, or of another session's dataset (the replay player). */
  async images(ids: number[], of?: SessionConfig): Promise<ImageDto[]> {
    const set = of ? (await this.datasetOf(of)).pool : this.need().dataset.pool
    return ids.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= set.count)
        throw new CuratorError('BAD_ARGUMENT', `No image ${id} in a pool of ${set.count}`)
      return { id, ...(set.names ? { key: imageKey(set, id) } : {}), ...encodeImage(set, id) }
    })
  }

  /**
   * The random baseline at these label counts: for the open session, or (replay) for another
   * session's config and base, whose features come from the cache. Empty without ground truth.
   */
  async baseline(counts: number[], of?: { config: SessionConfig; baseDir?: string }): Promise<BaselinePoint[]> {
    const key = of
      ? JSON.stringify([
          of.config.dataset,
          of.config.poolLimit,
          of.config.testLimit,
          of.config.seed,
          of.config.task.positiveClasses,
          of.config.unfreeze,
          of.baseDir
        ])
      : 'open'
    if (!this.baselines.has(key)) {
      const build = (p: Prepared) => baselineOf(p, (of?.config ?? p.learner.opts).seed)
      if (!of) this.baselines.set(key, build(this.need()))
      else {
        const p = await prepare(of.config, {
          backend: await initBackend(),
          cacheDir: this.cacheDir,
          baseDir: of.baseDir,
          background: true
        })
        disposePrepared(p)
        for (const k of this.baselines.keys()) if (k !== 'open') this.baselines.delete(k)
        this.baselines.set(key, build(p))
      }
    }
    return this.baselines.get(key)?.at(counts) ?? []
  }

  /**
   * The mistakes view after the fit on `batches` (refitted here: the learner may hold a
   * speculative fit). Null without held-out ground truth.
   */
  async mistakes(
    batches: Answer[][],
    at: { iteration: number; labels: number },
    cell: MistakeCell | null,
    limit: number
  ): Promise<MistakesDto | null> {
    const p = this.need()
    if (!p.testTruth || !p.dataset.test) return null
    const view = await this.viewFit(batches)
    return mistakesOf({ p: view.testP!, truth: p.testTruth, set: p.dataset.test, classNames: p.dataset.classNames }, at, cell, limit)
  }

  /** A page of the pool browser under the fit on `batches`; `answers` are the answers given (id, 0 | 1 | 'skipped'). */
  async pool(batches: Answer[][], answers: [number, PoolItem['answer']][], q: PoolQuery): Promise<PoolPage> {
    const p = this.need()
    const view = await this.viewFit(batches)
    this.classOf ??= baseClasses(p.poolFeatures, p.base.classNames.length)
    let order = view.orders.get(q.sort)
    if (!order) {
      try {
        order = sortedOrder(q.sort, view.poolP, this.classOf)
      } catch (err) {
        throw new CuratorError('BAD_ARGUMENT', (err as Error).message)
      }
      view.orders.set(q.sort, order)
    }
    return poolPage(
      { set: p.dataset.pool, p: view.poolP, features: p.poolFeatures, classNames: p.base.classNames, answers: new Map(answers) },
      order,
      this.classOf,
      q
    )
  }

  /** P(positive) under the fit on `batches` and the file keys (folders) of pool images the labeller chose. */
  async chosen(batches: Answer[][], ids: number[]): Promise<{ p: number[]; keys?: string[] }> {
    const p = this.need()
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= p.dataset.pool.count)
        throw new CuratorError('BAD_ARGUMENT', `No image ${id} in a pool of ${p.dataset.pool.count}`)
    const view = await this.viewFit(batches)
    const names = p.dataset.pool.names
    return { p: ids.map((id) => view.poolP[id]), ...(names ? { keys: ids.map((id) => names[id]) } : {}) }
  }

  /** Why image `id` was asked (from what its query recorded), P now, and the `k` labelled images nearest to it. */
  async why(
    id: number,
    asked: Omit<AskedImage, 'coldStartBatches'>,
    batches: Answer[][],
    labelled: Answer[],
    k: number
  ): Promise<WhyResult> {
    const p = this.need()
    const [image] = await this.images([id])
    const view = await this.viewFit(batches)
    const near = nearestLabelled(p.poolFeatures, id, labelled, k)
    const images = await this.images(near.map((x) => x.id))
    return {
      reason: whyAsked({ ...asked, coldStartBatches: this.loop!.coldStartBatches }),
      image,
      pNow: view.poolP[id],
      nearest: near.map((x, i) => ({ ...images[i], value: x.value, distance: x.distance }))
    }
  }

  /**
   * P under the standing fit, for the views: kept apart from the learner, which also makes
   * speculative fits for the next batch. Refitted only when the answers change.
   */
  private view: { key: string; poolP: Float32Array; testP: Float32Array | null; orders: Map<string, Int32Array> } | null = null
  private classOf: Int32Array | null | undefined
  private async viewFit(batches: Answer[][]) {
    const p = this.need()
    const key = JSON.stringify(batches)
    if (this.view?.key !== key) {
      await p.learner.fit(batches)
      this.view = { key, poolP: p.learner.poolP.slice(), testP: p.learner.testP?.slice() ?? null, orders: new Map() }
    }
    return this.view
  }

  /**
   * Writes the full model (base + head) fitted on exactly these committed batches: model.json +
   * weights.bin. Refitted here, because the learner may hold a speculative (prefetch) fit.
   */
  async exportModel(dir: string, batches: Answer[][]): Promise<{ files: string[] }> {
    const p = this.need()
    await p.learner.fit(batches)
    const files = await modelFiles(p.learner.fullModel)
    await writeFile(join(dir, 'model.json'), JSON.stringify(files.modelJson))
    await writeFile(join(dir, 'weights.bin'), files.weights)
    return { files: ['model.json', 'weights.bin'] }
  }

  /** Trains a new base CNN on MNIST and writes it to <dataDir>/models/mnist-cnn-<timestamp>. */
  async pretrain(options: PretrainRequest): Promise<PretrainedBase> {
    const backend = await initBackend()
    this.cancelled = false
    const ds = loadMnist({ pool: options.limit, test: options.limit })
    const onProgress = throttled(this.onProgress)
    const models = join(options.dataDir, 'models')
    const dir = join(models, `mnist-cnn-${new Date().toISOString().replace(/[-:]/g, '').replace('.', '-').replace('Z', '')}`)
    // Written in a private folder and renamed into place: no half-written base is ever seen.
    // Its TensorBoard files are written there as training goes, and move with it.
    let base: PretrainedBase | null = null
    await writeFolderAtomic(dir, async (tmp) => {
      const tensorboard = { dir: join(tmp, TENSORBOARD_DIR) }
      const r = await pretrain(ds.pool, ds.test!, {
        epochs: options.epochs,
        seed: options.seed,
        onProgress,
        shouldStop: () => this.cancelled,
        tensorboard,
        // A person is waiting on this machine: training threads run below the UI's priority.
        background: true
      })
      try {
        const meta = await writeBaseModel(tmp, r.model, baseMetadata(ds, r, { epochs: options.epochs, seed: options.seed, backend }))
        base = { dir, testAccuracy: meta.testAccuracy, hash: meta.hash }
      } finally {
        r.model.dispose()
      }
    })
    return base!
  }

  private other: { key: string; dataset: Dataset } | null = null
  private async datasetOf(c: SessionConfig): Promise<Dataset> {
    const key = JSON.stringify([c.dataset, c.poolLimit, c.testLimit, c.seed])
    const open = this.prepared
    if (open && key === this.openKey) return open.dataset
    if (this.other?.key !== key)
      this.other = { key, dataset: await loadDataset(c.dataset, { pool: c.poolLimit, test: c.testLimit, seed: c.seed }) }
    return this.other.dataset
  }

  /**
   * Work for a moment with no call to answer (the engine thread calls it then, one step at a
   * time): one iteration of the open session's warm-up. False once there is none left.
   */
  async idle(): Promise<boolean> {
    if (this.warm && !(await this.warm.step())) this.warm = null
    return this.warm !== null
  }

  close(): void {
    this.warm?.dispose()
    this.warm = null
    this.warmToStart = false
    if (this.prepared) disposePrepared(this.prepared)
    this.prepared = null
    this.baselines.delete('open')
  }

  private need(): Prepared {
    if (!this.prepared) throw new CuratorError('NO_SESSION', 'No session is open')
    return this.prepared
  }
}
