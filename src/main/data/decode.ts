// Decodes one PNG or JPEG file into grey or RGB bytes with sharp (libvips).
//
// Why sharp: it installs from the npm registry with prebuilt libvips binaries for every
// platform Electron runs on (no download at install time, no compiler), is actively
// maintained, decodes PNG (8 and 16 bit, grey, palette, alpha) and JPEG (including CMYK and
// EXIF orientation) in native code off the JS thread, and resizes with proper filtering.
import type { Sharp } from 'sharp'
import { MIN_SIDE, type FolderDecode } from './dataset'

type SharpFactory = (input: Uint8Array, options: { failOn: 'error' } | { raw: { width: number; height: number; channels: 1 | 3 } }) => Sharp
let sharpModule: Promise<SharpFactory> | undefined
/** Loaded on first use, so MNIST-only runs never load libvips. */
function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then((m) => {
    // libvips' operation cache helps repeated work on one image; every file here is decoded once.
    m.default.cache(false)
    return m.default as unknown as SharpFactory
  })
  return sharpModule
}

/** Longest image side kept by default: larger images are downscaled to it. */
export const DEFAULT_MAX_SIDE = 256

/** Longest side of the thumbnails a folder's tiles show (the model's input is decoded apart). */
export const THUMB_SIDE = 128

/**
 * Transparent pixels are composited onto white: what an image viewer or a browser shows on a
 * page, so the labeller sees what the model sees (logos, icons and scans are dark on light).
 */
export const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 }

/** Decoded pixels, grey or RGB. */
export interface Pixels {
  width: number
  height: number
  channels: 1 | 3
  pixels: Uint8Array
}

export type Decoded = (Pixels & { ok: true; downscaledFrom: [number, number] | null; thumb?: Pixels }) | { ok: false; reason: string }

/** The base's input size and how images are brought to it (see InputFit); null: each image at its own size. */
export type Resize = FolderDecode['resize']

export type ImageKind = 'png' | 'jpeg'

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** The format by its first bytes, or null when it is neither PNG nor JPEG. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  return null
}

/** An image file is refused above this size before it is read (a 256 x 256 PNG is far smaller). */
export const MAX_IMAGE_FILE_BYTES = 256 << 20

/** Why a file of this size, starting with these bytes, is not a usable image; null when it may be one. */
export function notAnImage(head: Uint8Array, size: number): string | null {
  if (size === 0) return 'empty file'
  if (!sniffImage(head)) return 'not a PNG or JPEG image (its first bytes are neither)'
  if (size > MAX_IMAGE_FILE_BYTES) return `${size} bytes, over the ${MAX_IMAGE_FILE_BYTES >> 20} MiB limit for one image`
  return null
}

/** Extensions scanned as images. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg']

/** The size an image of width x height gets: its longer side at most maxSide, aspect kept. */
export function fitSize(width: number, height: number, maxSide: number): [number, number] {
  const longer = Math.max(width, height)
  if (longer <= maxSide) return [width, height]
  const s = maxSide / longer
  return width >= height ? [maxSide, Math.max(1, Math.round(height * s))] : [Math.max(1, Math.round(width * s)), maxSide]
}

/**
 * Grey images (1 channel) stay grey, everything else becomes RGB (3 channels): alpha is
 * flattened onto white, CMYK and other color spaces are converted to sRGB, EXIF orientation
 * is applied, 16-bit samples become 8-bit. An RGB image whose three channels are equal
 * everywhere is stored as grey: the base sees the same input, with a third of the memory.
 * A thumbnail (maxSide THUMB_SIDE, no resize) is never refused for being narrow.
 */
