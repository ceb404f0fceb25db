// scripts/torch-reference.py builds the bench's PyTorch network from the TF.js model folder: it must
// be the same network, so its outputs must equal TF.js's on the same images.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { initBackend } from '../../../src/main/engine/backend'
import { loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { Rng } from '../../../src/main/util/rng'
import { tempDir } from '../../helpers/tmp'

const root = resolve(__dirname, '../../..')
const script = join(root, 'scripts/torch-reference.py')
const base = join(root, 'resources/models/mnist-cnn')
const python = process.env.CURATOR_PYTHON ?? '/usr/bin/python3'
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0
const tmp = tempDir()

beforeAll(async () => void (await initBackend()))
afterAll(() => tmp.remove())

describe.skipIf(!hasTorch)('the PyTorch reference network', () => {
  it.each([28, 40])("gives TF.js's outputs for the shipped base on %i-pixel square images", async (size) => {
    const n = 12
    const rng = new Rng(size)
    const x = Float32Array.from({ length: n * size * size * 3 }, () => rng.next())
    const input = join(tmp.dir, `in-${size}.f32`)
    const output = join(tmp.dir, `out-${size}.f32`)
    writeFileSync(input, x)
    const r = spawnSync(
      python,
      [
        script,
        '--model',
        base,
        '--size',
        String(size),
        '--only',
        'forward',
        '--seconds',
        '0.05',
        '--wait-policy',
        'PASSIVE',
        '--check',
        input,
        output
      ],
      { encoding: 'utf8' }
    )
    expect(r.status, r.stderr).toBe(0)
    const figures = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(figures.threads).toBe(2)
    expect(figures.forwardImagesPerSec).toBeGreaterThan(0)
    const bytes = readFileSync(output)
    const theirs = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
    const model = await loadModel(readModelFiles(base))
    const ours = tf.tidy(() => (model.predict(tf.tensor4d(x, [n, size, size, 3])) as tf.Tensor).dataSync())
    model.dispose()
    expect(theirs.length).toBe(n * 10)
    let worst = 0
    theirs.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ours[i]))))
    expect(worst).toBeLessThan(1e-5)
    // Not a constant: the images get different class probabilities.
    expect(new Set(Array.from(theirs, (v) => v.toFixed(3))).size).toBeGreaterThan(10)
  })

  it('refuses a layer it does not know, by name', () => {
    const dir = tempDir()
    const model = JSON.parse(readFileSync(join(base, 'model.json'), 'utf8'))
    model.modelTopology.config.layers[1].class_name = 'DepthwiseConv2D'
    writeFileSync(join(dir.dir, 'model.json'), JSON.stringify(model))
    writeFileSync(join(dir.dir, 'weights.bin'), readFileSync(join(base, 'weights.bin')))
    const r = spawnSync(python, [script, '--model', dir.dir, '--only', 'forward', '--seconds', '0.05', '--wait-policy', 'PASSIVE'], {
      encoding: 'utf8'
    })
    dir.remove()
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('unsupported layer DepthwiseConv2D (conv11)')
  })
})
