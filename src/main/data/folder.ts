// A folder of PNG/JPEG images as a dataset. Subfolders of the root are ground-truth classes
// (used only for evaluation and simulated labelling); images directly in the root have no
// class. Files that cannot be used are skipped and listed, never fatal, unless nothing usable
// is left. Each file is decoded once for the model (on the featurizing threads, which featurize
// it there) and into a small thumbnail for display; the thumbnails are kept in the cache, not in
// memory, with an index keyed by the file list, so a second open only lists the folder and reads
// the index.
import { statSync } from 'node:fs'
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { openAtomic, writeFileAtomic } from '../files/safe'
import { createHash } from 'node:crypto'
import { extname, join, resolve } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { Progress, ProgressMeter } from '../../shared/progress'
import { defaultCacheDir } from './cache-dir'
import { DIGEST_BYTES, Dataset, FolderDecode, ImageSet, SkippedFile, hashImageSets, headOf, listSkipped } from './dataset'
import { DEFAULT_MAX_SIDE, IMAGE_EXTENSIONS, Resize, THUMB_SIDE, decodeImage, notAnImage } from './decode'
import { isInside, readHead } from '../files/read'
import { formatSpec } from './spec'
import { TEST_FRACTION, splitDataset } from './split'

export interface FolderOptions {
  /** Use only the first N pool / test images. */
  pool?: number
  test?: number
  /** Seed of the held-out split (default 1). */
  seed?: number
  /** Share of each class held out as the test split (default 0.2; 0: no test split). */
  testFraction?: number
  /** Longest side kept; larger images are downscaled (default 256). */
  maxSide?: number
  /** Bring every image to the base's input size instead (aspect kept: padded or centre-cropped). */
  resize?: Resize
  /** Cache folder (decoded images go to `<cacheDir>/datasets`); null: no cache. */
  cacheDir?: string | null
  /** Scanning and decoding progress, task 'scan' (at most every 100 ms, and once at the end). */
  onProgress?: (p: Progress) => void
  shouldStop?: () => boolean
  /** Images decoded at a time in this process (default 8), when no decoder is given. */
  concurrency?: number
  /** Decodes the files (default: in this process); the engine's decodes on its featurizing threads. */
  decoder?: FolderDecoder
}

/** An image file found by the scan. */
export interface FolderFile {
  /** Relative to the root, '/' separators. */
  path: string
  abs: string
  /** The first-level subfolder it is in, or null for files directly in the root. */
  folder: string | null
  size: number
  mtimeMs: number
}

export interface FolderScan {
  /** The root's real path. */
  root: string
  files: FolderFile[]
  skipped: SkippedFile[]
}

/** Files and folders a dataset scan looks at before it refuses (a link to / would be millions). */
export const MAX_FOLDER_ENTRIES = 500_000

const STAT_CHUNK = 2000

const cancelled = () => new CuratorError('CANCELLED', 'Opening the folder was cancelled')

/**
 * Lists the PNG/JPEG files under root (by extension), recursively, in name order. Hidden
 * entries (names starting with '.') are ignored. Symbolic links are followed only while they
 * stay inside the root, and a folder whose real path was already scanned is skipped (and
 * listed), so link loops end. More than `maxEntries` entries is an error, not a long scan.
 */
