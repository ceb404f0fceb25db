// The held-out evaluation split of a dataset that comes without one: seeded and stratified.
import { createHash } from 'node:crypto'
import { Rng } from '../util/rng'
import { Dataset, ImageSet, hashImageSets, headOf, pickImages } from './dataset'

/** The share of each class held out for evaluation. */
export const TEST_FRACTION = 0.2

/**
 * Indices of the pool and of the test split: about `fraction` of each class's images (rounded)
 * go to the test split, chosen by a seeded shuffle; a class always keeps at least one image in
 * the pool. Images of unknown class (-1) stay in the pool. Both lists are in index order.
 * With file names (folder datasets), each class is ordered by a seeded hash of the name instead
 * of a shuffle, so adding or removing a file moves at most one other image between the splits:
 * labels given on a folder stay in its pool when the folder changes.
 */
export function stratifiedSplit(
  classes: ArrayLike<number>,
  fraction: number,
  seed: number,
  names?: string[]
): { pool: Int32Array; test: Int32Array } {
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]
    if (c < 0) continue
    let list = byClass.get(c)
    if (!list) byClass.set(c, (list = []))
    list.push(i)
  }
  const rng = new Rng(seed)
  const inTest = new Uint8Array(classes.length)
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(c)!
    const k = Math.min(list.length - 1, Math.round(list.length * fraction))
    if (names) {
      const rank: string[] = []
      for (const i of list) rank[i] = createHash('sha256').update(`${seed}\0${names[i]}`).digest('hex')
      list.sort((a, b) => (rank[a] < rank[b] ? -1 : 1))
    } else rng.shuffle(list)
    for (let j = 0; j < k; j++) inTest[list[j]] = 1
  }
  const pool: number[] = []
  const test: number[] = []
  for (let i = 0; i < classes.length; i++) (inTest[i] ? test : pool).push(i)
  return { pool: Int32Array.from(pool), test: Int32Array.from(test) }
}

/**
 * Splits a set with ground truth into pool and test (seeded, stratified), applies the pool and
 * test limits, and fills the Dataset fields that record it.
 */
export function splitDataset(
  all: ImageSet,
  limits: { pool?: number; test?: number },
  split: { testFraction: number; seed: number }
): Pick<Dataset, 'pool' | 'test' | 'hash' | 'split' | 'source'> {
  if (!all.classes) throw new Error('splitDataset: the set has no ground truth')
  const idx = stratifiedSplit(all.classes, split.testFraction, split.seed, all.names)
  let pool = pickImages(all, idx.pool)
  let test = pickImages(all, idx.test)
  const limited = (limits.pool !== undefined && limits.pool < pool.count) || (limits.test !== undefined && limits.test < test.count)
  if (limits.pool) pool = headOf(pool, limits.pool)
  if (limits.test) test = headOf(test, limits.test)
  return {
    pool,
    test: test.count ? test : null,
    hash: hashImageSets(pool, test.count ? test : null),
    split,
    source: limited ? undefined : { count: all.count, hash: hashImageSets(all), pool: idx.pool, test: idx.test }
  }
}
