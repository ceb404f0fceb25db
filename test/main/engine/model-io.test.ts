import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { readFileSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '../../../src/main/engine/backend'
import { buildBaseModel } from '../../../src/main/engine/base-model'
import { hashModelFiles, loadModel, modelFiles, readModelFiles, saveModel, WEIGHTS_FILE } from '../../../src/main/engine/model-io'
import { expectCuratorError } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
let model: tf.LayersModel
let x: tf.Tensor4D
let hash: string
const dir = join(tmp.dir, 'model')

beforeAll(async () => {
  expect(await initBackend()).toBe('wasm')
  model = buildBaseModel(9)
  x = tf.randomUniform([4, 28, 28, 3], 0, 1, 'float32', 3) as tf.Tensor4D
  mkdirSync(dir)
  hash = await saveModel(model, dir)
})
afterAll(() => tmp.remove())

const predict = (m: tf.LayersModel, input: tf.Tensor) => tf.tidy(() => Array.from((m.predict(input) as tf.Tensor).dataSync()))

describe('saveModel / readModelFiles / loadModel', () => {
  it('writes a TF.js layers-format folder: model.json + weights.bin', () => {
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
    expect(json.format).toBe('layers-model')
    expect(json.modelTopology.class_name ?? json.modelTopology.config?.name).toBeTruthy()
    expect(json.weightsManifest).toHaveLength(1)
    expect(json.weightsManifest[0].paths).toEqual([WEIGHTS_FILE])
    // float32 weights: 4 bytes per parameter.
    expect(readFileSync(join(dir, WEIGHTS_FILE)).length).toBe(33738 * 4)
  })

  it('loads back a model with identical predictions', async () => {
    const loaded = await loadModel(readModelFiles(dir))
    expect(loaded.countParams()).toBe(33738)
    expect(predict(loaded, x)).toEqual(predict(model, x))
    // And for another input size (input stays (None, None, 3) through save and load).
    const y = tf.randomUniform([2, 40, 36, 3], 0, 1, 'float32', 4)
    expect(predict(loaded, y)).toEqual(predict(model, y))
    y.dispose()
  })

  it('has a stable hash: the hash of the files read back, and of a reload saved again', async () => {
    expect(hash).toMatch(/^[0-9a-f]{16}$/)
    expect(hashModelFiles(readModelFiles(dir))).toBe(hash)
    expect(hashModelFiles(await modelFiles(model))).toBe(hash)
    const again = join(tmp.dir, 'again')
    mkdirSync(again)
    const loaded = await loadModel(readModelFiles(dir))
    expect(await saveModel(loaded, again)).toBe(hash)
  })

  it('gives another hash for other weights', async () => {
    const other = buildBaseModel(10)
    expect(hashModelFiles(await modelFiles(other))).not.toBe(hash)
  })

  it('a corrupt model.json is BAD_DATA', () => {
    const bad = join(tmp.dir, 'corrupt')
    mkdirSync(bad)
    writeFileSync(join(bad, 'model.json'), readFileSync(join(dir, 'model.json'), 'utf8').slice(0, 500))
    writeFileSync(join(bad, WEIGHTS_FILE), readFileSync(join(dir, WEIGHTS_FILE)))
    expectCuratorError(() => readModelFiles(bad), 'BAD_DATA', /corrupt\/model\.json is not JSON/)
  })

  it('a model.json without a weights manifest, or a missing weights file, is BAD_DATA', () => {
    const bad = join(tmp.dir, 'no-manifest')
    mkdirSync(bad)
    writeFileSync(join(bad, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {} }))
    expectCuratorError(() => readModelFiles(bad), 'BAD_DATA', /no-manifest/)
    rmSync(join(bad, 'model.json'))
    writeFileSync(join(bad, 'model.json'), readFileSync(join(dir, 'model.json')))
    expect(existsSync(join(bad, WEIGHTS_FILE))).toBe(false)
    expectCuratorError(() => readModelFiles(bad), 'BAD_DATA', /weights\.bin/)
  })

  it('a missing folder is NOT_FOUND, not a crash', () => {
    expectCuratorError(() => readModelFiles(join(tmp.dir, 'nowhere')), 'NOT_FOUND', /nowhere/)
  })

  it('truncated weights fail to load', async () => {
    const files = readModelFiles(dir)
    await expect(loadModel({ ...files, weights: files.weights.subarray(0, 1000) })).rejects.toThrow()
  })
})
