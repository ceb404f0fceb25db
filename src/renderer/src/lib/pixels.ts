// Query pixels arrive as base64 bytes (row-major, channels interleaved, 1 = grey, 3 = RGB).

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/** RGBA bytes for an ImageData of width x height. Missing bytes stay black. */
export function toRgba(bytes: Uint8Array, width: number, height: number, channels: number): Uint8ClampedArray {
  const n = width * height
  const rgba = new Uint8ClampedArray(n * 4)
  const c = channels === 3 || channels === 4 ? channels : 1
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const s = i * c
    if (c === 1) {
      const v = bytes[s] ?? 0
      rgba[o] = v
      rgba[o + 1] = v
      rgba[o + 2] = v
    } else {
      rgba[o] = bytes[s] ?? 0
      rgba[o + 1] = bytes[s + 1] ?? 0
      rgba[o + 2] = bytes[s + 2] ?? 0
    }
    rgba[o + 3] = 255
  }
  return rgba
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
