// The in-memory form of every dataset: images of any size, grey or RGB, with optional ground truth.
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import type { InputFit, InputSpec } from '../../shared/base-spec'
import { CuratorError } from '../../shared/errors'

/** Six valid 3x3 convolutions and a 2x2 pool need at least 20 pixels a side. */
export const MIN_SIDE = 20

export interface ImageSet {
  count: number
  /** All pixels, image after image, row-major, channels interleaved (empty when they are in `file`). */
  pixels: Uint8Array
  /** Where each image's pixels start, in `pixels` or in `file`. */
  offsets: Float64Array
  widths: Uint16Array
  heights: Uint16Array
  /** 1 (grey) or 3 (RGB). */
  channels: Uint8Array
  /** Ground-truth class index per image, or -1 where unknown; null when the set has none. */
  classes: Int32Array | null
  /** Folder datasets: each image's key, its path relative to the dataset folder ('/' separators). */
  names?: string[]
  /**
   * Folder datasets: the pixels are thumbnails for display, kept in this file (the folder's
   * cache) rather than in memory; the model's input is decoded from the image files themselves.
   */
  file?: string
  /**
   * Folder datasets: DIGEST_BYTES per image naming its file's content and how it is decoded for the
   * model. The set's hash is made from these, not from the (thumbnail) pixels.
   */
  digests?: Uint8Array
}

export const DIGEST_BYTES = 16

/** How a folder's images are decoded for the model: scaled down to maxSide, or brought to the base's input size (see InputFit). */
export interface FolderDecode {
  maxSide: number
  resize: { size: [number, number]; fit: Exclude<InputFit, 'none'> } | null
}

/** A file of a folder dataset that was not used, and why. */
export interface SkippedFile {
  /** Relative to the dataset folder, with '/' separators. */
  path: string
  reason: string
}

/** The first `max` skipped files with their reasons, and how many more: the one wording every message uses. */
export const listSkipped = (skipped: SkippedFile[], max = 5): string =>
  skipped
    .slice(0, max)
    .map((f) => `${f.path}: ${f.reason}`)
    .join('; ') + (skipped.length > max ? `; and ${skipped.length - max} more` : '')

export interface Dataset {
  /** 'mnist', 'idx:PATH' or 'folder:PATH', with the options that shaped the data
   *  (e.g. 'folder:PATH?maxSide=256&testFraction=0.2&splitSeed=1'); loadDataset(id) gives the same data. */
  id: string
  hash: string
  classNames: string[] | null
  pool: ImageSet
  test: ImageSet | null
  /** Folder datasets: files that were not used (not images, corrupt, too small, symlink loops). */
  skipped?: SkippedFile[]
  /** Folder datasets: images whose longer side exceeded this were downscaled to it. */
  maxSide?: number
  /** When the test split was drawn from the ground truth: the fraction of each class held out and the seed. */
  split?: { testFraction: number; seed: number }
  /**
   * When the test split was drawn here and no pool/test limits apply: the pool and the test split
   * are rows `pool` and `test` of one set of `count` images with this hash. Features are cached
   * for that whole set, so another split seed reuses them.
   */
  source?: { count: number; hash: string; pool: Int32Array; test: Int32Array }
  /** Folder datasets: the folder's real path (image keys are relative to it) and how its images are decoded for the model. */
  folder?: { root: string; decode: FolderDecode }
}

export function uniformImageSet(
  count: number,
  height: number,
  width: number,
  channels: number,
  pixels: Uint8Array,
  classes: Int32Array | null
): ImageSet {
  const size = height * width * channels
  return {
    count,
    pixels,
    offsets: Float64Array.from({ length: count }, (_, i) => i * size),
    widths: new Uint16Array(count).fill(width),
    heights: new Uint16Array(count).fill(height),
    channels: new Uint8Array(count).fill(channels),
    classes
  }
}

/** An image's file key (its path in the dataset folder), or undefined for datasets without files. */
export const imageKey = (set: ImageSet, i: number): string | undefined => set.names?.[i]

