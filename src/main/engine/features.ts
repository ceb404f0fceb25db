// The frozen part never changes: compute its output for every image once, on every core,
// and keep it on disk keyed by (base hash, dataset hash, split point).
import { availableParallelism } from 'node:os'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { buf as crc32c } from 'crc-32/crc32c'
import { writeFileAtomic } from '../files/safe'
import { join } from 'node:path'
import type { Worker } from 'node:worker_threads'
import { DIGEST_BYTES, FolderDecode, ImageSet, checkImageSizes, groupBySize, imagePixels } from '../data/dataset'
import type { FolderDecoder } from '../data/folder'
import type { ModelFiles } from './model-io'
import { request, startWorker, stopWorker } from './threads'
import { defaultFeaturizer, FeaturizerName } from './featurizer'
import type { FeaturizeInit, FeaturizeJob, FeaturizeReply } from './featurize-worker'
import { Progress, ProgressMeter } from '../../shared/progress'
import { CuratorError } from '../../shared/errors'

export interface FeatureMatrix {
  count: number
  dim: number
  data: Float32Array
}

export interface FeaturizeOptions {
  backend: string
  /** The engine that runs the prefix (default: defaultFeaturizer(backend)). */
  featurizer?: FeaturizerName
  /** The featurizing threads run at a lower priority (a UI is waiting on this machine's cores). */
  background?: boolean
  /** Feature layer and input preprocessing of the base (default: the digit CNN's output, pixels 0..1). */
  cut?: BaseCut
  threads?: number
  jobSize?: number
  onProgress?: (p: Progress) => void
  shouldStop?: () => boolean
  task?: string
}

/** Runs the frozen prefix over a whole image set on a pool of threads, one wasm/TF instance each. */
export async function featurize(files: ModelFiles, unfreeze: number, set: ImageSet, opts: FeaturizeOptions): Promise<FeatureMatrix> {
  return (await featurizeAll(files, unfreeze, [set], opts))[0]
}

/** Which part of which base the threads run: the layer the head sits on and the input it takes. */
export type BaseCut = Pick<FeaturizeInit, 'featureLayer' | 'input'>

/** Several sets (pool and test) through one pool of threads: starting threads is not free. */
export async function featurizeAll(
  files: ModelFiles,
  unfreeze: number,
  sets: ImageSet[],
  opts: FeaturizeOptions
): Promise<FeatureMatrix[]> {
  sets.forEach((s, k) => checkImageSizes(s, `set ${k + 1}`))
  const jobSize = opts.jobSize ?? 256
  const out: (Float32Array | undefined)[] = sets.map(() => undefined)
  const jobs: Job[] = []
  sets.forEach((set, s) => {
    // A folder's pixels are thumbnails: its features come from its files (featurizeFolder).
    if (set.digests) throw new Error('featurizeAll: a folder set is featurized from its files')
    for (const group of groupBySize(set)) {
      for (let b = 0; b < group.length; b += jobSize) {
        const idx = group.subarray(b, b + jobSize)
        jobs.push({
          count: idx.length,
          images: () => subset(set, idx),
          place: (features, dim) => {
            const target = (out[s] ??= new Float32Array(set.count * dim))
            for (let k = 0; k < idx.length; k++) target.set(features.subarray(k * dim, (k + 1) * dim), idx[k] * dim)
          }
        })
      }
    }
  })
  const dim = await runJobs(files, unfreeze, jobs, opts)
  return sets.map((set, s) => ({ count: set.count, dim, data: out[s] ?? new Float32Array(0) }))
}

/**
 * `count` images made on demand, `make(start, n)` giving images start..start+n-1 (of one size):
 * only the features are held, so memory stays bounded for pools of any size.
 */
export async function featurizeGenerated(
  files: ModelFiles,
  unfreeze: number,
  count: number,
  make: (start: number, n: number) => ImageSet,
  opts: FeaturizeOptions
): Promise<FeatureMatrix> {
  const jobSize = opts.jobSize ?? 256
  let out: Float32Array | undefined
  const jobs: Job[] = []
  for (let start = 0; start < count; start += jobSize) {
    const n = Math.min(jobSize, count - start)
    jobs.push({
      count: n,
      images: () => make(start, n),
      place: (features, dim) => (out ??= new Float32Array(count * dim)).set(features, start * dim)
    })
  }
  const dim = await runJobs(files, unfreeze, jobs, opts)
  return { count, dim, data: out ?? new Float32Array(0) }
}