export async function scanFolder(rootPath: string, shouldStop?: () => boolean, maxEntries = MAX_FOLDER_ENTRIES): Promise<FolderScan> {
  const abs = resolve(rootPath)
  let info
  try {
    info = await stat(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'there is no such folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (err as Error).message
    throw new CuratorError('NOT_FOUND', `folder:${rootPath}: ${why}; folder:PATH takes a folder of PNG/JPEG images`)
  }
  if (!info.isDirectory())
    throw new CuratorError('BAD_ARGUMENT', `${rootPath} is not a folder; folder:PATH takes a folder of PNG/JPEG images`)
  const root = await realpath(abs)
  const visited = new Set<string>([root])
  const found: Omit<FolderFile, 'size' | 'mtimeMs'>[] = []
  const skipped: SkippedFile[] = []
  let entriesSeen = 0

  const walk = async (dir: string, prefix: string, folder: string | null): Promise<void> => {
    if (shouldStop?.()) throw cancelled()
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      skipped.push({ path: prefix || '.', reason: `cannot read the folder: ${(err as Error).message}` })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const dirs: { abs: string; rel: string; name: string; link: boolean }[] = []
    entriesSeen += entries.length
    if (entriesSeen > maxEntries) {
      throw new CuratorError(
        'BAD_DATA',
        `${rootPath} holds more than ${maxEntries.toLocaleString('en-US')} files and folders: choose a folder with only the dataset's images`
      )
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const path = join(dir, e.name)
      const rel = prefix ? `${prefix}/${e.name}` : e.name
      // Node decodes a name that is not UTF-8 with U+FFFD: that name no longer opens the file.
      if (e.name.includes('\uFFFD')) {
        skipped.push({ path: rel, reason: 'the file name is not valid UTF-8; rename it' })
        continue
      }
      let isDir = e.isDirectory()
      let isFile = e.isFile()
      if (e.isSymbolicLink()) {
        try {
          if (!isInside(root, await realpath(path))) {
            skipped.push({ path: rel, reason: 'a symbolic link out of the dataset folder (not followed)' })
            continue
          }
          const s = await stat(path)
          isDir = s.isDirectory()
          isFile = s.isFile()
        } catch {
          skipped.push({ path: rel, reason: 'broken symbolic link' })
          continue
        }
      }
      if (isDir) dirs.push({ abs: path, rel, name: e.name, link: e.isSymbolicLink() })
      else if (!isFile) skipped.push({ path: rel, reason: 'not a regular file (a FIFO, socket or device)' })
      else if (IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) found.push({ path: rel, abs: path, folder })
      else skipped.push({ path: rel, reason: `not a PNG or JPEG file (${extname(e.name) || 'no extension'})` })
    }
    // Real folders first: a link to a sibling folder is then the one skipped as a repeat.
    dirs.sort((a, b) => Number(a.link) - Number(b.link))
    for (const d of dirs) {
      let real: string
      try {
        real = await realpath(d.abs)
      } catch (err) {
        skipped.push({ path: d.rel, reason: `cannot resolve the folder: ${(err as Error).message}` })
        continue
      }
      if (visited.has(real)) {
        skipped.push({ path: d.rel, reason: 'a link to a folder already scanned (a symbolic link loop or a repeat)' })
        continue
      }
      visited.add(real)
      await walk(d.abs, d.rel, folder ?? d.name)
    }
  }
  await walk(root, '', null)

  // Stats one after another, synchronously, with a turn of the event loop every STAT_CHUNK files:
  // 20,000 files in about a third of the time the same stats take as promises (a cached re-open lists them all).
  const files: FolderFile[] = []
  for (let i = 0; i < found.length; i++) {
    if (i > 0 && i % STAT_CHUNK === 0) {
      await new Promise((r) => setImmediate(r))
      if (shouldStop?.()) throw cancelled()
    }
    const f = found[i]
    try {
      const s = statSync(f.abs)
      files.push({ ...f, size: s.size, mtimeMs: s.mtimeMs })
    } catch (err) {
      skipped.push({ path: f.path, reason: `cannot read: ${(err as Error).message}` })
    }
  }
  return { root, files, skipped }
}

export interface PlainImage {
  width: number
  height: number
  channels: number
  pixels: Uint8Array
}

/** One file decoded: what identifies it, its thumbnail and the model's input (each when asked); or why it is skipped. */
export type DecodedFile =
  { ok: true; digest: Uint8Array; downscaled: boolean; thumb?: PlainImage; input?: PlainImage } | { ok: false; reason: string }

/** Bump when decoding changes (color handling, resizing, thumbnails): old cache entries then miss. */
const DECODE_VERSION = 2

/**
 * Reads one image file and decodes it: the model's input (at the base's size, or at most maxSide)
 * decides whether the file is usable; the thumbnail is the image at its own size, at most
 * THUMB_SIDE a side. The digest names the file's bytes and how they are decoded for the model.
 */
export async function decodeFolderFile(abs: string, how: FolderDecode, want: { input?: boolean; thumb?: boolean }): Promise<DecodedFile> {
  let bytes: Buffer
  try {
    bytes = await readImageFile(abs)
  } catch (err) {
    return { ok: false, reason: err instanceof CuratorError ? err.message : `cannot read: ${(err as Error).message}` }
  }
  const input = await decodeImage(bytes, how.maxSide, how.resize, false, want.thumb ? THUMB_SIDE : undefined)
  if (!input.ok) return input
  // A copy of its own: it crosses threads, and a slice of a shared buffer would carry the whole buffer.
  const digest = Uint8Array.from(
    createHash('sha256')
      .update(`curator-image ${DECODE_VERSION} ${how.maxSide} ${JSON.stringify(how.resize)}\n`)
      .update(bytes)
      .digest()
      .subarray(0, DIGEST_BYTES)
  )
  let thumb: PlainImage | undefined
  if (want.thumb) {
    // An image already small enough and at its own size is its own thumbnail.
    const own = !input.downscaledFrom && !how.resize && Math.max(input.width, input.height) <= THUMB_SIDE
    const t = own ? input : input.thumb ? { ok: true as const, ...input.thumb } : await decodeImage(bytes, THUMB_SIDE, null, true)
    if (!t.ok) return t
    thumb = { width: t.width, height: t.height, channels: t.channels, pixels: t.pixels }
  }
  return {
    ok: true,
    digest,
    downscaled: input.downscaledFrom !== null,
    ...(thumb ? { thumb } : {}),
    ...(want.input ? { input: { width: input.width, height: input.height, channels: input.channels, pixels: input.pixels } } : {})
  }
}

/**
 * Decodes a folder's files with thumbnails, a batch per call and `parallel` calls at once: in
 * this process, or on the featurizing threads, which featurize the same images as they go.
 */
export interface FolderDecoder {
  batchSize(how: FolderDecode): number
  parallel: number
  decode(files: FolderFile[], how: FolderDecode): Promise<DecodedFile[]>
}

/** Decoding in this process (sharp runs on libuv's threads), `concurrency` files at a time. */
export const localDecoder = (concurrency = 8): FolderDecoder => ({
  batchSize: () => 1,
  parallel: concurrency,
  decode: (files, how) => Promise.all(files.map((f) => decodeFolderFile(f.abs, how, { thumb: true })))
})

/** A folder's decoded files, before classes and the split: what the cache holds. */
export interface FolderIndex {
  names: string[]
  folders: (string | null)[]
  /** The thumbnails' sizes and where each starts. */
  widths: number[]
  heights: number[]
  channels: number[]
  offsets: Float64Array
  digests: Uint8Array
  skipped: SkippedFile[]
  /** Images larger than maxSide, downscaled for the model. */
  downscaled: number
  /** The thumbnails: in a file of the cache, or (no cache) in memory. */
  thumbs: { file: string } | { pixels: Uint8Array }
}

/** Where thumbnails go as they are decoded: a file of the cache (streamed, atomic) or memory. */
interface ThumbSink {
  append(pixels: Uint8Array): Promise<void>
  finish(): Promise<FolderIndex['thumbs']>
  abort(): Promise<void>
}

async function thumbSink(file: string | null): Promise<ThumbSink> {
  if (file === null) {
    const parts: Uint8Array[] = []
    return {
      append: async (p) => void parts.push(p),
      finish: async () => ({ pixels: new Uint8Array(Buffer.concat(parts)) }),
      abort: async () => {}
    }
  }
  const out = await openAtomic(file)
  return {
    append: (p) => out.write(p),
    finish: async () => {
      await out.commit()
      return { file }
    },
    abort: () => out.abort()
  }
}

/**
 * Decodes every file in bounded batches. Results are taken in file order (a batch that finishes
 * early waits, and no more than 2 x parallel batches are ever in hand), so the thumbnail file is
 * the same bytes whichever thread finished first, and memory stays flat however large the folder.
 */
export async function indexFolder(
  scan: FolderScan,
  how: FolderDecode,
  opts: Pick<FolderOptions, 'onProgress' | 'shouldStop'> & { decoder: FolderDecoder; thumbFile: string | null }
): Promise<FolderIndex> {
  const { decoder } = opts
  const files = scan.files
  const batch = decoder.batchSize(how)
  const batches = Math.ceil(files.length / batch)
  const meter = new ProgressMeter('scan', files.length)
  const index: FolderIndex = {
    names: [],
    folders: [],
    widths: [],
    heights: [],
    channels: [],
    offsets: new Float64Array(0),
    digests: new Uint8Array(0),
    skipped: [],
    downscaled: 0,
    thumbs: { pixels: new Uint8Array(0) }
  }
  const offsets: number[] = []
  const digests: Uint8Array[] = []
  let thumbBytes = 0
  let done = 0
  let lastReport = 0
  const report = () => {
    const now = performance.now()
    if (done < files.length && now - lastReport < 100) return
    lastReport = now
    opts.onProgress?.(meter.at(done))
  }
  const sink = await thumbSink(opts.thumbFile)
  const ready = new Map<number, DecodedFile[]>()
  let taken = 0 // batches whose results are in the index
  let waiting: (() => void)[] = []
  const wake = () => {
    const w = waiting
    waiting = []
    for (const r of w) r()
  }
  const woken = () => new Promise<void>((r) => waiting.push(r))
  let writing = Promise.resolve()
  const take = async () => {
    for (let results = ready.get(taken); results; results = ready.get(taken)) {
      ready.delete(taken)
      const first = taken * batch
      for (const [k, r] of results.entries()) {
        const f = files[first + k]
        if (!r.ok) {
          index.skipped.push({ path: f.path, reason: r.reason })
          continue
        }
        const t = r.thumb!
        index.names.push(f.path)
        index.folders.push(f.folder)
        index.widths.push(t.width)
        index.heights.push(t.height)
        index.channels.push(t.channels)
        offsets.push(thumbBytes)
        digests.push(r.digest)
        if (r.downscaled) index.downscaled++
        thumbBytes += t.pixels.length
        await sink.append(t.pixels)
      }
      taken++
      wake()
    }
  }
  let next = 0
  let failed = false
  try {
    await Promise.all(
      Array.from({ length: Math.min(decoder.parallel, batches) }, async () => {
        while (!failed && next < batches) {
          if (opts.shouldStop?.()) throw cancelled()
          if (next - taken >= 2 * decoder.parallel) {
            await woken()
            continue
          }
          const b = next++
          try {
            const results = await decoder.decode(files.slice(b * batch, (b + 1) * batch), how)
            ready.set(b, results)
            done += results.length
            report()
            writing = writing.then(take)
            await writing
          } catch (err) {
            failed = true
            wake()
            throw err
          }
        }
      })
    )
    await writing
    index.thumbs = await sink.finish()
  } finally {
    await sink.abort()
  }
  index.offsets = Float64Array.from(offsets)
  index.digests = new Uint8Array(Buffer.concat(digests))
  return index
}

/**
 * A file's bytes, but only once its first bytes say PNG or JPEG and it is a regular file under
 * the size limit: a 1 GiB file named .png is refused after reading 8 bytes, not 1 GiB.
 */
async function readImageFile(abs: string): Promise<Buffer> {
  const { head, size } = readHead(abs, 8, 'the file')
  const problem = notAnImage(head, size)
  if (problem) throw new CuratorError('BAD_DATA', problem)
  const bytes = await readFile(abs)
  if (bytes.length !== size) throw new CuratorError('BAD_DATA', 'it changed while being read')
  return bytes
}

// ---- the decoded-folder cache ---------------------------------------------------------------

const CACHE_MAGIC = 'CURDIDX2'

/**
 * The index file of a scan (`.index`; its thumbnails beside it, `.thumbs`): keyed by the real root,
 * every file's path, size and mtime, and how the images are decoded for the model.
 */
export function folderCachePath(cacheDir: string, scan: FolderScan, maxSide: number, resize: Resize = null): string {
  const h = createHash('sha256')
  h.update(JSON.stringify({ v: DECODE_VERSION, root: scan.root, maxSide, ...(resize ? { resize } : {}) }))
  // One update of the whole listing (the same bytes as one per file, without 20,000 calls).
  h.update(scan.files.map((f) => `\n${f.path}\0${f.size}\0${f.mtimeMs}`).join(''))
  return join(cacheDir, 'datasets', `${h.digest('hex').slice(0, 32)}.index`)
}

const thumbsPathOf = (indexPath: string) => indexPath.replace(/\.index$/, '.thumbs')

/** The cached index, or null when there is none, or it or its thumbnails are damaged (it is then recomputed). */
export async function readFolderIndex(path: string): Promise<FolderIndex | null> {
  try {
    const buf = await readFile(path)
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== CACHE_MAGIC) return null
    const jsonLength = buf.readUInt32LE(8)
    if (12 + jsonLength > buf.length) return null
    const meta = JSON.parse(buf.toString('utf8', 12, 12 + jsonLength)) as Omit<FolderIndex, 'offsets' | 'digests' | 'thumbs'> & {
      thumbBytes: number
    }
    const n = meta.names.length
    if (![meta.folders, meta.widths, meta.heights, meta.channels].every((a) => Array.isArray(a) && a.length === n)) return null
    const at = 12 + jsonLength
    if (buf.length !== at + n * 8 + n * DIGEST_BYTES) return null
    const offsets = new Float64Array(n)
    new Uint8Array(offsets.buffer).set(buf.subarray(at, at + n * 8))
    let end = 0
    for (let i = 0; i < n; i++) end = Math.max(end, offsets[i] + meta.widths[i] * meta.heights[i] * meta.channels[i])
    const file = thumbsPathOf(path)
    if (end > meta.thumbBytes || (await stat(file)).size !== meta.thumbBytes) return null
    const { thumbBytes: _, ...rest } = meta
    return { ...rest, offsets, digests: new Uint8Array(buf.subarray(at + n * 8)), thumbs: { file } }
  } catch {
    return null
  }
}

