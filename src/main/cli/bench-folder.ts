// `curator bench-folder`: a folder of MNIST digits as PNG files, opened cold (scan, decode,
// featurize) and again from the caches.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONFIG } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { headOf, imagePixels } from '../data/dataset'
import { loadDataset } from '../data/load'
import { loadMnist } from '../data/mnist'
import { initBackend } from '../engine/backend'
import { disposePrepared, prepare } from '../engine/setup'
import { progressPrinter } from './output'

export interface BenchFolderArgs {
  images: number
  json: boolean
}

const r2 = (x: number) => Math.round(x * 100) / 100
const seconds = (t0: number) => (performance.now() - t0) / 1000

export async function benchFolderCommand(a: BenchFolderArgs): Promise<void> {
  if (!Number.isInteger(a.images) || a.images < 10 || a.images > 60000)
    throw new CuratorError('BAD_ARGUMENT', `--images must be a whole number from 10 to 60000 (MNIST's training set), got ${a.images}`)
  const log = (s: string) => !a.json && console.error(s)
  const progress = a.json ? undefined : progressPrinter()
  const backend = await initBackend()
  const root = await mkdtemp(join(tmpdir(), 'curator-bench-folder-'))
  const folder = join(root, 'digits')
  const cacheDir = join(root, 'cache')
  try {
    // 1. The folder: the first N MNIST training images as 28x28 grey PNGs, one subfolder per digit.
    const { default: sharp } = await import('sharp')
    const mnist = loadMnist({ pool: a.images })
    const set = headOf(mnist.pool, a.images)
    let t0 = performance.now()
    for (const d of mnist.classNames!) await mkdir(join(folder, d), { recursive: true })
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < set.count) {
          const i = next++
          await sharp(imagePixels(set, i), { raw: { width: 28, height: 28, channels: 1 } })
            .toColorspace('b-w')
            .png()
            .toFile(join(folder, String(set.classes![i]), `${String(i).padStart(5, '0')}.png`))
        }
      })
    )
    const writeSeconds = seconds(t0)
    log(`wrote ${set.count} PNG files of 28x28 in ${r2(writeSeconds)} s`)

    const config = { ...DEFAULT_CONFIG, dataset: `folder:${folder}` }
    // 2. Cold: scan + decode (no dataset cache yet), then featurize (no features cache yet).
    t0 = performance.now()
    const cold = await prepare(config, { backend, cacheDir, onProgress: progress })
    const coldSeconds = seconds(t0)
    const count = cold.dataset.pool.count + (cold.dataset.test?.count ?? 0)
    disposePrepared(cold)
    // The two halves of the cold open, each measured alone with a fresh cache.
    t0 = performance.now()
    await loadDataset(config.dataset, { seed: config.seed, cacheDir: null })
    const decodeSeconds = seconds(t0)
    const decoded = await loadDataset(config.dataset, { seed: config.seed, cacheDir })
    t0 = performance.now()
    disposePrepared(await prepare(config, { backend, cacheDir: join(root, 'cache-featurize'), dataset: decoded }))
    const featurizeSeconds = seconds(t0)
    log(
      `cold open: ${count} images in ${r2(coldSeconds)} s (${Math.round(count / coldSeconds)} images/s); alone: scan + decode ${r2(decodeSeconds)} s (${Math.round(count / decodeSeconds)} images/s), featurize ${r2(featurizeSeconds)} s (${Math.round(count / featurizeSeconds)} images/s)`
    )

    // 3. Cached: the decoded folder and the features come from the caches.
    t0 = performance.now()
    const dataset = await loadDataset(config.dataset, { seed: config.seed, cacheDir })
    const datasetReopenSeconds = seconds(t0)
    t0 = performance.now()
    const warm = await prepare(config, { backend, cacheDir })
    const reopenSeconds = seconds(t0)
    const cached = warm.featuresCached
    disposePrepared(warm)
    log(`cached re-open: ${r2(reopenSeconds)} s (the dataset alone ${r2(datasetReopenSeconds)} s), features cached: ${cached}`)

    const result = {
      backend,
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
      images: count,
      skipped: dataset.skipped?.length ?? 0,
      pool: dataset.pool.count,
      test: dataset.test?.count ?? 0,
      writeSeconds: r2(writeSeconds),
      coldSeconds: r2(coldSeconds),
      coldImagesPerSec: Math.round(count / coldSeconds),
      scanDecodeSeconds: r2(decodeSeconds),
      scanDecodeImagesPerSec: Math.round(count / decodeSeconds),
      featurizeSeconds: r2(featurizeSeconds),
      featurizeImagesPerSec: Math.round(count / featurizeSeconds),
      reopenSeconds: r2(reopenSeconds),
      datasetReopenSeconds: r2(datasetReopenSeconds),
      reopenFeaturesCached: cached,
      threads: availableParallelism(),
      note: 'cold = scan + decode + featurize with empty caches; scanDecode and featurize are each timed alone; re-open = the same open with both caches filled'
    }
    console.log(a.json ? JSON.stringify(result) : JSON.stringify(result, null, 2))
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}