/** Images to run, made when a thread is free, and where their features go. */
interface Job {
  count: number
  images: () => ImageSet
  place: (features: Float32Array, dim: number) => void
}

/** Runs the jobs on a pool of featurizing threads; returns the feature dimension. */
async function runJobs(files: ModelFiles, unfreeze: number, jobs: Job[], opts: FeaturizeOptions): Promise<number> {
  const total = jobs.reduce((n, j) => n + j.count, 0)
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), Math.ceil(total / 64)))
  const meter = new ProgressMeter(opts.task ?? 'featurize', total)
  let dim = 0
  let done = 0
  let next = 0
  const pool = new FeaturizePool(featurizeInit(files, unfreeze, opts), threads, 1)
  try {
    await Promise.all(
      Array.from({ length: threads }, async () => {
        while (next < jobs.length) {
          if (opts.shouldStop?.()) throw new CuratorError('CANCELLED', 'Featurizing was cancelled')
          const job = jobs[next++]
          const { features } = await pool.run({ set: job.images() })
          dim ||= features!.length / job.count
          checkDim(features!.length, job.count, dim)
          job.place(features!, dim)
          done += job.count
          opts.onProgress?.(meter.at(done))
        }
      })
    )
  } finally {
    await pool.close()
  }
  return dim
}

function checkDim(length: number, count: number, dim: number): void {
  if (length !== count * dim)
    throw new CuratorError(
      'BAD_DATA',
      'Images of different sizes give features of different sizes at this split point; use --unfreeze 2 or less'
    )
}

export function featurizeInit(files: ModelFiles, unfreeze: number, opts: Omit<FeaturizeOptions, 'threads'>): FeaturizeInit {
  return {
    files,
    unfreeze,
    backend: opts.backend,
    featurizer: opts.featurizer ?? defaultFeaturizer(opts.backend),
    background: opts.background,
    ...opts.cut
  }
}

/**
 * Featurizing threads, started on first use. `run` posts a job to a thread with a free slot (or
 * waits for one). Two slots a thread let a thread decode its next images (sharp, off its JS
 * thread) while it runs the model on the current ones.
 */
export class FeaturizePool {
  private workers: Worker[] = []
  private free: Worker[] = []
  private waiting: ((w: Worker) => void)[] = []
  private closed = false

  constructor(
    readonly init: FeaturizeInit,
    readonly threads = availableParallelism(),
    readonly slots = 2
  ) {}

  async run(message: Omit<FeaturizeJob, 'job'>): Promise<FeaturizeReply> {
    if (this.closed) throw new Error('FeaturizePool: closed')
    if (!this.workers.length) {
      this.workers = Array.from({ length: this.threads }, () => startWorker('featurize-worker', this.init))
      for (let s = 0; s < this.slots; s++) this.free.push(...this.workers)
    }
    const w = this.free.shift() ?? (await new Promise<Worker>((r) => this.waiting.push(r)))
    try {
      return await post(w, message)
    } finally {
      const waiter = this.waiting.shift()
      if (waiter) waiter(w)
      else this.free.push(w)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    const workers = this.workers
    this.workers = []
    this.free = []
    await Promise.all(workers.map((w) => stopWorker(w)))
  }
}

let jobCounter = 0
async function post(w: Worker, message: Omit<FeaturizeJob, 'job'>): Promise<FeaturizeReply> {
  const job = jobCounter++
  const reply = await request<FeaturizeReply>(w, { ...message, job }, (m) => m.job === job)
  if (reply.error) throw new Error(`Featurizing failed: ${reply.error}`)
  return reply
}

/**
 * Images of a folder decoded and featurized in one call: enough to keep a thread busy, few enough
 * to keep memory flat. ONNX Runtime keeps the largest activations it has seen: a MobileNetV2 batch
 * of 21 at 224x224 holds 315 MB a thread, a batch of 5 about 40 MB, at the same speed an image.
 */
export function folderBatch(how: FolderDecode): number {
  const area = how.resize ? how.resize.size[0] * how.resize.size[1] : how.maxSide * how.maxSide
  return Math.max(4, Math.min(64, Math.round((1 << 18) / area)))
}

/**
 * The features of a folder's images as they are decoded for its index, captured by file key:
 * one decode of each file gives its thumbnail and its features.
 */
export class CapturedFeatures {
  private readonly chunks: Float32Array[] = []
  private readonly at = new Map<string, { chunk: number; row: number }>()
  dim = 0

