// One reader for every MNIST-format (IDX) file, raw or gzip-compressed.
import { gunzipSync } from 'node:zlib'
import { Gunzip } from 'fflate'
import { readHead, readRegularFile } from '../files/read'
import { CuratorError } from '../../shared/errors'

export interface IdxArray {
  dims: number[]
  data: Uint8Array
}

const UBYTE = 0x08

/** An IDX file may declare at most this many bytes (60,000 MNIST images are 47 MB). */
export const MAX_IDX_BYTES = 1 << 30

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b

/** The header's dimensions and the file's total size as the header declares it. */
function idxHeader(buf: Uint8Array, name: string): { dims: number[]; headerBytes: number; totalBytes: number } {
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
  const totalBytes = headerBytes + dims.reduce((a, b) => a * b, 1)
  if (totalBytes > MAX_IDX_BYTES)
    throw new CuratorError(
      'BAD_DATA',
      `${name}: declares ${dims.join('x')} = ${totalBytes} bytes, over the ${MAX_IDX_BYTES >> 20} MiB limit`
    )
  return { dims, headerBytes, totalBytes }
}

/** The first inflated bytes of a gzip stream (enough for an IDX header), inflating only a little at a time. */
function gunzipHead(bytes: Uint8Array, want: number): Uint8Array {
  const out: Uint8Array[] = []
  let have = 0
  const g = new Gunzip((chunk) => {
    out.push(chunk)
    have += chunk.length
  })
  for (let at = 0; at < bytes.length && have < want; at += 1024) g.push(bytes.subarray(at, at + 1024), at + 1024 >= bytes.length)
  const head = new Uint8Array(have)
  let o = 0
  for (const c of out) head.set(c, (o += c.length) - c.length)
  return head
}

/**
 * Inflates a gzipped IDX file to no more than the size its header declares, so a gzip bomb
 * stops at that size instead of filling memory.
 */
function gunzipIdx(bytes: Uint8Array, name: string): Uint8Array {
  let totalBytes: number
  try {
    totalBytes = idxHeader(gunzipHead(bytes, 4 + 4 * 4), name).totalBytes
  } catch (err) {
    if (err instanceof CuratorError) throw err
    throw new CuratorError('BAD_DATA', `${name}: corrupt gzip data (${(err as Error).message})`)
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.max(1, totalBytes) })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new CuratorError(
        'BAD_DATA',
        `${name}: inflates to more than the ${totalBytes} bytes its header declares (a damaged file or a gzip bomb)`
      )
    }
    throw new CuratorError('BAD_DATA', `${name}: corrupt gzip data (${(err as Error).message})`)
  }
}

export function parseIdx(bytes: Uint8Array, name = 'IDX file'): IdxArray {
  const buf = isGzip(bytes) ? gunzipIdx(bytes, name) : bytes
  const { dims, headerBytes, totalBytes } = idxHeader(buf, name)
  const expected = totalBytes - headerBytes
  const actual = buf.length - headerBytes
  if (actual < expected)
    throw new CuratorError('BAD_DATA', `${name}: truncated data, ${actual} of ${expected} bytes (dims ${dims.join('x')})`)
  if (actual > expected)
    throw new CuratorError('BAD_DATA', `${name}: ${actual - expected} bytes past the end of the declared data (dims ${dims.join('x')})`)
  return { dims, data: buf.subarray(headerBytes) }
}

/**
 * Reads an IDX file (raw or gzip) without reading more than it declares: a raw file's size is
 * checked against its header before the data is read; FIFOs and devices are refused.
 */
export function readIdx(path: string): IdxArray {
  const { head, size } = readHead(path, 20, path)
  if (!isGzip(head)) {
    const { dims, headerBytes, totalBytes } = idxHeader(head, path)
    const actual = size - headerBytes
    const expected = totalBytes - headerBytes
    if (actual < expected)
      throw new CuratorError('BAD_DATA', `${path}: truncated data, ${actual} of ${expected} bytes (dims ${dims.join('x')})`)
    if (actual > expected)
      throw new CuratorError('BAD_DATA', `${path}: ${actual - expected} bytes past the end of the declared data (dims ${dims.join('x')})`)
  } else if (size > MAX_IDX_BYTES)
    throw new CuratorError('BAD_DATA', `${path}: ${size} bytes of gzip, over the ${MAX_IDX_BYTES >> 20} MiB limit`)
  return parseIdx(readRegularFile(path, path, { exactBytes: size }), path)
}

/** Checks an images file and a labels file belong together and returns them as one set. */
export function pairIdx(
  images: IdxArray,
  labels: IdxArray,
  name: string
): { count: number; height: number; width: number; pixels: Uint8Array; labels: Uint8Array } {
  if (images.dims.length !== 3)
    throw new CuratorError('BAD_DATA', `${name}: images must have 3 dimensions (count x rows x cols), got ${images.dims.length}`)
  if (labels.dims.length !== 1) throw new CuratorError('BAD_DATA', `${name}: labels must have 1 dimension, got ${labels.dims.length}`)
  const [count, height, width] = images.dims
  if (count === 0) throw new CuratorError('BAD_DATA', `${name}: the images file holds 0 images`)
  if (height === 0 || width === 0) throw new CuratorError('BAD_DATA', `${name}: images of size ${height}x${width}`)
  if (labels.dims[0] !== count) throw new CuratorError('BAD_DATA', `${name}: ${count} images but ${labels.dims[0]} labels`)
  return { count, height, width, pixels: images.data, labels: labels.data }
}
