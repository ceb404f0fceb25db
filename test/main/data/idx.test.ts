import { describe, it, expect, afterAll } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseIdx, pairIdx, readIdx } from '../../../src/main/data/idx'
import { idxBytes, imagesIdx, labelsIdx, gz } from '../../helpers/idx'
import { expectCuratorError } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.remove())

describe('parseIdx', () => {
  it('reads a raw images file: dims big-endian, data after the header', () => {
    const { bytes, pixels } = imagesIdx(3, 5, 4)
    // The header is exactly the MNIST layout: 00 00 08 03, then 3 big-endian uint32.
    expect([...bytes.subarray(0, 16)]).toEqual([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 4])
    const a = parseIdx(bytes)
    expect(a.dims).toEqual([3, 5, 4])
    expect(Array.from(a.data)).toEqual(Array.from(pixels))
  })

  it('reads large dimensions (bytes above 0x7f, multi-byte counts)', () => {
    const count = 300 // 0x0000012c: two bytes of the count are used
    const a = parseIdx(
      idxBytes(
        [count],
        new Uint8Array(count).map((_, i) => 255 - (i % 256))
      )
    )
    expect(a.dims).toEqual([300])
    expect(a.data[0]).toBe(255)
    expect(a.data[299]).toBe(255 - (299 % 256))
  })

  it('reads a labels file (magic 0x00000801)', () => {
    const bytes = labelsIdx([7, 2, 1, 0, 4])
    expect([...bytes.subarray(0, 8)]).toEqual([0, 0, 8, 1, 0, 0, 0, 5])
    const a = parseIdx(bytes)
    expect(a.dims).toEqual([5])
    expect([...a.data]).toEqual([7, 2, 1, 0, 4])
  })

  it('reads gzip-compressed files to the same array as raw ones', () => {
    const { bytes, pixels } = imagesIdx(4, 3, 3)
    const a = parseIdx(gz(bytes))
    expect(a.dims).toEqual([4, 3, 3])
    expect(Array.from(a.data)).toEqual(Array.from(pixels))
    expect([...parseIdx(gz(labelsIdx([1, 2, 3]))).data]).toEqual([1, 2, 3])
  })

  it('rejects a wrong magic number and names the file and the magic', () => {
    const bytes = imagesIdx(1, 2, 2).bytes
    bytes[0] = 0x12
    bytes[1] = 0x34
    expectCuratorError(() => parseIdx(bytes, 'x.idx'), 'BAD_DATA', /x\.idx: wrong magic number 0x12340803/)
    // A PNG is not an IDX file either.
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0])
    expectCuratorError(() => parseIdx(png), 'BAD_DATA', /wrong magic number 0x89504e47/)
  })

  it('rejects an element type other than unsigned bytes', () => {
    // 0x0d is float32 in the IDX spec: 2x2 floats.
    const bytes = idxBytes([2, 2], new Uint8Array(16), 0x0d)
    expectCuratorError(() => parseIdx(bytes), 'BAD_DATA', /element type 0xd is not unsigned bytes/)
  })

  it('rejects 0 or more than 4 dimensions', () => {
    expectCuratorError(() => parseIdx(idxBytes([], [])), 'BAD_DATA', /0 dimensions; expected 1 to 4/)
    expectCuratorError(() => parseIdx(idxBytes([1, 1, 1, 1, 1], [9])), 'BAD_DATA', /5 dimensions; expected 1 to 4/)
  })

  it('rejects a file shorter than the magic number', () => {
    expectCuratorError(() => parseIdx(new Uint8Array([0, 0, 8])), 'BAD_DATA', /truncated, only 3 bytes/)
    expectCuratorError(() => parseIdx(new Uint8Array(0)), 'BAD_DATA', /truncated, only 0 bytes/)
  })

  it('rejects a truncated header', () => {
    const bytes = imagesIdx(2, 3, 3).bytes
    // Magic says 3 dimensions (12 header bytes) but only 9 are there.
    expectCuratorError(() => parseIdx(bytes.subarray(0, 13)), 'BAD_DATA', /truncated header/)
    expectCuratorError(() => parseIdx(gz(bytes.subarray(0, 4))), 'BAD_DATA', /truncated header/)
  })

  it('rejects truncated data and says how much is missing', () => {
    const bytes = imagesIdx(2, 3, 3).bytes // 16 + 18 bytes
    expectCuratorError(
      () => parseIdx(bytes.subarray(0, bytes.length - 1), 'imgs'),
      'BAD_DATA',
      /imgs: truncated data, 17 of 18 bytes \(dims 2x3x3\)/
    )
    expectCuratorError(() => parseIdx(gz(bytes.subarray(0, 20))), 'BAD_DATA', /truncated data, 4 of 18 bytes/)
  })

  it('rejects bytes past the end of the declared data', () => {
    const bytes = imagesIdx(2, 3, 3).bytes
    const longer = new Uint8Array(bytes.length + 5)
    longer.set(bytes)
    expectCuratorError(() => parseIdx(longer), 'BAD_DATA', /5 bytes past the end of the declared data \(dims 2x3x3\)/)
  })

  it('rejects corrupt gzip data', () => {
    const z = gz(imagesIdx(2, 3, 3).bytes)
    const torn = z.subarray(0, Math.floor(z.length / 2))
    expectCuratorError(() => parseIdx(torn, 'a.gz'), 'BAD_DATA', /a\.gz: corrupt gzip data/)
  })
})

