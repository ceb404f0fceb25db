import { readFileSync, writeFileSync } from 'node:fs'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { buf as crc32c } from 'crc-32/crc32c'
import { histogramFromBins, histogramOf } from '../../../src/main/tensorboard/histogram'
import { maskedCrc32c } from '../../../src/main/tensorboard/record'
import { EventWriter, FILE_VERSION } from '../../../src/main/tensorboard/writer'
import { Rng } from '../../../src/main/util/rng'
import { tempDir } from '../../helpers/tmp'
import { decodeFile, eventFiles, mask, readRecords } from './decode'

let tmp: ReturnType<typeof tempDir> | null = null
afterEach(() => {
  tmp?.remove()
  tmp = null
})

describe('TFRecord framing', () => {
  it('uses CRC32C (the standard check value) and TFRecord masking', () => {
    expect((crc32c(Buffer.from('123456789')) >>> 0).toString(16)).toBe('e3069283')
    const data = Buffer.from('curator')
    expect(maskedCrc32c(data)).toBe(mask(crc32c(data)))
  })
})

describe('EventWriter', () => {
  it('writes a file TensorBoard reads: brain.Event:2 first, every CRC right, values as written', async () => {
    tmp = tempDir('curator-tb-')
    const w = new EventWriter(tmp.dir, { wallTime: 1_700_000_000.25 })
    const rng = new Rng(7)
    const values = Array.from({ length: 57 }, () => rng.next() * 4 - 2)
    w.scalar('accuracy/held_out', 0, 0.5, 1_700_000_001)
    w.scalar('accuracy/held_out', 1, 0.987654321, 1_700_000_002)
    w.histogram('head/weights', 1, histogramOf(values, 7), 1_700_000_002)
    w.histogram('pool/p', 1, histogramFromBins([0, 3, 0, 0, 0, 0, 0, 0, 5, 2, 0]), 1_700_000_002)
    const pixels = Uint8Array.from({ length: 28 * 30 }, (_, i) => (i * 7) % 256)
    w.image('asked', 2, { width: 30, height: 28, channels: 1, pixels }, 1_700_000_003)
    w.close()
    expect(() => w.scalar('x', 0, 1)).toThrow(/closed/)

    const [file] = eventFiles(tmp.dir)
    expect(file).toMatch(/events\.out\.tfevents\.1700000000\..+\.curator$/)
    const events = decodeFile(file)
    expect(events).toHaveLength(6)
    expect(events[0]).toMatchObject({ file_version: FILE_VERSION, wall_time: 1_700_000_000.25 })
    expect(events[1].summary!.value[0]).toMatchObject({ tag: 'accuracy/held_out', simple_value: 0.5 })
    // simple_value is a float32 in the proto.
    expect(events[2]).toMatchObject({ step: 1, wall_time: 1_700_000_002 })
    expect(events[2].summary!.value[0].simple_value).toBe(Math.fround(0.987654321))

    const h = events[3].summary!.value[0].histo!
    expect(h.num).toBe(57)
    expect(h.min).toBe(Math.min(...values))
    expect(h.max).toBe(Math.max(...values))
    expect(h.sum).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      10
    )
    expect(h.bucket.reduce((a, b) => a + b, 0)).toBe(57)
    expect(h.bucket_limit).toHaveLength(7)
    expect(h.bucket_limit.at(-1)).toBe(h.max)
    // Each value falls in the bucket whose limits hold it.
    const lower = (i: number) => (i === 0 ? h.min : h.bucket_limit[i - 1])
    h.bucket.forEach((n, i) =>
      expect(values.filter((v) => v >= lower(i) && (i === 6 ? v <= h.bucket_limit[i] : v < h.bucket_limit[i])).length).toBe(n)
    )

    const binned = events[4].summary!.value[0].histo!
    expect(binned.bucket).toEqual([0, 3, 0, 0, 0, 0, 0, 0, 5, 2, 0])
    expect(binned.bucket_limit.at(-1)).toBeCloseTo(1, 12)
    expect(binned.min).toBeCloseTo(1 / 11, 12)
    expect(binned.max).toBeCloseTo(10 / 11, 12)
    expect(binned.num).toBe(10)

    const img = events[5].summary!.value[0].image!
    expect([img.width, img.height, img.colorspace]).toEqual([30, 28, 1])
    expect(await sharp(img.encoded_image_string).metadata()).toMatchObject({ format: 'png', width: 30, height: 28, channels: 1 })
    const decoded = await sharp(img.encoded_image_string).toColorspace('b-w').raw().toBuffer({ resolveWithObject: true })
    expect(Buffer.compare(decoded.data, Buffer.from(pixels))).toBe(0)
  })

  it('a damaged byte anywhere fails a CRC', () => {
    tmp = tempDir('curator-tb-')
    const w = new EventWriter(tmp.dir)
    w.scalar('labels', 3, 12)
    w.close()
    const [file] = eventFiles(tmp.dir)
    const good = readFileSync(file)
    expect(readRecords(good)).toHaveLength(2)
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good)
      bad[i] ^= 0x10
      writeFileSync(file, bad)
      expect(() => decodeFile(file), `byte ${i}`).toThrow(/record \d/)
    }
  })

  it('an RGB image keeps its colors', async () => {
    tmp = tempDir('curator-tb-')
    const w = new EventWriter(tmp.dir)
    const pixels = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256)
    w.image('rgb', 0, { width: 5, height: 4, channels: 3, pixels })
    w.close()
    const img = decodeFile(eventFiles(tmp.dir)[0])[1].summary!.value[0].image!
    expect(img.colorspace).toBe(3)
    const decoded = await sharp(img.encoded_image_string).raw().toBuffer()
    expect(Buffer.compare(decoded, Buffer.from(pixels))).toBe(0)
  })
})