  add(keys: string[], features: Float32Array): void {
    if (!keys.length) return
    this.dim ||= features.length / keys.length
    checkDim(features.length, keys.length, this.dim)
    const chunk = this.chunks.push(features) - 1
    keys.forEach((k, row) => this.at.set(k, { chunk, row }))
  }

  /** The features of these sets' images, or null when some were not captured. */
  take(sets: ImageSet[]): FeatureMatrix[] | null {
    if (!this.dim || !sets.every((s) => s.names?.every((k) => this.at.has(k)))) return null
    const dim = this.dim
    return sets.map((s) => {
      const data = new Float32Array(s.count * dim)
      s.names!.forEach((k, i) => {
        const { chunk, row } = this.at.get(k)!
        data.set(this.chunks[chunk].subarray(row * dim, (row + 1) * dim), i * dim)
      })
      return { count: s.count, dim, data }
    })
  }
}

/** The folder decoder of the featurizing threads: each batch comes back with thumbnails, and its features go to `capture`. */
export function folderDecoder(poolOf: () => FeaturizePool, capture: CapturedFeatures, onUse: () => void): FolderDecoder {
  return {
    batchSize: folderBatch,
    // The pool is asked for only when the folder is decoded (a cached open needs none).
    get parallel() {
      const pool = poolOf()
      return pool.threads * pool.slots
    },
    decode: async (files, decode) => {
      onUse()
      const { results, features } = await poolOf().run({ files: files.map((f) => f.abs), decode, thumbs: true })
      capture.add(
        files.filter((_, k) => results![k].ok).map((f) => f.path),
        features!
      )
      return results!
    }
  }
}

/**
 * Features of folder images from their files (the index was cached, the features were not):
 * decoded again for the model on the threads, in bounded batches. A file whose content no
 * longer matches its digest is an error: its features would not be the ones cached under it.
 */
export async function featurizeFolder(
  pool: FeaturizePool,
  folder: { root: string; decode: FolderDecode },
  sets: ImageSet[],
  opts: Pick<FeaturizeOptions, 'onProgress' | 'shouldStop' | 'task'>
): Promise<FeatureMatrix[]> {
  const batch = folderBatch(folder.decode)
  const total = sets.reduce((n, s) => n + s.count, 0)
  const meter = new ProgressMeter(opts.task ?? 'featurize', total)
  const jobs: { set: number; start: number; count: number }[] = []
  sets.forEach((s, k) => {
    for (let start = 0; start < s.count; start += batch) jobs.push({ set: k, start, count: Math.min(batch, s.count - start) })
  })
  const out: (Float32Array | undefined)[] = sets.map(() => undefined)
  let dim = 0
  let done = 0
  let next = 0
  await Promise.all(
    Array.from({ length: pool.threads * pool.slots }, async () => {
      while (next < jobs.length) {
        if (opts.shouldStop?.()) throw new CuratorError('CANCELLED', 'Featurizing was cancelled')
        const job = jobs[next++]
        const set = sets[job.set]
        const keys = set.names!.slice(job.start, job.start + job.count)
        const { results, features } = await pool.run({ files: keys.map((k) => join(folder.root, k)), decode: folder.decode, thumbs: false })
        results!.forEach((r, k) => {
          const i = job.start + k
          const expected = set.digests?.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES)
          if (!r.ok || (expected && !Buffer.from(r.digest).equals(expected)))
            throw new CuratorError(
              'BAD_DATA',
              `${keys[k]} changed while the folder was opened${r.ok ? '' : ` (${r.reason})`}: open it again`
            )
        })
        dim ||= features!.length / job.count
        checkDim(features!.length, job.count, dim)
        ;(out[job.set] ??= new Float32Array(set.count * dim)).set(features!, job.start * dim)
        done += job.count
        opts.onProgress?.(meter.at(done))
      }
    })
  )
  return sets.map((s, k) => ({ count: s.count, dim, data: out[k] ?? new Float32Array(0) }))
}

