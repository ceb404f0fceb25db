// `idx:` datasets given as explicit files (IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS]), raw or gzip,
// and the split drawn for a set without test files. The byte-level reader errors are in idx.test.ts.
import { describe, it, expect, afterAll } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadDataset } from '../../../src/main/data/load'
import { idxFilesOf } from '../../../src/main/data/mnist'
import { imagePixels } from '../../../src/main/data/dataset'
import { imagesIdx, labelsIdx, gz } from '../../helpers/idx'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir('curator-idx-files-')
afterAll(() => tmp.remove())

const TRAIN_LABELS = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1]

/** 20 train images of 24x22 (3 classes), 4 test images; raw or gzip; in a folder with spaces. */
function writeFiles(name: string, compress: boolean) {
  const dir = join(tmp.dir, `set ${name}`)
  mkdirSync(dir, { recursive: true })
  const train = imagesIdx(20, 24, 22)
  const test = imagesIdx(4, 24, 22)
  const w = (file: string, bytes: Uint8Array) => {
    const path = join(dir, compress ? `${file}.gz` : file)
    writeFileSync(path, compress ? gz(bytes) : bytes)
    return path
  }
  return {
    dir,
    train,
    test,
    images: w('imgs-idx3-ubyte', train.bytes),
    labels: w('labs-idx1-ubyte', labelsIdx(TRAIN_LABELS)),
    testImages: w('test-imgs-idx3-ubyte', test.bytes),
    testLabels: w('test-labs-idx1-ubyte', labelsIdx([2, 1, 0, 1]))
  }
}