/** The pixels of one image: without copying, or read from the set's file. */
export function imagePixels(set: ImageSet, i: number): Uint8Array {
  const size = set.widths[i] * set.heights[i] * set.channels[i]
  if (set.file === undefined) return set.pixels.subarray(set.offsets[i], set.offsets[i] + size)
  const out = new Uint8Array(size)
  let fd: number
  try {
    fd = openSync(set.file, 'r')
  } catch (err) {
    throw new CuratorError('NOT_FOUND', `The thumbnails of this folder are gone from the cache (${set.file}): open the session again`, {
      path: set.file,
      reason: (err as Error).message
    })
  }
  try {
    for (let o = 0; o < size;) {
      const n = readSync(fd, out, o, size - o, set.offsets[i] + o)
      if (n === 0) throw new CuratorError('BAD_DATA', `The thumbnail cache ${set.file} is cut short: open the session again`)
      o += n
    }
  } finally {
    closeSync(fd)
  }
  return out
}

/** One image as it crosses to the renderer: its size and its pixels in base64. */
export function encodeImage(set: ImageSet, i: number): { width: number; height: number; channels: number; pixelsBase64: string } {
  return {
    width: set.widths[i],
    height: set.heights[i],
    channels: set.channels[i],
    pixelsBase64: Buffer.from(imagePixels(set, i)).toString('base64')
  }
}

/** Refuses images the base network cannot take (it would fail deep inside the backend). */
export function checkImageSizes(set: ImageSet, what: string): void {
  for (let i = 0; i < set.count; i++) {
    if (set.heights[i] < MIN_SIDE || set.widths[i] < MIN_SIDE) {
      throw new CuratorError(
        'BAD_DATA',
        `${what}: image ${set.names?.[i] ?? i} is ${set.widths[i]}x${set.heights[i]}; the base network needs at least ${MIN_SIDE}x${MIN_SIDE}`
      )
    }
  }
}

/** Image indices grouped by size (width x height), in index order, so each batch has one shape. */
export function groupBySize(set: ImageSet, indices?: ArrayLike<number>): Int32Array[] {
  const groups = new Map<number, number[]>()
  const n = indices ? indices.length : set.count
  for (let k = 0; k < n; k++) {
    const i = indices ? indices[k] : k
    const key = set.heights[i] * 65536 + set.widths[i]
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(i)
  }
  return [...groups.values()].map((g) => Int32Array.from(g))
}

/** The digit CNN's preprocessing: RGB (grey repeated), pixels scaled to 0..1. */
export const UNIT_RANGE: Pick<InputSpec, 'channels' | 'range' | 'mean' | 'std'> = { channels: 3, range: [0, 1], mean: [0], std: [1] }

/**
 * The base's input for some images of one size: pixel values mapped onto the base's range and
 * normalised, grey repeated into RGB (or color turned grey, for a one-channel base).
 */
export function toInputBuffer(
  set: ImageSet,
  indices: ArrayLike<number>,
  spec: Pick<InputSpec, 'channels' | 'range' | 'mean' | 'std'> = UNIT_RANGE
): { data: Float32Array; height: number; width: number; channels: number } {
  const height = set.heights[indices[0]]
  const width = set.widths[indices[0]]
  for (let k = 1; k < indices.length; k++) {
    if (set.heights[indices[k]] !== height || set.widths[indices[k]] !== width)
      throw new Error('toInputBuffer: a batch must hold images of one size')
  }
  const plane = height * width
  const out = spec.channels
  // x -> (lo + (x / 255) (hi - lo) - mean) / std, in this order: the digit base's x / 255 stays exact.
  const [lo, hi] = spec.range
  const mean = Array.from({ length: out }, (_, c) => spec.mean[c] ?? spec.mean[0])
  const std = Array.from({ length: out }, (_, c) => spec.std[c] ?? spec.std[0])
  const value = (x: number, c: number) => ((x / 255) * (hi - lo) + lo - mean[c]) / std[c]
  // Whole pixel values through a table per channel: the same numbers, without the arithmetic per pixel.
  const table = Float32Array.from({ length: 256 * out }, (_, t) => value(t % 256, Math.floor(t / 256)))
  const [t0, t1, t2] = [0, 256, 512].map((o) => table.subarray(o, o + 256))
  const data = new Float32Array(indices.length * plane * out)
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]
    const src = imagePixels(set, i)
    const dst = k * plane * out
    const grey = set.channels[i] === 1
    if (out === 1) {
      for (let p = 0; p < plane; p++)
        data[dst + p] = grey ? t0[src[p]] : value(0.299 * src[3 * p] + 0.587 * src[3 * p + 1] + 0.114 * src[3 * p + 2], 0)
    } else if (grey) {
      for (let p = 0, o = dst; p < plane; p++, o += 3) {
        const x = src[p]
        data[o] = t0[x]
        data[o + 1] = t1[x]
        data[o + 2] = t2[x]
      }
    } else {
      for (let p = 0, o = dst; p < 3 * plane; p += 3, o += 3) {
        data[o] = t0[src[p]]
        data[o + 1] = t1[src[p + 1]]
        data[o + 2] = t2[src[p + 2]]
      }
    }
  }
  return { data, height, width, channels: out }
}

