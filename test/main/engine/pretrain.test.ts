import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { initBackend } from '../../../src/main/engine/backend'
import { classAccuracy, pretrain, writeBaseModel, PREPROCESSING } from '../../../src/main/engine/pretrain'
import { readBaseMetadata } from '../../../src/main/engine/base'
import { hashModelFiles, loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { loadMnist } from '../../../src/main/data/mnist'
import { toInputBuffer } from '../../../src/main/data/dataset'
import type { Progress } from '../../../src/shared/progress'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'

const tmp = tempDir()
const ds = loadMnist({ pool: 384, test: 200 })

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})
afterAll(() => tmp.remove())

describe('pretrain', () => {
  it('trains one epoch with progress, reports held-out accuracy, and writes a base model folder', async () => {
    const seen: Progress[] = []
    const r = await pretrain(ds.pool, ds.test!, { epochs: 1, seed: 3, batchSize: 64, learningRate: 0.003, onProgress: (p) => seen.push(p) })
    // Progress: every batch, up to all images, with the running loss and accuracy.
    expect(seen).toHaveLength(6)
    expect(seen.map((p) => p.done)).toEqual([64, 128, 192, 256, 320, 384])
    expect(seen.at(-1)!.total).toBe(384)
    expect(seen.at(-1)!.detail).toMatchObject({ epoch: 1 })
    expect(seen.at(-1)!.detail!.loss).toBeLessThan(seen[0].detail!.loss)
    expect(r.imagesPerSec).toBeGreaterThan(0)
    // The reported accuracy is classAccuracy on the test split (one short epoch learns little yet).
    expect(r.testAccuracy).toBe(classAccuracy(r.model, ds.test!))
    // In batches of any size, and against a plain argmax count.
    expect(classAccuracy(r.model, ds.test!, 7)).toBe(r.testAccuracy)
    const { data } = toInputBuffer(
      ds.test!,
      Int32Array.from({ length: 200 }, (_, i) => i)
    )
    const predicted = tf.tidy(() => (r.model.predict(tf.tensor4d(data, [200, 28, 28, 3])) as tf.Tensor).argMax(-1).dataSync())
    expect(r.testAccuracy).toBe(predicted.filter((c, i) => c === ds.test!.classes![i]).length / 200)

    const dir = join(tmp.dir, 'base')
    const meta = await writeBaseModel(dir, r.model, {
      id: 'test-base',
      description: 'a test',
      architecture: 'original',
      classNames: ds.classNames!,
      dataset: { id: ds.id, hash: ds.hash, trainImages: 384, testImages: 200 },
      preprocessing: PREPROCESSING,
      training: { epochs: 1, seed: 3, batchSize: 64, optimizer: 'adam', backend: 'wasm', imagesPerSec: r.imagesPerSec, seconds: r.seconds },
      testAccuracy: r.testAccuracy,
      createdAt: new Date().toISOString()
    })
    expect(meta.params).toBe(33738)
    expect(readBaseMetadata(dir)).toEqual(meta)
    expect(hashModelFiles(readModelFiles(dir))).toBe(meta.hash)
    const loaded = await loadModel(readModelFiles(dir))
    expect(classAccuracy(loaded, ds.test!)).toBe(r.testAccuracy)
  })

  it('is seeded: the same seed trains the same weights', async () => {
    const small = loadMnist({ pool: 128, test: 10 })
    const a = await pretrain(small.pool, small.test!, { epochs: 1, seed: 4, batchSize: 64 })
    const b = await pretrain(small.pool, small.test!, { epochs: 1, seed: 4, batchSize: 64 })
    const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()))
    expect(flat(b.model)).toEqual(flat(a.model))
  })

  it('stops when asked', async () => {
    let n = 0
    await expect(pretrain(ds.pool, ds.test!, { epochs: 1, seed: 1, batchSize: 64, shouldStop: () => ++n > 2 })).rejects.toThrow(/cancelled/)
    expect(n).toBe(3)
  })

  it('readBaseMetadata: a folder without metadata is NOT_FOUND', async () => {
    await expectCuratorErrorAsync(async () => readBaseMetadata(join(tmp.dir, 'none')), 'NOT_FOUND', /No base model metadata/)
  })
})
