// Query pixels arrive as base64 bytes (row-major, channels interleaved, 1 = grey, 3 = RGB).
// They are shown as <img> elements of an uncompressed BMP in a data: URL: an image is a draw
// call in its layer, where a canvas per tile is a surface of its own that every frame's commit
// copies (with a batch of 64, tens of milliseconds a frame), and a data: URL loads at once,
// so an image is on screen in the frame that shows its tile.

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_CODES = Uint8Array.from(B64, (ch) => ch.charCodeAt(0))
const ascii = new TextDecoder()

export function bytesToBase64(bytes: Uint8Array): string {
  const n = bytes.length
  const out = new Uint8Array(Math.ceil(n / 3) * 4)
  let o = 0
  let i = 0
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
    out[o++] = B64_CODES[v >> 18]
    out[o++] = B64_CODES[(v >> 12) & 63]
    out[o++] = B64_CODES[(v >> 6) & 63]
    out[o++] = B64_CODES[v & 63]
  }
  if (i < n) {
    const v = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8)
    out[o++] = B64_CODES[v >> 18]
    out[o++] = B64_CODES[(v >> 12) & 63]
    out[o++] = i + 1 < n ? B64_CODES[(v >> 6) & 63] : 61 // '='
    out[o++] = 61
  }
  return ascii.decode(out)
}

/**
 * A 24-bit BMP of width x height (top-down rows, BGR, each row padded to 4 bytes): lossless,
 * so the image shows byte for byte. Channels 3 or 4 are RGB (alpha dropped), else grey; missing
 * bytes are black.
 */
export function toBmp(bytes: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const c = channels === 3 || channels === 4 ? channels : 1
  const row = (width * 3 + 3) & ~3
  const size = 54 + row * height
  const out = new Uint8Array(size)
  const v = new DataView(out.buffer)
  out[0] = 0x42 // 'B'
  out[1] = 0x4d // 'M'
  v.setUint32(2, size, true)
  v.setUint32(10, 54, true) // pixels after the two headers
  v.setUint32(14, 40, true) // BITMAPINFOHEADER
  v.setInt32(18, width, true)
  v.setInt32(22, -height, true) // negative: the first row is the top one
  v.setUint16(26, 1, true) // planes
  v.setUint16(28, 24, true) // bits per pixel
  v.setUint32(34, row * height, true)
  for (let y = 0; y < height; y++) {
    let o = 54 + y * row
    for (let x = 0; x < width; x++, o += 3) {
      const s = (y * width + x) * c
      if (c === 1) {
        const g = bytes[s] ?? 0
        out[o] = out[o + 1] = out[o + 2] = g
      } else {
        out[o] = bytes[s + 2] ?? 0
        out[o + 1] = bytes[s + 1] ?? 0
        out[o + 2] = bytes[s] ?? 0
      }
    }
  }
  return out
}

/**
 * The headers of an 8-bit grey BMP whose pixel bytes follow as they are: the file and info
 * headers, a palette of the 256 greys and 2 bytes of gap, 1,080 bytes in all, a multiple of 3, so
 * that its base64 and the pixels' base64 put end to end are the base64 of the whole file. Only
 * for rows of a multiple of 4 bytes (BMP pads each row to 4): 28-pixel MNIST digits.
 */
export function greyBmpHeader(width: number, height: number): Uint8Array {
  const offset = 14 + 40 + 1024 + 2
  const out = new Uint8Array(offset)
  const v = new DataView(out.buffer)
  out[0] = 0x42 // 'B'
  out[1] = 0x4d // 'M'
  v.setUint32(2, offset + width * height, true)
  v.setUint32(10, offset, true)
  v.setUint32(14, 40, true)
  v.setInt32(18, width, true)
  v.setInt32(22, -height, true) // negative: the first row is the top one
  v.setUint16(26, 1, true)
  v.setUint16(28, 8, true)
  v.setUint32(34, width * height, true)
  v.setUint32(46, 256, true) // colours in the palette
  for (let g = 0; g < 256; g++) out[54 + 4 * g] = out[55 + 4 * g] = out[56 + 4 * g] = g
  return out
}

export interface Pixels {
  width: number
  height: number
  channels: number
  pixelsBase64: string
}

const greyHeaders = new Map<string, string>()

/** The byte count a base64 string holds. */
const base64Bytes = (b64: string): number => (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0)

/** Recent images' URLs, by their pixels (those that are built): a batch, its two prefetched successors, a page of the pool browser. */
const built = new Map<string, string>()
const MAX_BUILT = 800

/** The image as a data: URL; the same pixels always give the same string. */
export function imageUrl(p: Pixels): string {
  const { width, height, pixelsBase64 } = p
  const grey = p.channels !== 3 && p.channels !== 4
  if (grey && width % 4 === 0 && base64Bytes(pixelsBase64) === width * height) {
    // The pixels as they came, after a header made once per size: no work per image.
    const dims = `${width}x${height}`
    let header = greyHeaders.get(dims)
    if (header === undefined) greyHeaders.set(dims, (header = bytesToBase64(greyBmpHeader(width, height))))
    return `data:image/bmp;base64,${header}${pixelsBase64}`
  }
  const key = `${width}x${height}x${p.channels}:${pixelsBase64}`
  let url = built.get(key)
  if (url !== undefined) {
    built.delete(key) // most recent last
  } else {
    url = `data:image/bmp;base64,${bytesToBase64(toBmp(base64ToBytes(pixelsBase64), width, height, p.channels))}`
    if (built.size >= MAX_BUILT) built.delete(built.keys().next().value!)
  }
  built.set(key, url)
  return url
}

// The images of the batches that may come next, loaded ahead: a tile whose src is a URL loaded
// here (and still held) takes it from Blink's memory cache, instead of parsing the data: URL and
// its BMP in the frame that shows the new batch (about 0.45 ms of main thread an image on the
// loaded 2-core machine, 29 ms of a 64-image batch's 45). Their decode, asked for here, runs off
// the main thread. Held until newer batches push them out.
const preloaded = new Map<string, HTMLImageElement>()
const MAX_PRELOADED = 256

/** Loads and decodes these images' URLs ahead of their tiles (call it in a quiet slot). */
export function preloadImages(items: readonly Pixels[]): void {
  if (typeof Image === 'undefined') return
  for (const item of items) {
    const url = imageUrl(item)
    const held = preloaded.get(url)
    if (held) {
      preloaded.delete(url) // most recent last
      preloaded.set(url, held)
      continue
    }
    const img = new Image()
    img.src = url
    if (typeof img.decode === 'function') img.decode().catch(() => {}) // a broken image shows as one in its tile
    if (preloaded.size >= MAX_PRELOADED) preloaded.delete(preloaded.keys().next().value!)
    preloaded.set(url, img)
  }
}

/**
 * How large to show an image inside a square box of `box` CSS pixels: small images are
 * enlarged by a whole factor (crisp, pixelated), large ones shrunk to fit (smooth).
 */
export function displaySize(width: number, height: number, box: number): { width: number; height: number; pixelated: boolean } {
  const side = Math.max(width, height, 1)
  if (side <= box) {
    const s = Math.max(1, Math.floor(box / side))
    return { width: width * s, height: height * s, pixelated: s >= 2 }
  }
  const s = box / side
  return { width: Math.round(width * s), height: Math.round(height * s), pixelated: false }
}
