// `curator bench-folder`: a folder written here (MNIST digits as 28x28 PNGs, or photo-sized
// JPEGs), opened cold (scan, decode, featurize: one pass on the featurizing threads) and again from
// the caches, each open in a child process of its own so its peak memory is its own; beside them
// the featurizer's own throughput for the same base (images already decoded, in memory).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONFIG, type SessionConfig } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { ProgressMeter } from '../../shared/progress'
import { headOf, imagePixels, pickImages, type ImageSet } from '../data/dataset'
import { decodeFolderFile, scanFolder, type PlainImage } from '../data/folder'
import { DEFAULT_MAX_SIDE } from '../data/decode'
import { loadMnist } from '../data/mnist'
import { Rng } from '../util/rng'
import { initBackend } from '../engine/backend'
import { defaultBaseDir, readBase } from '../engine/base'
import { featurizeInit, FeaturizePool, folderBatch } from '../engine/features'
import { defaultFeaturizer } from '../engine/featurizer'
import { splitPoint } from '../engine/transfer'
import { loadModel } from '../engine/model-io'
import { onnxUnsupported } from '../onnx/convert'
import { disposePrepared, prepare } from '../engine/setup'
import { simulate } from '../engine/simulate'
import { progressPrinter } from './output'

export interface BenchFolderArgs {
  /** MNIST digits written as 28x28 PNGs (the default), or ... */
  images?: number
  /** ... this many photo-sized JPEGs (640x480). */
  photos?: number
  /** The base to open the folder with (default: the digit CNN). */
  base?: string
  /** Where the folder and the caches go, kept for another run (default: a temp folder, removed). */
  dir?: string
  /** Iterations timed on the cached open (fit + score + evaluate + pick, batch 4; default 40). */
  iterations?: number
  json: boolean
  /** Internal: open this folder once and print what it took (the child process). */
  open?: string
  cache?: string
  /** With open: the head's rules version (default: the newest, TRUST_RULES). */
  rules?: number
  /** With open: write every iteration's record but its time here (two runs compare byte for byte). */
  records?: string
}

const r2 = (x: number) => Math.round(x * 100) / 100
const seconds = (t0: number) => (performance.now() - t0) / 1000
const PHOTO = { width: 640, height: 480 }
const PHOTO_CLASSES = ['disc', 'square']

