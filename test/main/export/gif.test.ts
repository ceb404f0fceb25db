// The GIF export's drawing and encoding on synthetic frames (no model needed).
import { describe, expect, it } from 'vitest'
import { ADVANCE, drawText, GLYPH_HEIGHT, GLYPH_WIDTH, GLYPHS, textWidth } from '../../../src/main/export/font'
import {
  encodeGif,
  FRAME_HEIGHT,
  FRAME_WIDTH,
  frameDelays,
  FrameData,
  frameScale,
  PALETTE,
  renderFrame,
  toIndexed,
  weightColor
} from '../../../src/main/export/gif'
import { readGif } from './gif-reader'
import { NEGATIVE_RGB, POSITIVE_RGB, ZERO_RGB } from '../../../src/shared/palette'

const frame = (over: Partial<FrameData> = {}): FrameData => ({
  labels: 12,
  testAccuracy: 0.9876,
  headWeights: [-4, -2, -1, 0, 0.5, 1, 2, 3, 3.5, 4],
  histogram: {
    counts: [10, 0, 5, 0, 0, 20, 0, 0, 0, 3, 40],
    byTruth: [
      [10, 0, 5, 0, 0, 8, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 12, 0, 0, 0, 3, 40]
    ]
  },
  ...over
})

const pixel = (rgba: Uint8Array, x: number, y: number) =>
  Array.from(rgba.subarray(4 * (y * FRAME_WIDTH + x), 4 * (y * FRAME_WIDTH + x) + 3))
const countColor = (rgba: Uint8Array, c: readonly number[]) => {
  let n = 0
  for (let p = 0; p < rgba.length; p += 4) if (rgba[p] === c[0] && rgba[p + 1] === c[1] && rgba[p + 2] === c[2]) n++
  return n
}

describe('the bitmap font', () => {
  it('has 5x7 glyphs for digits, letters and the punctuation the figure uses', () => {
    const needed = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.-()% —+'
    for (const ch of needed) expect(GLYPHS[ch], `glyph for "${ch}"`).toBeDefined()
    for (const [ch, rows] of Object.entries(GLYPHS)) {
      expect(rows, ch).toHaveLength(GLYPH_HEIGHT)
      for (const r of rows) expect(r, ch).toMatch(new RegExp(`^[.#]{${GLYPH_WIDTH}}$`))
    }
    // Every glyph but the space has ink, and no two glyphs look the same.
    const looks = Object.entries(GLYPHS).map(([ch, rows]) => [ch, rows.join('')] as const)
    for (const [ch, bits] of looks) if (ch !== ' ') expect(bits, ch).toContain('#')
    expect(new Set(looks.map(([, b]) => b)).size).toBe(looks.length)
  })

  it('measures and draws text at any scale', () => {
    expect(textWidth('Labels: 12')).toBe(10 * ADVANCE - 1)
    expect(textWidth('ab', 3)).toBe((2 * ADVANCE - 1) * 3)
    const ink = (s: string, scale: number) => {
      const pts: [number, number][] = []
      drawText(s, 0, 0, scale, (x, y) => pts.push([x, y]))
      return pts
    }
    const one = ink('1', 1)
    expect(one.length).toBe(GLYPHS['1'].join('').split('#').length - 1)
    expect(ink('1', 2).length).toBe(4 * one.length)
    expect(Math.max(...ink('11', 1).map(([x]) => x))).toBe(ADVANCE + Math.max(...one.map(([x]) => x)))
    expect(ink('\u0001', 1)).toEqual(ink('?', 1)) // unknown characters show as '?'
  })
})