/** A compact copy of some images of a set, to post to a thread. */
function subset(set: ImageSet, idx: Int32Array): ImageSet {
  let size = 0
  for (const i of idx) size += set.widths[i] * set.heights[i] * set.channels[i]
  const pixels = new Uint8Array(size)
  const offsets = new Float64Array(idx.length)
  let o = 0
  idx.forEach((i, k) => {
    const p = imagePixels(set, i)
    pixels.set(p, o)
    offsets[k] = o
    o += p.length
  })
  const pick = <T extends Uint16Array | Uint8Array>(a: T) =>
    a.constructor === Uint16Array ? (Uint16Array.from(idx, (i) => a[i]) as T) : (Uint8Array.from(idx, (i) => a[i]) as T)
  return {
    count: idx.length,
    pixels,
    offsets,
    widths: pick(set.widths),
    heights: pick(set.heights),
    channels: pick(set.channels),
    classes: null
  }
}

// A 24-byte header: magic, count, dim, checksum of the rows, 4 reserved bytes; then float32 rows.
// CURFEAT3's checksum is zlib's CRC-32 (native: 98 MiB of a photo folder's features in ~20 ms,
// five times faster than the CRC32C in JavaScript that CURFEAT2, still read, has).
const MAGIC = 'CURFEAT3'
/** Each format's checksum of the rows, by stretches: the checksum of what came before goes in as `sum`. */
const CHECKSUMS: Record<string, (rows: Uint8Array, sum?: number) => number> = {
  CURFEAT3: (rows, sum = 0) => crc32(rows, sum),
  CURFEAT2: (rows, sum = 0) => crc32c(rows, sum) >>> 0
}
const HEADER = 24

export function featureCachePath(cacheDir: string, key: { baseHash: string; datasetHash: string; split: string; part: string }): string {
  return join(cacheDir, 'features', `${key.baseHash}-${key.datasetHash}-${key.split}-${key.part}.f32`)
}

/** The cached matrix, or null when it is missing, torn, damaged (checksum) or of another format. */
export async function readFeatureCache(path: string): Promise<FeatureMatrix | null> {
  const hit = await readFeatureCacheRows(path, null)
  return hit && { count: hit.count, dim: hit.dim, data: hit.parts[0].data }
}

/** Rows of the file read at a time when they are dealt out to parts (a few MiB). */
const STRETCH_BYTES = 4 << 20

/**
 * The cached matrix's rows dealt out to `parts` (each a list of row numbers, no row in two
 * places; null: the whole matrix as one part), with the file's row count and width; null as readFeatureCache. Read in
 * stretches straight into the parts' matrices and checked as they come: no matrix of the whole
 * file (~100 MiB for 20,000 photos) is made and then copied.
 */
