// A folder of PNG/JPEG images as a dataset. Subfolders of the root are ground-truth classes
// (used only for evaluation and simulated labelling); images directly in the root have no
// class. Files that cannot be used are skipped and listed, never fatal, unless nothing usable
// is left. The decoded images are cached, keyed by the file list, so a second open only
// lists the folder and reads one file.
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises'
import { writeFileAtomic } from '../files/safe'
import { createHash } from 'node:crypto'
import { extname, join, resolve } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { Progress, ProgressMeter } from '../../shared/progress'
import { defaultCacheDir } from './cache-dir'
import { Dataset, ImageSet, SkippedFile, hashImageSets, headOf } from './dataset'
import { DEFAULT_MAX_SIDE, IMAGE_EXTENSIONS, Resize, decodeImage, notAnImage } from './decode'
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
  /** Images decoded at a time (default 8). */
  concurrency?: number
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

  const files: FolderFile[] = []
  await forEachLimit(found, 32, async (f) => {
    try {
      const s = await stat(f.abs)
      files.push({ ...f, size: s.size, mtimeMs: s.mtimeMs })
    } catch (err) {
      skipped.push({ path: f.path, reason: `cannot read: ${(err as Error).message}` })
    }
  })
  const order = new Map(found.map((f, i) => [f.path, i]))
  files.sort((a, b) => order.get(a.path)! - order.get(b.path)!)
  return { root, files, skipped }
}

/** The decoded images of a folder, before classes and the split: what the cache holds. */
export interface DecodedFolder {
  names: string[]
  folders: (string | null)[]
  widths: number[]
  heights: number[]
  channels: number[]
  pixels: Uint8Array
  skipped: SkippedFile[]
  /** Images that were larger than maxSide and were downscaled. */
  downscaled: number
}

/** Reads and decodes every file, `concurrency` at a time; unreadable ones are skipped and listed. */
export async function decodeFolder(
  scan: FolderScan,
  maxSide: number,
  opts: Pick<FolderOptions, 'onProgress' | 'shouldStop' | 'concurrency' | 'resize'> = {}
): Promise<DecodedFolder> {
  const n = scan.files.length
  const results: ({ width: number; height: number; channels: number; pixels: Uint8Array } | { reason: string })[] = new Array(n)
  const meter = new ProgressMeter('scan', n)
  let done = 0
  let lastReport = 0
  let downscaled = 0
  const report = () => {
    const now = performance.now()
    if (done < n && now - lastReport < 100) return
    lastReport = now
    opts.onProgress?.(meter.at(done))
  }
  await forEachLimit(
    scan.files.map((f, i) => ({ f, i })),
    opts.concurrency ?? 8,
    async ({ f, i }) => {
      if (opts.shouldStop?.()) throw cancelled()
      let bytes: Buffer | null = null
      try {
        bytes = await readImageFile(f.abs)
      } catch (err) {
        results[i] = { reason: err instanceof CuratorError ? err.message : `cannot read: ${(err as Error).message}` }
      }
      if (bytes) {
        const d = await decodeImage(bytes, maxSide, opts.resize ?? null)
        if (d.ok && d.downscaledFrom) downscaled++
        results[i] = d.ok ? d : { reason: d.reason }
      }
      done++
      report()
    }
  )
  const out: DecodedFolder = {
    names: [],
    folders: [],
    widths: [],
    heights: [],
    channels: [],
    pixels: new Uint8Array(0),
    skipped: [],
    downscaled
  }
  let total = 0
  const kept: Uint8Array[] = []
  results.forEach((r, i) => {
    const f = scan.files[i]
    if ('reason' in r) {
      out.skipped.push({ path: f.path, reason: r.reason })
      return
    }
    out.names.push(f.path)
    out.folders.push(f.folder)
    out.widths.push(r.width)
    out.heights.push(r.height)
    out.channels.push(r.channels)
    kept.push(r.pixels)
    total += r.pixels.length
  })
  out.pixels = new Uint8Array(total)
  let o = 0
  for (const p of kept) {
    out.pixels.set(p, o)
    o += p.length
  }
  return out
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

const CACHE_MAGIC = 'CURDSET1'
/** Bump when decoding changes (color handling, resizing): old entries then miss. */
const DECODE_VERSION = 1

/** The cache file of a scan: keyed by the real root, every file's path, size and mtime, and maxSide. */
export function folderCachePath(cacheDir: string, scan: FolderScan, maxSide: number, resize: Resize = null): string {
  const h = createHash('sha256')
  h.update(JSON.stringify({ v: DECODE_VERSION, root: scan.root, maxSide, ...(resize ? { resize } : {}) }))
  for (const f of scan.files) h.update(`\n${f.path}\0${f.size}\0${f.mtimeMs}`)
  return join(cacheDir, 'datasets', `${h.digest('hex').slice(0, 32)}.bin`)
}

/** The cached decode, or null when there is none or it is damaged (it is then recomputed). */
export async function readFolderCache(path: string): Promise<DecodedFolder | null> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch {
    return null
  }
  try {
    const size = (await fh.stat()).size
    const head = Buffer.alloc(12)
    if (size < 12 || (await fh.read(head, 0, 12, 0)).bytesRead !== 12 || head.toString('latin1', 0, 8) !== CACHE_MAGIC) return null
    const jsonLength = head.readUInt32LE(8)
    if (12 + jsonLength > size) return null
    const json = Buffer.alloc(jsonLength)
    if ((await fh.read(json, 0, jsonLength, 12)).bytesRead !== jsonLength) return null
    const meta = JSON.parse(json.toString('utf8')) as Omit<DecodedFolder, 'pixels'> & { pixelBytes: number }
    const n = meta.names.length
    if (![meta.folders, meta.widths, meta.heights, meta.channels].every((a) => Array.isArray(a) && a.length === n)) return null
    let expected = 0
    for (let i = 0; i < n; i++) expected += meta.widths[i] * meta.heights[i] * meta.channels[i]
    if (expected !== meta.pixelBytes || size !== 12 + jsonLength + expected) return null
    const pixels = new Uint8Array(expected)
    let o = 0
    while (o < expected) {
      const { bytesRead } = await fh.read(pixels, o, Math.min(expected - o, 1 << 30), 12 + jsonLength + o)
      if (bytesRead === 0) return null
      o += bytesRead
    }
    return {
      names: meta.names,
      folders: meta.folders,
      widths: meta.widths,
      heights: meta.heights,
      channels: meta.channels,
      skipped: meta.skipped,
      downscaled: meta.downscaled,
      pixels
    }
  } catch {
    return null
  } finally {
    await fh.close()
  }
}

