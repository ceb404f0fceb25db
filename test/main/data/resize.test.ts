// Images are brought to the base's input size as they are decoded: aspect kept, padded with the
// image's background color or centre-cropped, or stretched, as the base declares.
import { describe, it, expect } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { imagePixels } from '../../../src/main/data/dataset'
import { borderColor, decodeImage, THUMB_SIDE } from '../../../src/main/data/decode'
import { loadDataset } from '../../../src/main/data/load'
import { decodeFolderFile } from '../../../src/main/data/folder'
import { loadMnist } from '../../../src/main/data/mnist'
import { resolveInput } from '../../../src/shared/base-spec'
import { tempDir } from '../../helpers/tmp'

const mnist = loadMnist({ pool: 20 })
const digit = (i: number) => imagePixels(mnist.pool, i)
const grey = (px: Uint8Array, w: number, h: number) => sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColorspace('b-w')
const meanAbs = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length

describe('decodeImage with the base input size', () => {
  it('a 112-px digit comes back as 28x28, close to the 28-px original', async () => {
    for (const i of [0, 1, 2]) {
      const big = await grey(digit(i), 28, 28).resize(112, 112).png().toBuffer()
      const d = await decodeImage(big, 256, { size: [28, 28], fit: 'pad' })
      if (!d.ok) throw new Error(d.reason)
      expect([d.width, d.height, d.channels]).toEqual([28, 28, 1])
      expect(meanAbs(d.pixels, digit(i))).toBeLessThan(6) // of 0..255
    }
  })

  it('pad keeps the aspect ratio and fills with the border color; crop cuts the centre; fill stretches', async () => {
    // A 60x40 image: light grey background, a black 20x20 square in the middle.
    const w = 60
    const h = 40
    const px = new Uint8Array(w * h).fill(200)
    for (let y = 10; y < 30; y++) for (let x = 20; x < 40; x++) px[y * w + x] = 0
    const png = await grey(px, w, h).png().toBuffer()
    const pad = await decodeImage(png, 256, { size: [30, 30], fit: 'pad' })
    const crop = await decodeImage(png, 256, { size: [30, 30], fit: 'crop' })
    const fill = await decodeImage(png, 256, { size: [30, 30], fit: 'fill' })
    if (!pad.ok || !crop.ok || !fill.ok) throw new Error('decode failed')
    for (const d of [pad, crop, fill]) expect([d.width, d.height]).toEqual([30, 30])
    // pad: 60x40 -> 30x20, rows 5..24; the 5 rows above and below are the background, 200.
    expect([...pad.pixels.subarray(0, 30 * 5)].every((v) => v === 200)).toBe(true)
    expect([...pad.pixels.subarray(30 * 25)].every((v) => v === 200)).toBe(true)
    const dark = (d: typeof pad & { ok: true }) => d.pixels.filter((v) => v < 100).length
    // pad: the square is 10x10 (scale 0.5); crop: 40x40 centre -> 30x30, the square 15x15; fill: 10 wide, 15 high.
    expect(dark(pad)).toBeGreaterThan(80)
    expect(dark(pad)).toBeLessThan(130)
    expect(dark(crop)).toBeGreaterThan(190)
    expect(dark(crop)).toBeLessThan(260)
    expect(dark(fill)).toBeGreaterThan(120)
    expect(dark(fill)).toBeLessThan(180)
  })

  it('the thumbnail made from the pixels decoded for the base is the whole image at its own aspect, as a decode of its own gives it', async () => {
    // A 640x480 photo-like JPEG (a gradient with a disc) decoded once for a 224x224 base, padded.
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><defs><linearGradient id="g"><stop offset="0" stop-color="#2a6"/><stop offset="1" stop-color="#fd3"/></linearGradient></defs><rect width="640" height="480" fill="url(#g)"/><circle cx="200" cy="300" r="90" fill="#a14"/></svg>`
    const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer()
    const d = await decodeImage(jpeg, 256, { size: [224, 224], fit: 'pad' }, false, THUMB_SIDE)
    const own = await decodeImage(jpeg, THUMB_SIDE, null, true)
    if (!d.ok || !own.ok || !d.thumb) throw new Error('no thumbnail')
    expect([d.width, d.height, d.thumb.width, d.thumb.height, d.thumb.channels]).toEqual([224, 224, THUMB_SIDE, 96, 3])
    expect([own.width, own.height]).toEqual([THUMB_SIDE, 96])
    expect(meanAbs(d.thumb.pixels, own.pixels)).toBeLessThan(2)
    // Crop and fill do not hold the whole image at its aspect, and an image smaller than the base would be enlarged: no thumbnail from them.
    for (const fit of ['crop', 'fill'] as const) {
      const c = await decodeImage(jpeg, 256, { size: [224, 224], fit }, false, THUMB_SIDE)
      expect(c.ok && c.thumb).toBe(undefined)
    }
    const small = await sharp(jpeg).resize(100, 75).jpeg().toBuffer()
    const up = await decodeImage(small, 256, { size: [224, 224], fit: 'pad' }, false, THUMB_SIDE)
    expect(up.ok && up.thumb).toBe(undefined)
  })

  it('borderColor is the median of the border per channel', () => {
    const w = 4
    const h = 3
    const rgb = new Uint8Array(w * h * 3)
    for (let p = 0; p < w * h; p++) rgb.set([10, 20, 30], p * 3)
    rgb.set([255, 255, 255], (1 * w + 1) * 3) // inside: ignored
    rgb.set([250, 0, 0], 0) // one odd border pixel: outvoted
    expect(borderColor(rgb, w, h, 3)).toEqual([10, 20, 30])
  })
})

describe('a folder dataset at the base input size', () => {
  it('every image of any size and shape is decoded to the input size, and the cache keeps sizes apart', async () => {
    const tmp = tempDir('curator-resize-')
    try {
      const root = join(tmp.dir, 'digits')
      const sizes = [28, 56, 112, 33]
      for (const [c, cls] of ['even', 'odd'].entries()) {
        mkdirSync(join(root, cls), { recursive: true })
        for (let k = 0; k < 8; k++) {
          const side = sizes[k % sizes.length]
          const img = grey(digit(c * 8 + k), 28, 28).resize(side, k === 3 ? Math.round(side * 1.5) : side, { fit: 'fill' })
          writeFileSync(join(root, cls, `${k}.png`), await img.png().toBuffer())
        }
      }
      const cacheDir = join(tmp.dir, 'cache')
      const input = resolveInput({ size: [28, 28], fit: 'pad' }, null)
      const ds = await loadDataset(`folder:${root}`, { cacheDir, input })
      expect(ds.folder!.decode.resize).toEqual({ size: [28, 28], fit: 'pad' })
      for (const set of [ds.pool, ds.test!])
        for (const key of set.names!) {
          const d = await decodeFolderFile(join(root, key), ds.folder!.decode, { input: true })
          expect(d.ok && [d.input!.width, d.input!.height]).toEqual([28, 28])
        }
      // The thumbnails are the images at their own size.
      expect(new Set(Array.from(ds.pool.widths)).size).toBeGreaterThan(1)
      const native = await loadDataset(`folder:${root}`, { cacheDir })
      expect(native.hash).not.toBe(ds.hash)
      expect((await loadDataset(`folder:${root}`, { cacheDir, input })).hash).toBe(ds.hash)
    } finally {
      tmp.remove()
    }
  })
})
