import { createHash } from 'node:crypto'
// Everything a transfer session needs before its first query: data, base, cached features.
import type { SessionConfig } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import type { Progress } from '../../shared/progress'
import { defaultCacheDir } from '../data/cache-dir'
import { Dataset, ImageSet } from '../data/dataset'
import { loadDataset } from '../data/load'
import { BaseInfo, defaultBaseDir, readBase } from './base'
import {
  CacheKey,
  CapturedFeatures,
  cachedFeatures,
  featureCachePath,
  featurizeAll,
  featurizeFolder,
  featurizeInit,
  FeaturizePool,
  FeatureMatrix,
  folderDecoder,
  readFeatureCacheRows,
  writeFeatureCache
} from './features'
import { Learner, TRUST_RULES } from './learner'
import { hasShippedFeatures, readShippedFeatures } from './shipped-features'
import { existsSync } from 'node:fs'
import { loadModel } from './model-io'
import { splitPoint } from './transfer'
import { onnxUnsupported } from '../onnx/convert'
import { defaultFeaturizer, featureSplitKey, FeaturizerName } from './featurizer'
import type { TrainerName } from './parallel-train'

export interface Prepared {
  dataset: Dataset
  base: BaseInfo
  learner: Learner
  poolFeatures: FeatureMatrix
  testFeatures: FeatureMatrix | null
  poolTruth: Int8Array | null
  testTruth: Int8Array | null
  featuresCached: boolean
  /** The engine that computed the frozen features (recorded in the session's start event). */
  featurizer: FeaturizerName
}

export interface PrepareOptions {
  backend: string
  cacheDir?: string
  baseDir?: string
  onProgress?: (p: Progress) => void
  shouldStop?: () => boolean
  /** Default: defaultFeaturizer(backend). Replay passes the recorded one. */
  featurizer?: FeaturizerName
  /** What trains the suffix (default: the learner's; replay and a resumed session pass the recorded one). */
  trainer?: TrainerName
  /** Featurize at a lower thread priority: a UI is waiting on the same cores. */
  background?: boolean
  /** The dataset of config.dataset, when the caller loaded it already (with the same limits and seed). */
  dataset?: Dataset
  /** false: never fill the cache from the features shipped with the base (scripts/ship-features.mts). */
  shipped?: boolean
  /** The exact head's rules (default: TRUST_RULES, the newest; a recorded session passes its own, absent in its log meaning 1). */
  trust?: number
}

export { defaultCacheDir }

/** 1 for images whose true class is in positiveClasses, 0 for other known classes, -1 unknown. */
export function truthOf(set: ImageSet | null, classNames: string[] | null, positiveClasses: string[] | null): Int8Array | null {
  if (!set?.classes || !classNames || !positiveClasses) return null
  const unknown = positiveClasses.filter((c) => !classNames.includes(c))
  if (unknown.length)
    throw new CuratorError(
      'BAD_ARGUMENT',
      `Positive classes ${unknown.join(', ')} are not classes of this dataset (${classNames.join(', ')})`
    )
  const positive = new Set(positiveClasses.map((c) => classNames.indexOf(c)))
  return Int8Array.from(set.classes, (c) => (c < 0 ? -1 : positive.has(c) ? 1 : 0))
}