export function hashImageSets(...sets: (ImageSet | null)[]): string {
  const h = createHash('sha256')
  for (const s of sets) {
    if (!s) continue
    h.update(`${s.count};`)
    h.update(new Uint8Array(s.widths.buffer, s.widths.byteOffset, s.widths.byteLength))
    h.update(new Uint8Array(s.heights.buffer, s.heights.byteOffset, s.heights.byteLength))
    h.update(s.channels)
    h.update(s.digests ?? s.pixels)
    if (s.classes) h.update(new Uint8Array(s.classes.buffer, s.classes.byteOffset, s.classes.byteLength))
  }
  return h.digest('hex').slice(0, 16)
}

/** The first n images of a set (a subset for tests and quick runs). */
export function headOf(set: ImageSet, n: number): ImageSet {
  const count = Math.min(n, set.count)
  const end = count === set.count || set.file !== undefined ? set.pixels.length : set.offsets[count]
  return {
    ...set,
    count,
    pixels: set.pixels.subarray(0, end),
    offsets: set.offsets.subarray(0, count),
    widths: set.widths.subarray(0, count),
    heights: set.heights.subarray(0, count),
    channels: set.channels.subarray(0, count),
    classes: set.classes ? set.classes.subarray(0, count) : null,
    names: set.names?.slice(0, count),
    digests: set.digests?.subarray(0, count * DIGEST_BYTES)
  }
}

/** A compact copy of some images of a set, in the order given (pixels kept in a file stay there). */
export function pickImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const n = indices.length
  const inFile = set.file !== undefined
  let size = 0
  for (let k = 0; k < n && !inFile; k++) {
    const i = indices[k]
    size += set.widths[i] * set.heights[i] * set.channels[i]
  }
  const pixels = new Uint8Array(size)
  const offsets = new Float64Array(n)
  const widths = new Uint16Array(n)
  const heights = new Uint16Array(n)
  const channels = new Uint8Array(n)
  let o = 0
  for (let k = 0; k < n; k++) {
    const i = indices[k]
    if (inFile) offsets[k] = set.offsets[i]
    else {
      const p = imagePixels(set, i)
      pixels.set(p, o)
      offsets[k] = o
      o += p.length
    }
    widths[k] = set.widths[i]
    heights[k] = set.heights[i]
    channels[k] = set.channels[i]
  }
  return {
    count: n,
    pixels,
    offsets,
    widths,
    heights,
    channels,
    classes: set.classes ? Int32Array.from({ length: n }, (_, k) => set.classes![indices[k]]) : null,
    names: set.names ? Array.from({ length: n }, (_, k) => set.names![indices[k]]) : undefined,
    ...(inFile ? { file: set.file } : {}),
    ...(set.digests ? { digests: pickDigests(set.digests, indices) } : {})
  }
}

function pickDigests(digests: Uint8Array, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * DIGEST_BYTES)
  for (let k = 0; k < indices.length; k++)
    out.set(digests.subarray(indices[k] * DIGEST_BYTES, (indices[k] + 1) * DIGEST_BYTES), k * DIGEST_BYTES)
  return out
}
