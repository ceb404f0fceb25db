// Builds IDX (MNIST-format) files byte by byte, so the reader is tested against the format itself.
import { gzipSync } from 'node:zlib'

/** magic: 0x00 0x00 type rank, then rank big-endian uint32 dims, then the data. */
export function idxBytes(dims: number[], data: ArrayLike<number>, type = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length)
  const view = new DataView(header.buffer)
  header[2] = type
  header[3] = dims.length
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  const out = new Uint8Array(header.length + data.length)
  out.set(header)
  out.set(Uint8Array.from(data), header.length)
  return out
}

/** A deterministic images file: count x rows x cols, pixel = (image * 31 + index * 7) mod 256. */
export function imagesIdx(count: number, rows: number, cols: number): { bytes: Uint8Array; pixels: Uint8Array } {
  const pixels = new Uint8Array(count * rows * cols)
  for (let n = 0; n < count; n++) for (let p = 0; p < rows * cols; p++) pixels[n * rows * cols + p] = (n * 31 + p * 7) % 256
  return { bytes: idxBytes([count, rows, cols], pixels), pixels }
}

export function labelsIdx(labels: number[]): Uint8Array {
  return idxBytes([labels.length], labels)
}

export const gz = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b))
