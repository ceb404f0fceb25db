// Reads TensorBoard event files for the tests, independently of the writer: TFRecord framing
// with every CRC checked, and the Event protobuf decoded with TensorBoard's own .proto files
// (test/fixtures/tensorboard-proto, copied from tensorflow/tensorboard).
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { buf as crc32c } from 'crc-32/crc32c'

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/tensorboard-proto')

function loadEventType(): protobuf.Type {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => (target.startsWith('tensorboard/') ? join(PROTO_ROOT, target) : target)
  root.loadSync('tensorboard/compat/proto/event.proto', { keepCase: true })
  return root.lookupType('tensorboard.Event')
}
const EventType = loadEventType()

/** TFRecord's masking of a CRC32C, written out here from its definition (tensorflow/core/lib/hash/crc32c.h). */
export function mask(crc: number): number {
  const c = crc >>> 0
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0
}

export interface DecodedValue {
  tag: string
  simple_value?: number
  histo?: { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] }
  image?: { height: number; width: number; colorspace: number; encoded_image_string: Uint8Array }
}

export interface DecodedEvent {
  wall_time: number
  step: number
  file_version?: string
  summary?: { value: DecodedValue[] }
}

/** Every record of one file, CRCs checked; throws naming the record that fails. */
export function readRecords(bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`record ${out.length}: truncated header`)
    const header = bytes.subarray(at, at + 8)
    const length = Number(header.readBigUInt64LE(0))
    if (bytes.readUInt32LE(at + 8) !== mask(crc32c(header))) throw new Error(`record ${out.length}: bad length CRC`)
    const data = bytes.subarray(at + 12, at + 12 + length)
    if (data.length !== length || at + 16 + length > bytes.length) throw new Error(`record ${out.length}: truncated data`)
    if (bytes.readUInt32LE(at + 12 + length) !== mask(crc32c(data))) throw new Error(`record ${out.length}: bad data CRC`)
    out.push(Buffer.from(data))
    at += 16 + length
  }
  return out
}

export function decodeFile(file: string): DecodedEvent[] {
  return readRecords(readFileSync(file)).map((r) => {
    const o = EventType.toObject(EventType.decode(r), { longs: Number, defaults: true, bytes: Buffer }) as DecodedEvent
    return { ...o, step: o.step ?? 0 }
  })
}

export const eventFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.includes('tfevents'))
    .sort()
    .map((f) => join(dir, f))

/** Per tag, the values by step as TensorBoard keeps them: files in name order, a later event for a step replaces an earlier one. */
export function byTag(events: DecodedEvent[]): Map<string, Map<number, DecodedValue>> {
  const tags = new Map<string, Map<number, DecodedValue>>()
  for (const e of events) {
    for (const v of e.summary?.value ?? []) {
      if (!tags.has(v.tag)) tags.set(v.tag, new Map())
      tags.get(v.tag)!.set(e.step, v)
    }
  }
  return tags
}