export async function benchFolderCommand(a: BenchFolderArgs): Promise<void> {
  if (a.open) return openOnce(a)
  const photos = a.photos !== undefined
  const n = a.photos ?? a.images ?? 10000
  if (!Number.isInteger(n) || n < 10 || n > (photos ? 200_000 : 60_000))
    throw new CuratorError(
      'BAD_ARGUMENT',
      photos
        ? `--photos must be a whole number from 10 to 200000, got ${n}`
        : `--images must be a whole number from 10 to 60000 (MNIST's training set), got ${n}`
    )
  const log = (s: string) => !a.json && console.error(s)
  const backend = await initBackend()
  const root = a.dir ?? (await mkdtemp(join(tmpdir(), 'curator-bench-folder-')))
  const folder = join(root, photos ? `photos-${n}` : `digits-${n}`)
  const cacheDir = join(root, 'cache')
  try {
    // 1. The folder (kept in --dir: written once).
    const t0 = performance.now()
    const marker = join(folder, '.complete')
    if (!existsSync(marker)) {
      await rm(folder, { recursive: true, force: true })
      await (photos ? writePhotos(folder, n) : writeDigits(folder, n))
      await writeFile(marker, String(n))
    }
    const writeSeconds = seconds(t0)
    const bytes = folderBytes(folder)
    log(
      `${photos ? `${n} JPEGs of 640x480` : `${n} PNGs of 28x28`} in ${folder} (${Math.round(bytes / 2 ** 20)} MiB), written in ${r2(writeSeconds)} s`
    )

    // 2. The featurizer alone: images decoded here at the base's input, featurized from memory.
    const baseDir = a.base ?? defaultBaseDir()
    const alone = await featurizerAlone(backend, baseDir, folder, photos ? 512 : Math.min(n, 8192))
    log(`featurizer alone (${alone.engine}, ${alone.images} images in memory): ${alone.imagesPerSec} images/s`)

    // 3. Cold, then cached: each open in its own process.
    await rm(cacheDir, { recursive: true, force: true })
    const cold = await child(a, folder, cacheDir, baseDir, 0)
    log(
      `cold open: ${cold.images} images in ${r2(cold.seconds)} s (${Math.round(cold.images / cold.seconds)} images/s), peak RSS ${cold.maxRssMiB} MiB`
    )
    const cached = await child(a, folder, cacheDir, baseDir, a.iterations ?? 40)
    log(`cached re-open: ${r2(cached.seconds)} s, features cached: ${cached.featuresCached}, peak RSS ${cached.maxRssMiB} MiB`)
    const coldRate = cold.images / cold.seconds
    const result = {
      backend,
      machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
      folder: photos ? `${n} JPEGs of 640x480` : `${n} MNIST digits as 28x28 PNGs`,
      base: alone.base,
      images: cold.images,
      folderMiB: Math.round(bytes / 2 ** 20),
      writeSeconds: r2(writeSeconds),
      featurizer: alone,
      coldSeconds: r2(cold.seconds),
      coldImagesPerSec: Math.round(coldRate),
      coldVsFeaturizer: r2(coldRate / alone.imagesPerSec),
      coldPeakRssMiB: cold.maxRssMiB,
      reopenSeconds: r2(cached.seconds),
      reopenFeaturesCached: cached.featuresCached,
      reopenPeakRssMiB: cached.maxRssMiB,
      featureDim: cached.dim,
      iterationMs: cached.iterationMs,
      firstIterationMs: cached.firstIterationMs,
      cacheMiB: {
        thumbnails: Math.round(folderBytes(join(cacheDir, 'datasets')) / 2 ** 20),
        features: Math.round(folderBytes(join(cacheDir, 'features')) / 2 ** 20)
      },
      threads: availableParallelism(),
      note: 'cold = scan + decode + featurize with empty caches, in a fresh process; re-open = the same open with the caches filled; featurizer = the same base on images already decoded in memory; peak RSS of each open process, its threads included'
    }
    console.log(a.json ? JSON.stringify(result) : JSON.stringify(result, null, 2))
  } finally {
    if (!a.dir) await rm(root, { recursive: true, force: true })
  }
}

interface OpenResult {
  images: number
  seconds: number
  featuresCached: boolean
  maxRssMiB: number
  dim: number
  iterationMs: { p50: number; p95: number; max: number; count: number } | null
  /** The first iteration (the empty head, and the pool's regions: k-means at the features' width). */
  firstIterationMs: number | null
}

/** One open of the folder in a child process (this command with --open), for its own peak RSS. */
function child(a: BenchFolderArgs, folder: string, cacheDir: string, baseDir: string, iterations: number): Promise<OpenResult> {
  const args = [process.argv[1], 'bench-folder', '--open', folder, '--cache', cacheDir, '--base', baseDir]
  if (iterations) args.push('--iterations', String(iterations))
  const p = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', a.json ? 'ignore' : 'inherit'] })
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  return new Promise((resolve, reject) =>
    p.once('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? ''
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last))
      else reject(new CuratorError('INTERNAL', `The open in a child process failed (exit ${code}): ${out.slice(-500)}`))
    })
  )
}

