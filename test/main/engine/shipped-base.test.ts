// The base model Curator ships (resources/models/mnist-cnn), re-evaluated from its files.
import { describe, it, expect, beforeAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir, readBaseMetadata } from '../../../src/main/engine/base'
import { BASE_PARAMS } from '../../../src/main/engine/base-model'
import { hashModelFiles, loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { classAccuracy, PREPROCESSING } from '../../../src/main/engine/pretrain'
import { DIGIT_NAMES, loadMnist } from '../../../src/main/data/mnist'
import { headOf } from '../../../src/main/data/dataset'

/** The folder in the source tree, whatever CURATOR_BASE_MODEL says. */
const dir = resolve(__dirname, '../../../resources/models/mnist-cnn')

/** Fails (not skips) with a clear message when the model is not there. */
function requireShipped(): void {
  for (const f of ['model.json', 'weights.bin', 'metadata.json']) {
    if (!existsSync(join(dir, f)))
      throw new Error(
        `The shipped base model is missing: no ${f} in ${dir}. Train it with \`curator pretrain\` and commit resources/models/mnist-cnn.`
      )
  }
}

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
})

describe('the shipped base model', () => {
  it('lives in resources/models/mnist-cnn, where the app looks by default', () => {
    requireShipped()
    if (!process.env.CURATOR_BASE_MODEL) expect(defaultBaseDir()).toBe(dir)
  })

  it('says in its metadata what it is: accuracy >= 98.5%, seed, preprocessing, data, hash', () => {
    requireShipped()
    const meta = readBaseMetadata(dir)
    expect(meta.testAccuracy).toBeGreaterThanOrEqual(0.985)
    expect(meta.testAccuracy).toBeLessThanOrEqual(1)
    expect(meta.params).toBe(BASE_PARAMS)
    expect(meta.classNames).toEqual(DIGIT_NAMES)
    expect(meta.preprocessing).toEqual(PREPROCESSING)
    expect(Number.isInteger(meta.training.seed)).toBe(true)
    expect(meta.training.epochs).toBeGreaterThan(0)
    // Trained on all of MNIST's training split, measured on all of its test split.
    expect(meta.dataset).toMatchObject({ id: 'mnist', trainImages: 60000, testImages: 10000 })
    expect(meta.dataset.hash).toBe(loadMnist().hash)
    expect(meta.hash).toMatch(/^[0-9a-f]{16}$/)
  })

  it('matches its hash', () => {
    requireShipped()
    expect(hashModelFiles(readModelFiles(dir))).toBe(readBaseMetadata(dir).hash)
  })

  it('re-evaluates at >= 98% on the first 2,000 MNIST test images', async () => {
    requireShipped()
    const model = await loadModel(readModelFiles(dir))
    expect(model.countParams()).toBe(33738)
    expect(model.inputs[0].shape).toEqual([null, null, null, 3])
    const test = headOf(loadMnist({ test: 2000 }).test!, 2000)
    expect(test.count).toBe(2000)
    const accuracy = classAccuracy(model, test)
    expect(accuracy).toBeGreaterThanOrEqual(0.98)
    // Any input size still works (global max pooling): a 40x36 image gives 10 probabilities.
    const out = tf.tidy(() => (model.predict(tf.zeros([1, 40, 36, 3])) as tf.Tensor).shape)
    expect(out).toEqual([1, 10])
  })
})
