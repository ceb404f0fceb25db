import { describe, it, expect } from 'vitest'
import {
  groupBySize,
  hashImageSets,
  headOf,
  imagePixels,
  ImageSet,
  listSkipped,
  toInputBuffer,
  uniformImageSet
} from '../../../src/main/data/dataset'

/** A set with images of mixed sizes and channel counts, packed back to back. */
function mixedSet(): ImageSet {
  const shapes: [number, number, number][] = [
    [2, 3, 1], // h, w, c
    [4, 4, 1],
    [2, 3, 3],
    [4, 4, 1],
    [3, 2, 1], // 3x2 is not 2x3
    [2, 3, 1]
  ]
  const sizes = shapes.map(([h, w, c]) => h * w * c)
  const total = sizes.reduce((a, b) => a + b, 0)
  const pixels = Uint8Array.from({ length: total }, (_, i) => (i * 13) % 256)
  const offsets = new Float64Array(shapes.length)
  for (let i = 1; i < shapes.length; i++) offsets[i] = offsets[i - 1] + sizes[i - 1]
  return {
    count: shapes.length,
    pixels,
    offsets,
    heights: Uint16Array.from(shapes.map((s) => s[0])),
    widths: Uint16Array.from(shapes.map((s) => s[1])),
    channels: Uint8Array.from(shapes.map((s) => s[2])),
    classes: Int32Array.from([0, 1, 2, -1, 1, 0]),
    names: ['a', 'b', 'c', 'd', 'e', 'f']
  }
}

describe('uniformImageSet and imagePixels', () => {
  it('lays images out back to back', () => {
    const px = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i)
    const set = uniformImageSet(3, 2, 2, 1, px, null)
    expect([...set.offsets]).toEqual([0, 4, 8])
    expect([...imagePixels(set, 1)]).toEqual([4, 5, 6, 7])
    // No copy: a view on the same buffer.
    expect(imagePixels(set, 2).buffer).toBe(px.buffer)
  })
})

describe('toInputBuffer', () => {
  it('repeats grey into 3 channels and scales to 0..1', () => {
    const px = Uint8Array.from([0, 51, 255, 102, 7, 8, 9, 10])
    const set = uniformImageSet(2, 2, 2, 1, px, null)
    const { data, height, width } = toInputBuffer(set, [1, 0])
    expect([height, width]).toEqual([2, 2])
    expect(data.length).toBe(2 * 4 * 3)
    // Image 1 first, as asked.
    expect(Array.from(data.subarray(0, 3))).toEqual([7 / 255, 7 / 255, 7 / 255].map(Math.fround))
    // Image 0, pixel 2 (255) -> 1, 1, 1
    expect(Array.from(data.subarray(12 + 6, 12 + 9))).toEqual([1, 1, 1])
    expect(data[12 + 3]).toBeCloseTo(0.2, 6)
    expect(Math.max(...data)).toBe(1)
    expect(Math.min(...data)).toBe(0)
  })

  it('keeps RGB images as they are, scaled', () => {
    const set = mixedSet()
    const { data, height, width } = toInputBuffer(set, [2])
    expect([height, width]).toEqual([2, 3])
    const src = imagePixels(set, 2)
    expect(src.length).toBe(18)
    expect(Array.from(data)).toEqual(Array.from(src, (v) => Math.fround(v / 255)))
  })

  it('mixes grey and RGB images of one size', () => {
    const set = mixedSet()
    const { data } = toInputBuffer(set, [0, 2])
    const grey = imagePixels(set, 0)
    expect(data[0]).toBe(Math.fround(grey[0] / 255))
    expect(data[2]).toBe(Math.fround(grey[0] / 255))
    expect(data[18]).toBe(Math.fround(imagePixels(set, 2)[0] / 255))
    expect(data[19]).toBe(Math.fround(imagePixels(set, 2)[1] / 255))
  })
})