describe('idx:IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS]', () => {
  for (const compress of [false, true]) {
    const kind = compress ? 'gzip' : 'raw'

    it(`four ${kind} files: pool and test as given`, async () => {
      const s = writeFiles(`four ${kind}`, compress)
      const spec = `idx:${s.images},${s.labels},${s.testImages},${s.testLabels}`
      const ds = await loadDataset(spec)
      expect(ds.id).toBe(spec)
      expect(ds.classNames).toEqual(['0', '1', '2'])
      expect(ds.pool.count).toBe(20)
      expect(ds.test!.count).toBe(4)
      expect([...ds.pool.classes!]).toEqual(TRAIN_LABELS)
      expect([...ds.test!.classes!]).toEqual([2, 1, 0, 1])
      expect([ds.pool.widths[0], ds.pool.heights[0], ds.pool.channels[0]]).toEqual([22, 24, 1])
      expect(Array.from(imagePixels(ds.pool, 7))).toEqual(Array.from(s.train.pixels.subarray(7 * 528, 8 * 528)))
      expect(ds.split).toBeUndefined()
    })

    it(`two ${kind} files: a seeded, stratified 20% test split, recorded in the id`, async () => {
      const s = writeFiles(`two ${kind}`, compress)
      const spec = `idx:${s.images},${s.labels}`
      const ds = await loadDataset(spec, { seed: 5 })
      expect(ds.id).toBe(`${spec}?testFraction=0.2&splitSeed=5`)
      expect(ds.split).toEqual({ testFraction: 0.2, seed: 5 })
      // 7, 7 and 6 images per class: round(1.4) = 1 and round(1.2) = 1 held out of each.
      expect(ds.test!.count).toBe(3)
      expect([...ds.test!.classes!].sort()).toEqual([0, 1, 2])
      expect(ds.pool.count).toBe(17)
      expect((await loadDataset(spec, { seed: 5 })).hash).toBe(ds.hash)
      expect((await loadDataset(ds.id, { seed: 9 })).hash).toBe(ds.hash)
      expect((await loadDataset(spec, { seed: 6 })).hash).not.toBe(ds.hash)
    })
  }

  it('raw and gzip files give the same data', async () => {
    const raw = writeFiles('same raw', false)
    const zipped = writeFiles('same gz', true)
    const a = await loadDataset(`idx:${raw.images},${raw.labels},${raw.testImages},${raw.testLabels}`)
    const b = await loadDataset(`idx:${zipped.images},${zipped.labels},${zipped.testImages},${zipped.testLabels}`)
    expect(b.hash).toBe(a.hash)
  })

  it('a folder without test files gets the split too', async () => {
    const dir = join(tmp.dir, 'train only')
    mkdirSync(dir)
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imagesIdx(20, 24, 22).bytes)
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gz(labelsIdx(TRAIN_LABELS)))
    const ds = await loadDataset(`idx:${dir}`, { seed: 1 })
    expect(ds.test!.count).toBe(3)
    expect(ds.id).toBe(`idx:${dir}?testFraction=0.2&splitSeed=1`)
    const none = await loadDataset(`idx:${dir}?testFraction=0`)
    expect(none.test).toBeNull()
    expect(none.pool.count).toBe(20)
  })

  it('names the file with a wrong magic number or truncated data', async () => {
    const s = writeFiles('bad', false)
    const badMagic = join(s.dir, 'magic-idx3-ubyte')
    const bytes = imagesIdx(20, 24, 22).bytes
    bytes[2] = 0x0b // int16 instead of unsigned bytes
    writeFileSync(badMagic, bytes)
    await expectCuratorErrorAsync(
      () => loadDataset(`idx:${badMagic},${s.labels}`),
      'BAD_DATA',
      /magic-idx3-ubyte: element type 0xb is not unsigned bytes/
    )
    const png = join(s.dir, 'photo-idx3-ubyte')
    writeFileSync(png, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]))
    await expectCuratorErrorAsync(
      () => loadDataset(`idx:${png},${s.labels}`),
      'BAD_DATA',
      /photo-idx3-ubyte: wrong magic number 0x89504e47/
    )
    const truncated = join(s.dir, 'short-idx3-ubyte.gz')
    writeFileSync(truncated, gz(imagesIdx(20, 24, 22).bytes.subarray(0, 500)))
    await expectCuratorErrorAsync(
      () => loadDataset(`idx:${truncated},${s.labels}`),
      'BAD_DATA',
      /short-idx3-ubyte\.gz: truncated data, 484 of 10560 bytes/
    )
    const tornGzip = join(s.dir, 'torn-idx1-ubyte.gz')
    const z = gz(labelsIdx(TRAIN_LABELS))
    writeFileSync(tornGzip, z.subarray(0, z.length - 6))
    await expectCuratorErrorAsync(() => loadDataset(`idx:${s.images},${tornGzip}`), 'BAD_DATA', /torn-idx1-ubyte\.gz: corrupt gzip data/)
    // Labels that do not match the images.
    await expectCuratorErrorAsync(() => loadDataset(`idx:${s.images},${s.testLabels}`), 'BAD_DATA', /20 images but 4 labels/)
    // The files the wrong way round.
    await expectCuratorErrorAsync(() => loadDataset(`idx:${s.labels},${s.images}`), 'BAD_DATA', /images must have 3 dimensions/)
  })

  it('refuses 3 parts, missing files, a folder among files, one file, and maxSide', async () => {
    const s = writeFiles('args', false)
    expectCuratorError(
      () => idxFilesOf(`${s.images},${s.labels},${s.testImages}`),
      'BAD_ARGUMENT',
      /IMAGES,LABELS or IMAGES,LABELS,TEST_IMAGES,TEST_LABELS \(3 comma-separated parts given\)/
    )
    expectCuratorError(() => idxFilesOf(`${s.images},`), 'BAD_ARGUMENT', /2 comma-separated parts given/)
    expectCuratorError(() => idxFilesOf(`${s.images},${join(s.dir, 'nope')}`), 'NOT_FOUND', /idx: no file .*nope/)
    expectCuratorError(() => idxFilesOf(`${s.images},${s.dir}`), 'BAD_ARGUMENT', /is a folder; the comma-separated form takes files/)
    expectCuratorError(() => idxFilesOf(s.images), 'BAD_ARGUMENT', /is one file; give the folder holding the IDX files, or IMAGES,LABELS/)
    expectCuratorError(() => idxFilesOf(join(tmp.dir, 'nowhere')), 'NOT_FOUND', /nowhere: no such folder, so no train-images-idx3-ubyte/)
    await expectCuratorErrorAsync(
      () => loadDataset(`idx:${s.images},${s.labels}?maxSide=64`),
      'BAD_ARGUMENT',
      /maxSide applies to folder datasets/
    )
  })

  it('a folder whose name has a comma is still a folder', async () => {
    const dir = join(tmp.dir, 'digits, small')
    mkdirSync(dir)
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imagesIdx(4, 20, 20).bytes)
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labelsIdx([0, 1, 0, 1]))
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), imagesIdx(2, 20, 20).bytes)
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labelsIdx([1, 0]))
    const ds = await loadDataset(`idx:${dir}`)
    expect(ds.pool.count).toBe(4)
    expect(ds.test!.count).toBe(2)
  })
})