export async function prepare(config: SessionConfig, opts: PrepareOptions): Promise<Prepared> {
  if (opts.trust !== undefined && opts.trust > TRUST_RULES)
    throw new CuratorError(
      'BAD_DATA',
      `This session was recorded with version ${opts.trust} of the head's rules; this Curator knows versions 1 to ${TRUST_RULES}: open it with a newer Curator`
    )
  const cacheDir = opts.cacheDir ?? defaultCacheDir()
  const info = readBase(opts.baseDir ?? defaultBaseDir())
  const base = await loadModel(info.files)
  const { layers, splitIndex } = splitPoint(base, config.unfreeze, info.featureLayer)
  const split = layers[splitIndex].name
  const cut = { featureLayer: info.featureLayer, input: info.input }
  // Keyed by the input spec too: the same model under another preprocessing gives other features.
  const baseHash = inputHash(info)
  // ONNX Runtime for any base whose prefix the ONNX export covers (MobileNetV2: about 30 ms an image
  // on one core, against seconds on TF.js's CPU backend); a base with other layer types featurizes on TF.js.
  // Converting says so (MobileNetV2: ~150 ms), so it is done only when needed: not when ONNX Runtime's features are cached.
  let covers: boolean | undefined
  const ortCovers = () => (covers ??= !onnxUnsupported(info.files, split))
  const pools = new Map<FeaturizerName, FeaturizePool>()
  const poolFor = (featurizer: FeaturizerName) => {
    let pool = pools.get(featurizer)
    if (!pool)
      pools.set(
        featurizer,
        (pool = new FeaturizePool(
          featurizeInit(info.files, config.unfreeze, { backend: opts.backend, featurizer, background: opts.background, cut })
        ))
      )
    return pool
  }
  try {
    // A folder is decoded on the featurizing threads, which featurize each image as they decode it.
    const capture = new CapturedFeatures()
    let captureWith: FeaturizerName | undefined
    const captureFeaturizer = () => (captureWith ??= opts.featurizer ?? (ortCovers() ? defaultFeaturizer(opts.backend) : 'tfjs'))
    let captured = false
    // Images are brought to the base's input size as they are decoded (folders; MNIST and IDX in the featurizer).
    const dataset =
      opts.dataset ??
      (await loadDataset(config.dataset, {
        pool: config.poolLimit,
        test: config.testLimit,
        seed: config.seed,
        cacheDir,
        input: info.input,
        decoder: folderDecoder(
          () => poolFor(captureFeaturizer()),
          capture,
          () => (captured = true)
        ),
        onProgress: opts.onProgress,
        shouldStop: opts.shouldStop
      }))
    // Features already computed beat faster featurizing (ONNX Runtime only where its export covers the prefix).
    const atHand =
      !captured && (await featuresAtHand(cacheDir, info.dir, { baseHash, datasetHash: dataset.hash, split }, dataset, opts.shipped))
    const ort = defaultFeaturizer(opts.backend)
    const ortAtHand = async () =>
      ort === 'onnxruntime' &&
      (await featuresAtHand(
        cacheDir,
        info.dir,
        { baseHash, datasetHash: dataset.hash, split: featureSplitKey(split, ort) },
        dataset,
        false
      ))
    const featurizer = captured
      ? captureFeaturizer()
      : (opts.featurizer ?? (atHand ? 'tfjs' : (await ortAtHand()) || ortCovers() ? ort : 'tfjs'))
    const progress = { onProgress: opts.onProgress, shouldStop: opts.shouldStop, task: 'featurize' }
    const featurize = async (sets: ImageSet[]) => {
      const folder = dataset.folder
      if (!folder)
        return featurizeAll(info.files, config.unfreeze, sets, {
          backend: opts.backend,
          featurizer,
          background: opts.background,
          cut,
          ...progress
        })
      return (captured && featurizer === captureWith && capture.take(sets)) || featurizeFolder(poolFor(featurizer), folder, sets, progress)
    }
    const key = { baseHash, datasetHash: dataset.hash, split: featureSplitKey(split, featurizer) }
    // The shipped features are TF.js's (key without .ort).
    // A cache entry of another width than the split layer gives is damaged or foreign: rebuilt.
    const shape = layers[splitIndex].outputShape as (number | null)[]
    const dim = shape.slice(1).every((d) => typeof d === 'number') ? (shape.slice(1) as number[]).reduce((a, b) => a * b, 1) : undefined
    const shipped = opts.shipped === false ? undefined : (part: string) => readShippedFeatures(info.dir, { ...key, part })
    const { poolFeatures, testFeatures, cached } = dataset.source
      ? await splitFeatures(cacheDir, { ...key, datasetHash: dataset.source.hash }, dataset, featurize, dim)
      : await partFeatures(cacheDir, key, dataset, featurize, shipped, dim)
    const poolTruth = truthOf(dataset.pool, dataset.classNames, config.task.positiveClasses)
    const testTruth = truthOf(dataset.test, dataset.classNames, config.task.positiveClasses)
    const learner = new Learner({
      base,
      unfreeze: config.unfreeze,
      featureLayer: info.featureLayer,
      inputSize: info.input.size ?? (dataset.pool.count ? [dataset.pool.heights[0], dataset.pool.widths[0]] : null),
      classes: info.classNames.length,
      fit: config.fit,
      trainer: opts.trainer,
      seed: config.seed,
      pool: poolFeatures,
      test: testFeatures,
      poolTruth,
      testTruth,
      trust: opts.trust ?? TRUST_RULES
    })
    return { dataset, base: info, learner, poolFeatures, testFeatures, poolTruth, testTruth, featuresCached: cached, featurizer }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()))
  }
}