/** The child: open the folder once as a session would, then time iterations on it. */
async function openOnce(a: BenchFolderArgs): Promise<void> {
  const backend = await initBackend()
  const classes = readdirSync(a.open!).filter((d) => !d.startsWith('.') && statSync(join(a.open!, d)).isDirectory())
  const config: SessionConfig = {
    ...DEFAULT_CONFIG,
    dataset: `folder:${a.open}`,
    strategy: 'uncertainty',
    task: classes.includes(PHOTO_CLASSES[1])
      ? {
          question: 'A square?',
          negative: { name: 'no', key: 'n' },
          positive: { name: 'yes', key: 'y' },
          positiveClasses: [PHOTO_CLASSES[1]]
        }
      : DEFAULT_CONFIG.task
  }
  const t0 = performance.now()
  const p = await prepare(config, {
    backend,
    cacheDir: a.cache,
    baseDir: a.base,
    trust: a.rules,
    onProgress: a.json ? undefined : progressPrinter()
  })
  const openSeconds = seconds(t0)
  const times: number[] = []
  const records: unknown[] = []
  if (a.iterations)
    await simulate(p, {
      strategy: 'uncertainty',
      batchSize: 4,
      budget: a.iterations * 4,
      onIteration: ({ iterationMs, ...rest }) => {
        times.push(iterationMs)
        if (a.records) records.push(rest)
      }
    })
  if (a.records) await writeFile(a.records, JSON.stringify(records))
  const result: OpenResult = {
    images: p.dataset.pool.count + (p.dataset.test?.count ?? 0),
    seconds: openSeconds,
    featuresCached: p.featuresCached,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    dim: p.poolFeatures.dim,
    iterationMs: times.length ? percentiles(times.slice(1)) : null, // the first fit is the empty head
    firstIterationMs: times.length ? r2(times[0]) : null
  }
  disposePrepared(p)
  console.log(JSON.stringify(result))
}

function percentiles(xs: number[]): { p50: number; p95: number; max: number; count: number } {
  const s = [...xs].sort((x, y) => x - y)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { p50: r2(at(0.5)), p95: r2(at(0.95)), max: r2(s[s.length - 1]), count: s.length }
}

/**
 * The featurizer's own throughput for this base: `count` files of the folder decoded here at the
 * base's input, then featurized from memory on every core, in the batches a folder open uses.
 */
async function featurizerAlone(backend: string, baseDir: string, folder: string, count: number) {
  const info = readBase(baseDir)
  const base = await loadModel(info.files)
  const { layers, splitIndex } = splitPoint(base, 0, info.featureLayer)
  base.dispose()
  const featurizer = onnxUnsupported(info.files, layers[splitIndex].name) ? 'tfjs' : defaultFeaturizer(backend)
  const how = {
    maxSide: DEFAULT_MAX_SIDE,
    resize: info.input.size && info.input.fit !== 'none' ? { size: info.input.size, fit: info.input.fit } : null
  }
  const files = (await scanFolder(folder)).files.slice(0, count)
  const images: PlainImage[] = []
  for (const f of files) {
    const d = await decodeFolderFile(f.abs, how, { input: true })
    if (d.ok) images.push(d.input!)
  }
  const sizes = new Set(images.map((im) => `${im.width}x${im.height}x${im.channels}`))
  if (sizes.size !== 1)
    throw new CuratorError('BAD_DATA', `bench-folder: the benchmark images decode to several sizes (${[...sizes].join(', ')})`)
  const set = uniform(images)
  // Threads started and warm (model loaded, one batch run) before the clock starts.
  const batch = folderBatch(how)
  const pool = new FeaturizePool(
    featurizeInit(info.files, 0, { backend, featurizer, cut: { featureLayer: info.featureLayer, input: info.input } }),
    undefined,
    1
  )
  try {
    const run = (start: number) =>
      pool.run({
        set: pickImages(
          set,
          Array.from({ length: Math.min(batch, set.count - start) }, (_, k) => start + k)
        )
      })
    await Promise.all(Array.from({ length: pool.threads }, () => run(0)))
    const t0 = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: pool.threads }, async () => {
        while (next < set.count) {
          const start = next
          next += batch
          await run(start)
        }
      })
    )
    const s = seconds(t0)
    return { base: info.id, engine: featurizer, images: set.count, seconds: r2(s), imagesPerSec: Math.round(set.count / s) }
  } finally {
    await pool.close()
  }
}

