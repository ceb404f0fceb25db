// A minimal PNG encoder (8-bit grey, RGB or RGBA, no interlace) for image summaries: zlib from
// Node, CRC-32 from the crc-32 package. Synchronous, so the event writer stays simple.
import { buf as crc32 } from 'crc-32'
import { deflateSync } from 'node:zlib'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const COLOR_TYPE: Record<number, number> = { 1: 0, 3: 2, 4: 6 }

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  out.set(data, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length)
  return out
}

export function encodePng(width: number, height: number, channels: number, pixels: Uint8Array): Buffer {
  const colorType = COLOR_TYPE[channels]
  if (colorType === undefined) throw new Error(`PNG: ${channels} channels are not supported`)
  if (pixels.length !== width * height * channels) throw new Error(`PNG: expected ${width * height * channels} bytes, got ${pixels.length}`)
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, colorType, 0, 0, 0], 8)
  // Each row starts with filter type 0 (none).
  const stride = width * channels
  const raw = Buffer.alloc((stride + 1) * height)
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))])
}