/** Writes the index atomically (src/main/files/safe.ts), after its thumbnails. Failures are ignored: it is only a cache. */
async function writeFolderIndex(path: string, index: FolderIndex): Promise<void> {
  if (!('file' in index.thumbs)) return
  const { offsets, digests, thumbs, ...rest } = index
  const thumbBytes = (await stat(thumbs.file)).size
  const json = Buffer.from(JSON.stringify({ ...rest, thumbBytes }), 'utf8')
  const head = Buffer.alloc(12)
  head.write(CACHE_MAGIC, 0, 'latin1')
  head.writeUInt32LE(json.length, 8)
  await writeFileAtomic(path, [head, json, new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength), digests])
}

// ---- the dataset ----------------------------------------------------------------------------

/** Loads `folder:PATH` (path as given: it names the dataset). */
export async function loadFolderDataset(path: string, opts: FolderOptions = {}): Promise<Dataset> {
  const maxSide = opts.maxSide ?? DEFAULT_MAX_SIDE
  const scan = await scanFolder(path, opts.shouldStop)
  if (!scan.files.length) {
    if (!scan.skipped.length)
      throw new CuratorError(
        'BAD_DATA',
        `The folder ${path} is empty: put PNG or JPEG images in it (in one subfolder per class, if you know the classes)`
      )
    throw new CuratorError(
      'BAD_DATA',
      `No PNG or JPEG images in ${path}: ${scan.skipped.length} other file${scan.skipped.length === 1 ? '' : 's'} skipped (${listSkipped(scan.skipped, 3)})`
    )
  }
  const cacheDir = opts.cacheDir === null ? null : (opts.cacheDir ?? defaultCacheDir())
  const how: FolderDecode = { maxSide, resize: opts.resize ?? null }
  const cachePath = cacheDir ? folderCachePath(cacheDir, scan, maxSide, how.resize) : null
  let decoded = cachePath ? await readFolderIndex(cachePath) : null
  if (!decoded || decoded.names.length + decoded.skipped.length !== scan.files.length) {
    decoded = await indexFolder(scan, how, {
      decoder: opts.decoder ?? localDecoder(opts.concurrency),
      thumbFile: cachePath && thumbsPathOf(cachePath),
      onProgress: opts.onProgress,
      shouldStop: opts.shouldStop
    })
    if (cachePath) await writeFolderIndex(cachePath, decoded).catch(() => {})
  }
  const skipped = [...scan.skipped, ...decoded.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const n = decoded.names.length
  if (!n)
    throw new CuratorError(
      'BAD_DATA',
      `None of the ${scan.files.length} image files in ${path} could be read (${listSkipped(decoded.skipped, 3)})`
    )

  const folderNames = [...new Set(decoded.folders.filter((f): f is string => f !== null))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  if (folderNames.length === 1) {
    throw new CuratorError(
      'BAD_DATA',
      `All images of ${path} with a class are in one subfolder ("${folderNames[0]}"): ground truth needs at least two classes. ` +
        'Use one subfolder per class, or put the images directly in the folder for no ground truth.'
    )
  }
  const classIndex = new Map(folderNames.map((name, i) => [name, i]))
  const all: ImageSet = {
    count: n,
    pixels: 'pixels' in decoded.thumbs ? decoded.thumbs.pixels : new Uint8Array(0),
    offsets: decoded.offsets,
    widths: Uint16Array.from(decoded.widths),
    heights: Uint16Array.from(decoded.heights),
    channels: Uint8Array.from(decoded.channels),
    classes: folderNames.length ? Int32Array.from(decoded.folders, (f) => (f === null ? -1 : classIndex.get(f)!)) : null,
    names: decoded.names,
    digests: decoded.digests,
    ...('file' in decoded.thumbs ? { file: decoded.thumbs.file } : {})
  }
  const common = { classNames: folderNames.length ? folderNames : null, skipped, maxSide, folder: { root: scan.root, decode: how } }
  const testFraction = opts.testFraction ?? TEST_FRACTION
  if (all.classes && testFraction > 0) {
    const split = { testFraction, seed: opts.seed ?? 1 }
    return {
      id: formatSpec('folder', path, { maxSide, testFraction, splitSeed: split.seed }),
      ...common,
      ...splitDataset(all, opts, split)
    }
  }
  // No ground truth, or no test split asked for (testFraction=0, recorded so the id repeats it).
  const pool = opts.pool ? headOf(all, opts.pool) : all
  return {
    id: formatSpec('folder', path, all.classes ? { maxSide, testFraction } : { maxSide }),
    ...common,
    pool,
    test: null,
    hash: hashImageSets(pool)
  }
}
