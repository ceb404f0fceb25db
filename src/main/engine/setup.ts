// Everything a transfer session needs before its first query: data, base, cached features.
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { SessionConfig } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import { Dataset, ImageSet } from '../data/dataset'
import { loadDataset } from '../data/load'
import { readBaseMetadata, defaultBaseDir } from './base'
import { cachedFeatures, featurizeAll, FeatureMatrix } from './features'
import { Learner } from './learner'
import { loadModel, readModelFiles, hashModelFiles, ModelFiles } from './model-io'
import type { BaseMetadata } from './pretrain'
import { splitPoint } from './transfer'

export interface Prepared {
  dataset: Dataset
  base: { dir: string; files: ModelFiles; meta: BaseMetadata; hash: string }
  learner: Learner
  poolFeatures: FeatureMatrix
  testFeatures: FeatureMatrix | null
  poolTruth: Int8Array | null
  testTruth: Int8Array | null
  featuresCached: boolean
}

export interface PrepareOptions {
  backend: string
  cacheDir?: string
  baseDir?: string
  onProgress?: (p: Progress) => void
  shouldStop?: () => boolean
}

export function defaultCacheDir(): string {
  return process.env.CURATOR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'curator')
}

/** 1 for images whose true class is in positiveClasses, 0 for other known classes, -1 unknown. */
export function truthOf(set: ImageSet | null, classNames: string[] | null, positiveClasses: string[] | null): Int8Array | null {
  if (!set?.classes || !classNames || !positiveClasses) return null
  const unknown = positiveClasses.filter((c) => !classNames.includes(c))
  if (unknown.length) throw new CuratorError('BAD_ARGUMENT', `Positive classes ${unknown.join(', ')} are not classes of this dataset (${classNames.join(', ')})`)
  const positive = new Set(positiveClasses.map((c) => classNames.indexOf(c)))
  return Int8Array.from(set.classes, (c) => (c < 0 ? -1 : positive.has(c) ? 1 : 0))
}

export async function prepare(config: SessionConfig, opts: PrepareOptions): Promise<Prepared> {
  const dataset = await loadDataset(config.dataset, { pool: config.poolLimit, test: config.testLimit, seed: config.seed })
  const dir = opts.baseDir ?? defaultBaseDir()
  const files = readModelFiles(dir)
  const meta = readBaseMetadata(dir)
  const hash = hashModelFiles(files)
  const base = await loadModel(files)
  const { layers, splitIndex } = splitPoint(base, config.unfreeze)
  const cacheDir = opts.cacheDir ?? defaultCacheDir()
  const parts: Record<string, ImageSet> = dataset.test ? { pool: dataset.pool, test: dataset.test } : { pool: dataset.pool }
  const { features, cached } = await cachedFeatures(cacheDir, { baseHash: hash, datasetHash: dataset.hash, split: layers[splitIndex].name }, parts, (sets) =>
    featurizeAll(files, config.unfreeze, sets, { backend: opts.backend, onProgress: opts.onProgress, shouldStop: opts.shouldStop, task: 'featurise' })
  )
  const poolFeatures = features.pool
  const testFeatures = features.test ?? null
  const poolTruth = truthOf(dataset.pool, dataset.classNames, config.task.positiveClasses)
  const testTruth = truthOf(dataset.test, dataset.classNames, config.task.positiveClasses)
  const learner = new Learner({ base, unfreeze: config.unfreeze, fit: config.fit, seed: config.seed, pool: poolFeatures, test: testFeatures, poolTruth, testTruth })
  return { dataset, base: { dir, files, meta, hash }, learner, poolFeatures, testFeatures, poolTruth, testTruth, featuresCached: cached }
}

export function disposePrepared(p: Prepared): void {
  p.learner.dispose()
}
