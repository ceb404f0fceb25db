// The bench's large pool: shifted MNIST made on demand, featurized without holding the images.
import { describe, it, expect, beforeAll } from 'vitest'
import { shiftedImages, peakRssMb, resetPeakRss } from '../../../src/main/cli/bench-scale'
import { imagePixels } from '../../../src/main/data/dataset'
import { loadMnist } from '../../../src/main/data/mnist'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { featurizeAll, featurizeGenerated } from '../../../src/main/engine/features'
import { readModelFiles } from '../../../src/main/engine/model-io'

const mnist = loadMnist({ pool: 100, test: 10 })
let backend = ''
beforeAll(async () => void (backend = await initBackend()))

describe('the shifted pool', () => {
  const make = shiftedImages(mnist.pool)
  it('starts with the source images, then shifts them by up to 2 pixels with black edges', () => {
    const first = make(0, 100)
    expect(first.count).toBe(100)
    expect(Buffer.from(imagePixels(first, 7)).equals(Buffer.from(imagePixels(mnist.pool, 7)))).toBe(true)
    // Image 100 + k: source k shifted by (dx, dy) = (-2, -2): pixel (x, y) comes from (x + 2, y + 2).
    const shifted = make(100 + 7, 1)
    const src = imagePixels(mnist.pool, 7)
    const px = imagePixels(shifted, 0)
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) expect(px[y * 28 + x]).toBe(x >= 26 || y >= 26 ? 0 : src[(y + 2) * 28 + x + 2])
    }
    // 25 different shifts, then it wraps around.
    expect(Buffer.from(imagePixels(make(25 * 100 + 3, 1), 0)).equals(Buffer.from(imagePixels(mnist.pool, 3)))).toBe(true)
    const distinct = new Set(Array.from({ length: 25 }, (_, s) => Buffer.from(imagePixels(make(s * 100 + 3, 1), 0)).toString('hex')))
    expect(distinct.size).toBe(25)
  })

  it('featurizes made on demand exactly as the same images held in memory', async () => {
    const files = readModelFiles(defaultBaseDir())
    const count = 300 // 64-image jobs: the last one is partial
    const made = await featurizeGenerated(files, 0, count, make, { backend, jobSize: 64, featurizer: 'onnxruntime' })
    const [held] = await featurizeAll(files, 0, [make(0, count)], { backend, jobSize: 64, featurizer: 'onnxruntime' })
    expect([made.count, made.dim]).toEqual([count, 10])
    expect(Buffer.from(made.data.buffer).equals(Buffer.from(held.data.buffer))).toBe(true)
  })

  it('reads and resets this process peak memory', () => {
    const before = resetPeakRss()
    if (process.platform !== 'linux') return expect(before).toBeNull()
    const big = new Uint8Array(200 * 1024 * 1024).fill(1) // touched, so resident
    expect(peakRssMb()! - before!).toBeGreaterThan(150)
    expect(big[12345]).toBe(1)
  })
})