export async function decodeImage(
  bytes: Uint8Array,
  maxSide: number,
  resize: Resize = null,
  thumbnail = false,
  /** Also the image at its own size, at most this long a side: made from the pixels decoded here when they hold it. */
  thumbSide?: number
): Promise<Decoded> {
  const problem = notAnImage(bytes, bytes.length)
  if (problem) return { ok: false, reason: problem }
  const kind = sniffImage(bytes)!
  const sharp = await loadSharp()
  try {
    const img = sharp(bytes, { failOn: 'error' })
    const meta = await img.metadata()
    const width = meta.autoOrient?.width ?? meta.width
    const height = meta.autoOrient?.height ?? meta.height
    if (!width || !height) return { ok: false, reason: `cannot read the ${kind.toUpperCase()} header` }
    if (width < MIN_SIDE || height < MIN_SIDE)
      return { ok: false, reason: `too small: ${width}x${height}, the base network needs at least ${MIN_SIDE}x${MIN_SIDE}` }
    // Pad: scaled to fit inside the input size here, the background added below; crop and fill: the exact size.
    const [tw, th] = resize
      ? resize.fit === 'pad'
        ? insideSize(width, height, resize.size)
        : [resize.size[1], resize.size[0]]
      : fitSize(width, height, maxSide)
    if (!resize && !thumbnail && (tw < MIN_SIDE || th < MIN_SIDE))
      return {
        ok: false,
        reason: `too narrow: ${width}x${height} would be ${tw}x${th} at the maximum side ${maxSide}, below ${MIN_SIDE}x${MIN_SIDE}`
      }
    const grey = meta.space === 'b-w' || meta.space === 'grey16'
    let p = img.autoOrient()
    if (meta.hasAlpha) p = p.flatten({ background: ALPHA_BACKGROUND })
    if (tw !== width || th !== height) p = p.resize(tw, th, { fit: resize?.fit === 'crop' ? 'cover' : 'fill', position: 'centre' })
    p = p.toColorspace(grey ? 'b-w' : 'srgb')
    const { data, info } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
    if (info.width !== tw || info.height !== th)
      return { ok: false, reason: `decoded to ${info.width}x${info.height}, expected ${tw}x${th}` }
    const downscaledFrom: [number, number] | null = tw !== width || th !== height ? [width, height] : null
    let pixels = toGreyOrRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), tw * th, info.channels)
    if (!pixels) return { ok: false, reason: `decoded to ${info.channels} channels` }
    const channels = pixels.length === tw * th ? 1 : 3
    // One decode for both where the model's pixels are the whole image, aspect kept, not enlarged, at least the thumbnail's size.
    let thumb: Pixels | undefined
    if (thumbSide !== undefined && resize?.fit !== 'crop' && resize?.fit !== 'fill' && tw <= width) {
      const [sw, sh] = fitSize(width, height, thumbSide)
      if (sw === tw && sh === th) thumb = { width: tw, height: th, channels, pixels: pixels.slice() }
      else if (sw < tw && sh < th) {
        const small = await sharp(pixels, { raw: { width: tw, height: th, channels } })
          .resize(sw, sh, { fit: 'fill' })
          .raw({ depth: 'uchar' })
          .toBuffer()
        thumb = { width: sw, height: sh, channels, pixels: new Uint8Array(small.buffer, small.byteOffset, small.byteLength) }
      }
    }
    const also = thumb ? { thumb } : {}
    if (resize?.fit === 'pad' && (tw !== resize.size[1] || th !== resize.size[0])) {
      pixels = padToSize(pixels, tw, th, channels, resize.size)
      return { ok: true, width: resize.size[1], height: resize.size[0], channels, pixels, downscaledFrom, ...also }
    }
    return { ok: true, width: tw, height: th, channels, pixels, downscaledFrom, ...also }
  } catch (err) {
    return { ok: false, reason: `corrupt or unreadable ${kind.toUpperCase()}: ${firstLine((err as Error).message)}` }
  }
}

/** The largest size with the image's aspect ratio inside [height, width] (at least 1 pixel a side). */
export function insideSize(width: number, height: number, [h, w]: [number, number]): [number, number] {
  const s = Math.min(w / width, h / height)
  return [Math.min(w, Math.max(1, Math.round(width * s))), Math.min(h, Math.max(1, Math.round(height * s)))]
}

/** The median of an image's border pixels, per channel: its background color. */
export function borderColor(pixels: Uint8Array, width: number, height: number, channels: number): number[] {
  return Array.from({ length: channels }, (_, c) => {
    const counts = new Uint32Array(256)
    let n = 0
    const add = (x: number, y: number) => {
      counts[pixels[(y * width + x) * channels + c]]++
      n++
    }
    for (let x = 0; x < width; x++) {
      add(x, 0)
      if (height > 1) add(x, height - 1)
    }
    for (let y = 1; y < height - 1; y++) {
      add(0, y)
      if (width > 1) add(width - 1, y)
    }
    let seen = 0
    for (let v = 0; v < 256; v++) if ((seen += counts[v]) * 2 >= n) return v
    return 0
  })
}

/** Centres the image in [height, width], the rest filled with its background color. */
function padToSize(pixels: Uint8Array, width: number, height: number, channels: number, [h, w]: [number, number]): Uint8Array {
  const bg = borderColor(pixels, width, height, channels)
  const out = new Uint8Array(w * h * channels)
  for (let p = 0; p < w * h; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = bg[c]
  const left = Math.floor((w - width) / 2)
  const top = Math.floor((h - height) / 2)
  for (let y = 0; y < height; y++)
    out.set(pixels.subarray(y * width * channels, (y + 1) * width * channels), ((top + y) * w + left) * channels)
  return out
}

/** 1 or 3 channels; RGB with equal channels becomes grey; extra channels (alpha) are dropped. */
function toGreyOrRgb(data: Uint8Array, plane: number, channels: number): Uint8Array | null {
  if (channels === 1) return data
  if (channels === 2) return Uint8Array.from({ length: plane }, (_, p) => data[2 * p])
  if (channels < 3) return null
  let grey = true
  for (let p = 0; p < plane && grey; p++) {
    const o = p * channels
    grey = data[o] === data[o + 1] && data[o] === data[o + 2]
  }
  if (grey) {
    const out = new Uint8Array(plane)
    for (let p = 0; p < plane; p++) out[p] = data[p * channels]
    return out
  }
  if (channels === 3) return data
  const out = new Uint8Array(plane * 3)
  for (let p = 0; p < plane; p++) {
    out[3 * p] = data[p * channels]
    out[3 * p + 1] = data[p * channels + 1]
    out[3 * p + 2] = data[p * channels + 2]
  }
  return out
}

const firstLine = (s: string) => s.split('\n')[0].trim()