describe('a GIF frame', () => {
  it('is 432x288 RGBA, opaque, drawn only in palette colors', () => {
    const rgba = renderFrame(frame(), frameScale([frame()], ['even', 'odd']))
    expect(rgba.length).toBe(FRAME_WIDTH * FRAME_HEIGHT * 4)
    const keys = new Set(PALETTE.map((c) => c.join(',')))
    let transparent = 0
    let offPalette = 0
    for (let p = 0; p < rgba.length; p += 4) {
      if (rgba[p + 3] !== 255) transparent++
      if (!keys.has(`${rgba[p]},${rgba[p + 1]},${rgba[p + 2]}`)) offPalette++
    }
    expect([transparent, offPalette]).toEqual([0, 0])
    expect(PALETTE.length).toBeLessThanOrEqual(256)
    // toIndexed maps every palette color to itself.
    const back = toIndexed(rgba)
    for (let p = 0; p < back.length; p += 997) expect(PALETTE[back[p]]).toEqual(pixel(rgba, p % FRAME_WIDTH, Math.floor(p / FRAME_WIDTH)))
  })

  it('colors the weights on a symmetric scale of max |w| without clipping', () => {
    const f = frame()
    const scale = frameScale([f], ['even', 'odd'])
    expect(scale.maxAbsWeight).toBe(4)
    // The app's colors (src/shared/palette.ts): red-orange for positive, blue for negative.
    expect(weightColor(4, 4)).toEqual(POSITIVE_RGB)
    expect(weightColor(-4, 4)).toEqual(NEGATIVE_RGB)
    expect(weightColor(0, 4)).toEqual(ZERO_RGB)
    // Beyond +-1 the original clipped; here 2, 3 and 4 all get different colors.
    const reds = [1, 2, 3, 4].map((w) => weightColor(w, 4).join())
    expect(new Set(reds).size).toBe(4)
    // The strip really shows them: each weight's color is in the frame.
    const rgba = renderFrame(f, scale)
    for (const w of f.headWeights) expect(countColor(rgba, weightColor(w, 4)), `weight ${w}`).toBeGreaterThan(32 * 30)
  })

  it('scales the bars to the largest count over all frames', () => {
    const blue = PALETTE[3]
    const plain = (counts: number[]) => frame({ histogram: { counts, byTruth: null } })
    const a = plain([40, 20, 10, 0, 0, 0, 0, 0, 0, 0, 0])
    const b = plain([80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    // Alone, a's tallest bar fills the plot (112 px); next to b it is half as tall. (The weight
    // strip's most negative cells share the bars' blue, and are the same in both frames.)
    const alone = countColor(renderFrame(a, frameScale([a], ['n', 'p'])), blue)
    const shared = countColor(renderFrame(a, frameScale([a, b], ['n', 'p'])), blue)
    expect(alone - shared).toBe((112 + 56 + 28 - (56 + 28 + 14)) * 33)
  })

  it('says "—" for a missing accuracy and changes with the label count', () => {
    const scale = frameScale([frame()], ['even', 'odd'])
    const base = renderFrame(frame(), scale)
    expect(Buffer.compare(Buffer.from(renderFrame(frame({ testAccuracy: null }), scale)), Buffer.from(base))).not.toBe(0)
    expect(Buffer.compare(Buffer.from(renderFrame(frame({ labels: 13 }), scale)), Buffer.from(base))).not.toBe(0)
    expect(Buffer.compare(Buffer.from(renderFrame(frame(), scale)), Buffer.from(base))).toBe(0) // deterministic
  })
})

describe('the animated GIF', () => {
  it('holds the first and the last frame 5 s, the others 1 s, and loops', () => {
    expect(frameDelays(1)).toEqual([5000])
    expect(frameDelays(4)).toEqual([5000, 1000, 1000, 5000])
    const frames = [0, 1, 2].map((k) => frame({ labels: 4 * k, testAccuracy: k === 0 ? null : 0.9 + k / 100 }))
    const scale = frameScale(frames, ['even', 'odd'])
    const rgba = frames.map((f) => renderFrame(f, scale))
    const gif = readGif(encodeGif(rgba))
    expect(gif.signature).toBe('GIF89a')
    expect([gif.width, gif.height]).toEqual([432, 288])
    expect(gif.loop).toBe(0)
    expect(gif.frames.map((f) => f.delay)).toEqual([500, 100, 500])
    // Decoding gives back exactly the drawn pixels.
    gif.frames.forEach((f, k) => {
      expect(f.localPalette).toBeNull()
      const pal = gif.globalPalette!
      for (let p = 0; p < f.indices.length; p += 101) {
        const i = f.indices[p]
        expect([pal[3 * i], pal[3 * i + 1], pal[3 * i + 2]]).toEqual(Array.from(rgba[k].subarray(4 * p, 4 * p + 3)))
      }
    })
  })
})