/** The base hash for the feature cache: the model's own for the digit CNN's defaults, else with the input spec. */
function inputHash(b: BaseInfo): string {
  const s = b.input
  const plain = s.channels === 3 && s.range[0] === 0 && s.range[1] === 1 && s.mean.every((m) => m === 0) && s.std.every((d) => d === 1)
  return plain ? b.hash : createHash('sha256').update(b.hash).update(JSON.stringify(s)).digest('hex').slice(0, 16)
}

/**
 * Features already computed beat faster featurizing: those of the key's split (TF.js's: the plain
 * layer name) for every part are in the cache or shipped beside the base (a fresh install's
 * MNIST), so no featurizing is needed at all.
 */
async function featuresAtHand(cacheDir: string, baseDir: string, key: CacheKey, dataset: Dataset, shipped?: boolean): Promise<boolean> {
  if (dataset.source) return existsSync(featureCachePath(cacheDir, { ...key, datasetHash: dataset.source.hash, part: 'all' }))
  const parts = dataset.test ? ['pool', 'test'] : ['pool']
  for (const part of parts) {
    if (existsSync(featureCachePath(cacheDir, { ...key, part }))) continue
    if (shipped === false || !(await hasShippedFeatures(baseDir, { ...key, part }))) return false
  }
  return true
}

type Featurize = (sets: ImageSet[]) => Promise<FeatureMatrix[]>
type Shipped = (part: string) => Promise<FeatureMatrix | null>
type SplitFeatures = { poolFeatures: FeatureMatrix; testFeatures: FeatureMatrix | null; cached: boolean }

/** Features cached per part (pool, test), keyed by the dataset's hash. */
async function partFeatures(
  cacheDir: string,
  key: CacheKey,
  dataset: Dataset,
  featurize: Featurize,
  shipped?: Shipped,
  dim?: number
): Promise<SplitFeatures> {
  const parts: Record<string, ImageSet> = dataset.test ? { pool: dataset.pool, test: dataset.test } : { pool: dataset.pool }
  const { features, cached } = await cachedFeatures(cacheDir, key, parts, featurize, shipped, dim)
  return { poolFeatures: features.pool, testFeatures: features.test ?? null, cached }
}

/**
 * A split drawn from one set (dataset.source): the features of the whole set are cached under
 * its hash (part 'all'), so every split seed reads the same cache entry.
 */
async function splitFeatures(
  cacheDir: string,
  key: CacheKey,
  dataset: Dataset,
  featurize: Featurize,
  expectedDim?: number
): Promise<SplitFeatures> {
  const src = dataset.source!
  const path = featureCachePath(cacheDir, { ...key, part: 'all' })
  // The pool's and the test split's rows read straight into their own matrices.
  const hit = await readFeatureCacheRows(path, dataset.test ? [src.pool, src.test] : [src.pool])
  if (hit && hit.count === src.count && (expectedDim === undefined || hit.dim === expectedDim))
    return { poolFeatures: hit.parts[0], testFeatures: dataset.test ? hit.parts[1] : null, cached: true }
  const [poolFeatures, testFeatures = null] = await featurize(dataset.test ? [dataset.pool, dataset.test] : [dataset.pool])
  const dim = poolFeatures.dim
  const all: FeatureMatrix = { count: src.count, dim, data: new Float32Array(src.count * dim) }
  src.pool.forEach((i, k) => all.data.set(poolFeatures.data.subarray(k * dim, (k + 1) * dim), i * dim))
  if (testFeatures) src.test.forEach((i, k) => all.data.set(testFeatures.data.subarray(k * dim, (k + 1) * dim), i * dim))
  await writeFeatureCache(path, all)
  return { poolFeatures, testFeatures, cached: false }
}

export function disposePrepared(p: Prepared): void {
  p.learner.dispose()
}
