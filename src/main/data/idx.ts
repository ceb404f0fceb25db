// One reader for every MNIST-format (IDX) file, raw or gzip-compressed.
import { gunzipSync } from 'node:zlib'
import { readFileSync } from 'node:fs'
import { CuratorError } from '../../shared/errors'

export interface IdxArray {
  dims: number[]
  data: Uint8Array
}

const UBYTE = 0x08

export function parseIdx(bytes: Uint8Array, name = 'IDX file'): IdxArray {
  let buf = bytes
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf)
    } catch (err) {
      throw new CuratorError('BAD_DATA', `${name}: corrupt gzip data (${(err as Error).message})`)
    }
  }
  if (buf.length < 4) throw new CuratorError('BAD_DATA', `${name}: truncated, only ${buf.length} bytes`)
  if (buf[0] !== 0 || buf[1] !== 0) {
    const magic = [...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')
    throw new CuratorError('BAD_DATA', `${name}: wrong magic number 0x${magic}, not an IDX file`)
  }
  if (buf[2] !== UBYTE) throw new CuratorError('BAD_DATA', `${name}: element type 0x${buf[2].toString(16)} is not unsigned bytes (0x08)`)
  const rank = buf[3]
  if (rank < 1 || rank > 4) throw new CuratorError('BAD_DATA', `${name}: ${rank} dimensions; expected 1 to 4`)
  const headerBytes = 4 + 4 * rank
  if (buf.length < headerBytes) throw new CuratorError('BAD_DATA', `${name}: truncated header`)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false))
  const expected = dims.reduce((a, b) => a * b, 1)
  const actual = buf.length - headerBytes
  if (actual < expected) throw new CuratorError('BAD_DATA', `${name}: truncated data, ${actual} of ${expected} bytes (dims ${dims.join('x')})`)
  if (actual > expected) throw new CuratorError('BAD_DATA', `${name}: ${actual - expected} bytes past the end of the declared data (dims ${dims.join('x')})`)
  return { dims, data: buf.subarray(headerBytes) }
}

export function readIdx(path: string): IdxArray {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    throw new CuratorError('NOT_FOUND', `Cannot read ${path}: ${(err as Error).message}`)
  }
  return parseIdx(bytes, path)
}

/** Checks an images file and a labels file belong together and returns them as one set. */
export function pairIdx(images: IdxArray, labels: IdxArray, name: string): { count: number; height: number; width: number; pixels: Uint8Array; labels: Uint8Array } {
  if (images.dims.length !== 3) throw new CuratorError('BAD_DATA', `${name}: images must have 3 dimensions (count x rows x cols), got ${images.dims.length}`)
  if (labels.dims.length !== 1) throw new CuratorError('BAD_DATA', `${name}: labels must have 1 dimension, got ${labels.dims.length}`)
  const [count, height, width] = images.dims
  if (height === 0 || width === 0) throw new CuratorError('BAD_DATA', `${name}: images of size ${height}x${width}`)
  if (labels.dims[0] !== count) throw new CuratorError('BAD_DATA', `${name}: ${count} images but ${labels.dims[0]} labels`)
  return { count, height, width, pixels: images.data, labels: labels.data }
}