function uniform(images: PlainImage[]): ImageSet {
  const { width, height, channels } = images[0]
  const size = width * height * channels
  const pixels = new Uint8Array(images.length * size)
  images.forEach((im, k) => pixels.set(im.pixels, k * size))
  return {
    count: images.length,
    pixels,
    offsets: Float64Array.from(images, (_, k) => k * size),
    widths: new Uint16Array(images.length).fill(width),
    heights: new Uint16Array(images.length).fill(height),
    channels: new Uint8Array(images.length).fill(channels),
    classes: null
  }
}

/** The first n MNIST training images as 28x28 grey PNGs, one subfolder per digit. */
async function writeDigits(folder: string, n: number): Promise<void> {
  const { default: sharp } = await import('sharp')
  const mnist = loadMnist({ pool: n })
  const set = headOf(mnist.pool, n)
  for (const d of mnist.classNames!) await mkdir(join(folder, d), { recursive: true })
  await inParallel(set.count, 8, (i) =>
    sharp(imagePixels(set, i), { raw: { width: 28, height: 28, channels: 1 } })
      .toColorspace('b-w')
      .png()
      .toFile(join(folder, String(set.classes![i]), `${String(i).padStart(5, '0')}.png`))
      .then(() => {})
  )
}

/**
 * n seeded 640x480 color JPEGs (quality 85), half with a disc and half with a square of random
 * size, color and place on a random gradient with clutter, as camera photos are: large, smooth.
 */
export async function writePhotos(folder: string, n: number): Promise<void> {
  const { default: sharp } = await import('sharp')
  for (const c of PHOTO_CLASSES) await mkdir(join(folder, c), { recursive: true })
  // Sensor-like grain (one seeded pattern, overlaid), so the JPEGs weigh what photos weigh.
  const grainRng = new Rng(7)
  const grain = await sharp(
    Uint8Array.from({ length: PHOTO.width * PHOTO.height * 3 }, () => 128 + grainRng.int(64) - 32),
    {
      raw: { ...PHOTO, channels: 3 }
    }
  )
    .png()
    .toBuffer()
  const progress = progressPrinter()
  const meter = new ProgressMeter('write', n)
  let done = 0
  await inParallel(n, 4, async (i) => {
    const rng = new Rng(i + 1)
    const color = () => `rgb(${rng.int(256)},${rng.int(256)},${rng.int(256)})`
    const { width: w, height: h } = PHOTO
    const clutter = Array.from({ length: 6 }, () => {
      const x = rng.int(w)
      const y = rng.int(h)
      return `<ellipse cx="${x}" cy="${y}" rx="${10 + rng.int(60)}" ry="${10 + rng.int(40)}" fill="${color()}" fill-opacity="0.35"/>`
    }).join('')
    const cls = i % 2
    const r = 40 + rng.int(90)
    const cx = r + rng.int(w - 2 * r)
    const cy = r + rng.int(h - 2 * r)
    const object =
      cls === 0
        ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${color()}"/>`
        : `<rect x="${cx - r}" y="${cy - r}" width="${2 * r}" height="${2 * r}" fill="${color()}" transform="rotate(${rng.int(90)} ${cx} ${cy})"/>`
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${color()}"/><stop offset="1" stop-color="${color()}"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)"/>${clutter}${object}</svg>`
    await sharp(Buffer.from(svg))
      .composite([{ input: grain, blend: 'overlay' }])
      .jpeg({ quality: 85 })
      .toFile(join(folder, PHOTO_CLASSES[cls], `IMG_${String(i).padStart(6, '0')}.jpg`))
    progress(meter.at(++done))
  })
}

async function inParallel(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) await fn(next++)
    })
  )
}

function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) total += statSync(join(e.parentPath ?? (e as { path?: string }).path ?? dir, e.name)).size
  return total
}