/** Writes the cache entry atomically (src/main/files/safe.ts). Failures are ignored: it is only a cache. */
export async function writeFolderCache(path: string, d: DecodedFolder): Promise<void> {
  const { pixels, ...rest } = d
  const json = Buffer.from(JSON.stringify({ ...rest, pixelBytes: pixels.length }), 'utf8')
  const head = Buffer.alloc(12)
  head.write(CACHE_MAGIC, 0, 'latin1')
  head.writeUInt32LE(json.length, 8)
  await writeFileAtomic(path, [head, json, pixels]).catch(() => {})
}

// ---- the dataset ----------------------------------------------------------------------------

const listReasons = (skipped: SkippedFile[], max = 3) =>
  skipped
    .slice(0, max)
    .map((s) => `${s.path}: ${s.reason}`)
    .join('; ') + (skipped.length > max ? `; and ${skipped.length - max} more` : '')

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
      `No PNG or JPEG images in ${path}: ${scan.skipped.length} other file${scan.skipped.length === 1 ? '' : 's'} skipped (${listReasons(scan.skipped)})`
    )
  }
  const cacheDir = opts.cacheDir === null ? null : (opts.cacheDir ?? defaultCacheDir())
  const cachePath = cacheDir ? folderCachePath(cacheDir, scan, maxSide, opts.resize) : null
  let decoded = cachePath ? await readFolderCache(cachePath) : null
  if (!decoded || decoded.names.length + decoded.skipped.length !== scan.files.length) {
    decoded = await decodeFolder(scan, maxSide, opts)
    if (cachePath) await writeFolderCache(cachePath, decoded)
  }
  const skipped = [...scan.skipped, ...decoded.skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const n = decoded.names.length
  if (!n)
    throw new CuratorError(
      'BAD_DATA',
      `None of the ${scan.files.length} image files in ${path} could be read (${listReasons(decoded.skipped)})`
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
  const offsets = new Float64Array(n)
  for (let i = 1; i < n; i++) offsets[i] = offsets[i - 1] + decoded.widths[i - 1] * decoded.heights[i - 1] * decoded.channels[i - 1]
  const all: ImageSet = {
    count: n,
    pixels: decoded.pixels,
    offsets,
    widths: Uint16Array.from(decoded.widths),
    heights: Uint16Array.from(decoded.heights),
    channels: Uint8Array.from(decoded.channels),
    classes: folderNames.length ? Int32Array.from(decoded.folders, (f) => (f === null ? -1 : classIndex.get(f)!)) : null,
    names: decoded.names
  }
  const common = { classNames: folderNames.length ? folderNames : null, skipped, maxSide }
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

/** Runs fn over items with at most `limit` running at once; the first error stops the rest. */
async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (!failed && next < items.length) {
        try {
          await fn(items[next++])
        } catch (err) {
          failed = true
          throw err
        }
      }
    })
  )
}
