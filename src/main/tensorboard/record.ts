// TFRecord framing, the container of TensorBoard event files: for each record, its length
// (uint64 LE), the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data.
import { buf as crc32c } from 'crc-32/crc32c'

/** TFRecord's CRC mask: rotate right by 15 and add a constant, so CRCs of CRCs do not cancel. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0
}

export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length + 4)
  out.writeBigUInt64LE(BigInt(data.length), 0)
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8)
  out.set(data, 12)
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length)
  return out
}