describe('readIdx', () => {
  it('reads raw and gzip files from disk', () => {
    const { bytes, pixels } = imagesIdx(2, 4, 4)
    writeFileSync(join(tmp.dir, 'a-idx3-ubyte'), bytes)
    writeFileSync(join(tmp.dir, 'a-idx3-ubyte.gz'), gz(bytes))
    expect(Array.from(readIdx(join(tmp.dir, 'a-idx3-ubyte')).data)).toEqual(Array.from(pixels))
    expect(Array.from(readIdx(join(tmp.dir, 'a-idx3-ubyte.gz')).data)).toEqual(Array.from(pixels))
  })

  it('names the file in its errors', () => {
    const path = join(tmp.dir, 'bad-idx3-ubyte')
    writeFileSync(path, imagesIdx(2, 4, 4).bytes.subarray(0, 20))
    expectCuratorError(() => readIdx(path), 'BAD_DATA', new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated data`))
  })

  it('gives NOT_FOUND for a missing file', () => {
    expectCuratorError(() => readIdx(join(tmp.dir, 'nope')), 'NOT_FOUND', /Cannot read .*nope/)
  })
})

describe('pairIdx', () => {
  const images = parseIdx(imagesIdx(3, 2, 5).bytes)
  const labels = parseIdx(labelsIdx([0, 1, 2]))

  it('pairs images with labels', () => {
    const s = pairIdx(images, labels, 'set')
    expect(s).toMatchObject({ count: 3, height: 2, width: 5 })
    expect(s.pixels).toBe(images.data)
    expect([...s.labels]).toEqual([0, 1, 2])
  })

  it('rejects image and label counts that differ', () => {
    expectCuratorError(() => pairIdx(images, parseIdx(labelsIdx([0, 1])), 'set'), 'BAD_DATA', /set: 3 images but 2 labels/)
  })

  it('rejects images that are not count x rows x cols', () => {
    const flat = parseIdx(idxBytes([3, 10], new Uint8Array(30)))
    expectCuratorError(() => pairIdx(flat, labels, 'set'), 'BAD_DATA', /images must have 3 dimensions \(count x rows x cols\), got 2/)
    const rgb = parseIdx(idxBytes([3, 2, 2, 3], new Uint8Array(36)))
    expectCuratorError(() => pairIdx(rgb, labels, 'set'), 'BAD_DATA', /got 4/)
  })

  it('rejects labels with more than one dimension', () => {
    const two = parseIdx(idxBytes([3, 1], [0, 1, 2]))
    expectCuratorError(() => pairIdx(images, two, 'set'), 'BAD_DATA', /labels must have 1 dimension, got 2/)
  })

  it('rejects images of zero size', () => {
    const empty = parseIdx(idxBytes([3, 0, 5], []))
    expectCuratorError(() => pairIdx(empty, labels, 'set'), 'BAD_DATA', /images of size 0x5/)
  })

  it('passes the labels file swapped for the images file as an error, not data', () => {
    // A common mistake: the two files the wrong way round.
    expectCuratorError(() => pairIdx(labels, images, 'set'), 'BAD_DATA', /images must have 3 dimensions/)
  })
})
