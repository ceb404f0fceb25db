import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../../src/main/engine/backend'
import { buildBaseModel } from '../../../src/main/engine/base-model'
import { ParallelTrainer, readTrainable } from '../../../src/main/engine/parallel-train'
import { classAccuracy, LR_DECAY, pretrain } from '../../../src/main/engine/pretrain'
import { loadMnist } from '../../../src/main/data/mnist'
import { groupBySize, toInputBuffer, type ImageSet } from '../../../src/main/data/dataset'
import { Rng } from '../../../src/main/util/rng'

const ds = loadMnist({ pool: 1024, test: 500 })
const first = (n: number) => Int32Array.from({ length: n }, (_, i) => i)

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})

/** TF.js's own Keras path: compile with Adam and trainOnBatch. */
async function kerasStep(model: tf.LayersModel, set: ImageSet, idx: Int32Array): Promise<number> {
  const { data } = toInputBuffer(set, idx)
  const x = tf.tensor4d(data, [idx.length, 28, 28, 3])
  const y = tf.tensor1d(
    Array.from(idx, (i) => set.classes![i]),
    'float32'
  )
  const loss = (await model.trainOnBatch(x, y)) as number
  tf.dispose([x, y])
  return loss
}

describe('ParallelTrainer', () => {
  it('takes the step TF.js trainOnBatch takes, on batches split into uneven shards', async () => {
    const ours = buildBaseModel(5)
    const theirs = buildBaseModel(5)
    theirs.compile({ optimizer: tf.train.adam(0.001), loss: 'sparseCategoricalCrossentropy' })
    const trainer = new ParallelTrainer(ours, { batchSize: 100, learningRate: 0.001, threads: 2, backend: 'wasm' })
    try {
      // 100 images: shards of 64 and 36, weighed by their sizes.
      for (const idx of [first(100), first(100).map((i) => i + 100)]) {
        const { loss } = await trainer.step(ds.pool, idx)
        const kerasLoss = await kerasStep(theirs, ds.pool, idx)
        expect(loss).toBeCloseTo(kerasLoss, 4)
      }
      const a = trainer.weights
      const b = readTrainable(theirs)
      let worst = 0
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]))
      expect(worst).toBeLessThan(1e-5)
      trainer.writeWeights()
      expect(readTrainable(ours)).toEqual(trainer.weights)
    } finally {
      await trainer.dispose()
    }
  })

  it('trains the same model on one thread as on two', async () => {
    const run = async (threads: number) => {
      const trainer = new ParallelTrainer(buildBaseModel(2), { batchSize: 128, learningRate: 0.003, threads, backend: 'wasm' })
      try {
        expect(trainer.threads).toBe(threads)
        for (let b = 0; b < 3; b++)
          await trainer.step(
            ds.pool,
            first(128).map((i) => i + 128 * b)
          )
        return Array.from(trainer.weights)
      } finally {
        await trainer.dispose()
      }
    }
    expect(await run(2)).toEqual(await run(1))
  })

  it('pretrains on two threads to the accuracy TF.js trainOnBatch reaches', async () => {
    const opts = { epochs: 3, seed: 7, batchSize: 128, learningRate: 0.003, threads: 2 }
    const a = await pretrain(ds.pool, ds.test!, opts)
    expect(a.threads).toBe(2)
    // The Keras reference on the same seed, shuffles and batches.
    const model = buildBaseModel(7)
    const optimizer = tf.train.adam(opts.learningRate)
    model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' })
    const rng = new Rng(7)
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      ;(optimizer as unknown as { learningRate: number }).learningRate = opts.learningRate * LR_DECAY ** epoch
      for (const group of groupBySize(ds.pool)) {
        rng.shuffle(group)
        for (let s = 0; s < group.length; s += 128) await kerasStep(model, ds.pool, group.subarray(s, s + 128))
      }
    }
    const reference = classAccuracy(model, ds.test!)
    expect(reference).toBeGreaterThan(0.4)
    expect(Math.abs(a.testAccuracy - reference)).toBeLessThan(0.03)
    a.model.dispose()
    model.dispose()
  })
})