export async function readFeatureCacheRows(
  path: string,
  parts: ArrayLike<number>[] | null
): Promise<{ count: number; dim: number; parts: FeatureMatrix[] } | null> {
  try {
    const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
    try {
      const info = await fh.stat()
      const size = info.size
      if (!info.isFile() || size < HEADER) return null
      const header = Buffer.alloc(HEADER)
      if ((await fh.read(header, 0, HEADER, 0)).bytesRead !== HEADER) return null
      const checksum = CHECKSUMS[header.toString('latin1', 0, 8)]
      const count = header.readUInt32LE(8)
      const dim = header.readUInt32LE(12)
      if (!checksum || size !== HEADER + count * dim * 4) return null // another format, or a torn write: recompute
      const readAt = async (into: Uint8Array, from: number): Promise<boolean> => {
        for (let at = 0; at < into.length;) {
          const { bytesRead } = await fh.read(into, at, into.length - at, HEADER + from + at)
          if (bytesRead === 0) return false
          at += bytesRead
        }
        return true
      }
      if (!parts) {
        const data = new Float32Array(count * dim)
        const rows = new Uint8Array(data.buffer)
        if (!(await readAt(rows, 0)) || checksum(rows) !== header.readUInt32LE(16)) return null // damaged: recompute
        return { count, dim, parts: [{ count, dim, data }] }
      }
      const partOf = new Int32Array(count).fill(-1)
      const place = new Int32Array(count)
      for (const [p, rows] of parts.entries())
        for (let k = 0; k < rows.length; k++) {
          if (!(rows[k] >= 0 && rows[k] < count)) return null
          if (partOf[rows[k]] >= 0) throw new RangeError(`readFeatureCacheRows: row ${rows[k]} asked for twice`)
          partOf[rows[k]] = p
          place[rows[k]] = k
        }
      const out = parts.map((rows) => ({ count: rows.length, dim, data: new Float32Array(rows.length * dim) }))
      const rowBytes = dim * 4
      const per = Math.max(1, Math.floor(STRETCH_BYTES / Math.max(1, rowBytes)))
      const stretch = new Float32Array(Math.min(count, per) * dim)
      let sum = 0
      for (let first = 0; first < count; first += per) {
        const n = Math.min(per, count - first)
        const bytes = new Uint8Array(stretch.buffer, 0, n * rowBytes)
        if (!(await readAt(bytes, first * rowBytes))) return null
        sum = checksum(bytes, sum)
        for (let r = 0; r < n; r++) {
          const p = partOf[first + r]
          if (p >= 0) out[p].data.set(stretch.subarray(r * dim, (r + 1) * dim), place[first + r] * dim)
        }
      }
      if (sum !== header.readUInt32LE(16)) return null // damaged: recompute
      return { count, dim, parts: out }
    } finally {
      await fh.close()
    }
  } catch (err) {
    if (err instanceof RangeError) throw err
    return null
  }
}

export async function writeFeatureCache(path: string, m: FeatureMatrix): Promise<void> {
  const rows = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)
  const header = Buffer.alloc(HEADER)
  header.write(MAGIC, 0, 'latin1')
  header.writeUInt32LE(m.count, 8)
  header.writeUInt32LE(m.dim, 12)
  header.writeUInt32LE(CHECKSUMS[MAGIC](rows), 16)
  await writeFileAtomic(path, [header, rows])
}

export type CacheKey = { baseHash: string; datasetHash: string; split: string }

/**
 * Features of several parts (pool, test) from the cache; a missing part is taken from `shipped`
 * (features shipped with the base) when it has them, else the missing ones are computed together.
 * Either way they are written to the cache.
 */
export async function cachedFeatures(
  cacheDir: string,
  key: CacheKey,
  parts: Record<string, ImageSet>,
  compute: (sets: ImageSet[]) => Promise<FeatureMatrix[]>,
  shipped?: (part: string) => Promise<FeatureMatrix | null>,
  /** The feature dimension the split layer gives, when fixed: an entry of another dimension is rebuilt. */
  dim?: number
): Promise<{ features: Record<string, FeatureMatrix>; cached: boolean }> {
  const features: Record<string, FeatureMatrix> = {}
  const missing: string[] = []
  for (const part of Object.keys(parts)) {
    const path = featureCachePath(cacheDir, { ...key, part })
    const hit = await readFeatureCache(path)
    const fits = (m: FeatureMatrix | null | undefined): m is FeatureMatrix =>
      !!m && m.count === parts[part].count && (dim === undefined || m.dim === dim)
    if (fits(hit)) features[part] = hit
    else {
      const ship = await shipped?.(part)
      if (fits(ship)) {
        features[part] = ship
        await writeFeatureCache(path, ship)
      } else missing.push(part)
    }
  }
  if (missing.length) {
    const computed = await compute(missing.map((p) => parts[p]))
    for (const [k, part] of missing.entries()) {
      features[part] = computed[k]
      await writeFeatureCache(featureCachePath(cacheDir, { ...key, part }), computed[k])
    }
  }
  return { features, cached: missing.length === 0 }
}