describe('groupBySize', () => {
  it('groups indices by height x width, in index order', () => {
    const groups = groupBySize(mixedSet()).map((g) => [...g])
    expect(groups).toEqual([[0, 2, 5], [1, 3], [4]])
  })

  it('groups only the indices asked for, keeping their order', () => {
    const groups = groupBySize(mixedSet(), [5, 4, 3, 0]).map((g) => [...g])
    expect(groups).toEqual([[5, 0], [4], [3]])
  })

  it('gives one group for a uniform set and none for an empty one', () => {
    const set = uniformImageSet(5, 28, 28, 1, new Uint8Array(5 * 784), null)
    expect(groupBySize(set).map((g) => [...g])).toEqual([[0, 1, 2, 3, 4]])
    expect(groupBySize(set, [])).toEqual([])
  })

  it('every group feeds toInputBuffer with one shape', () => {
    const set = mixedSet()
    for (const g of groupBySize(set)) {
      const { data, height, width } = toInputBuffer(set, g)
      expect(data.length).toBe(g.length * height * width * 3)
      for (const i of g) expect([set.heights[i], set.widths[i]]).toEqual([height, width])
    }
  })
})

describe('headOf', () => {
  it('takes the first n images of a mixed set, pixels included', () => {
    const set = mixedSet()
    const h = headOf(set, 3)
    expect(h.count).toBe(3)
    expect(h.pixels.length).toBe(6 + 16 + 18)
    expect([...h.classes!]).toEqual([0, 1, 2])
    expect(h.names).toEqual(['a', 'b', 'c'])
    for (let i = 0; i < 3; i++) expect([...imagePixels(h, i)]).toEqual([...imagePixels(set, i)])
    expect([...h.widths]).toEqual([3, 4, 3])
  })

  it('keeps everything when n is at least the count', () => {
    const set = mixedSet()
    const h = headOf(set, 100)
    expect(h.count).toBe(6)
    expect(h.pixels.length).toBe(set.pixels.length)
    expect(hashImageSets(h)).toBe(hashImageSets(set))
  })

  it('keeps a set without classes without classes', () => {
    const set = uniformImageSet(4, 1, 1, 1, Uint8Array.from([1, 2, 3, 4]), null)
    expect(headOf(set, 2).classes).toBeNull()
    expect([...headOf(set, 2).pixels]).toEqual([1, 2])
  })
})

describe('hashImageSets', () => {
  it('changes with any pixel, any class and the split between sets', () => {
    const set = mixedSet()
    const h0 = hashImageSets(set)
    expect(h0).toMatch(/^[0-9a-f]{16}$/)
    expect(hashImageSets(mixedSet())).toBe(h0)
    const px = mixedSet()
    px.pixels[17] ^= 1
    expect(hashImageSets(px)).not.toBe(h0)
    const cl = mixedSet()
    cl.classes![3] = 2
    expect(hashImageSets(cl)).not.toBe(h0)
    expect(hashImageSets(set, null)).toBe(h0)
    expect(hashImageSets(headOf(set, 3), headOf(set, 6))).not.toBe(hashImageSets(headOf(set, 4), headOf(set, 6)))
  })
})

describe('listSkipped', () => {
  const files = Array.from({ length: 7 }, (_, i) => ({ path: `a/${i}.png`, reason: i % 2 ? 'empty file' : 'corrupt' }))
  it('names the first files with their reasons and counts the rest', () => {
    expect(listSkipped(files)).toBe(
      'a/0.png: corrupt; a/1.png: empty file; a/2.png: corrupt; a/3.png: empty file; a/4.png: corrupt; and 2 more'
    )
    expect(listSkipped(files, 2)).toBe('a/0.png: corrupt; a/1.png: empty file; and 5 more')
  })
  it('lists all of a short list, with no count', () => {
    expect(listSkipped(files.slice(0, 1))).toBe('a/0.png: corrupt')
    expect(listSkipped(files.slice(0, 5))).not.toMatch(/more/)
  })
})
