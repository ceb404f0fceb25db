// The frozen features on ONNX Runtime (the base exported to ONNX) and on TF.js: the same numbers
// to float rounding, every run the same, cached and recorded apart.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '../../../src/main/engine/backend'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { featurizeAll } from '../../../src/main/engine/features'
import { defaultFeaturizer, featureSplitKey, onnxRuntimeLoads } from '../../../src/main/engine/featurizer'
import { readModelFiles } from '../../../src/main/engine/model-io'
import { prepare, disposePrepared } from '../../../src/main/engine/setup'
import { loadMnist } from '../../../src/main/data/mnist'
import { pickImages, uniformImageSet, type ImageSet } from '../../../src/main/data/dataset'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'
import { Rng } from '../../../src/main/util/rng'
import { tempDir } from '../../helpers/tmp'
import { recordSimulation } from '../../../src/main/session/record'
import { verifyReplay } from '../../../src/main/session/replay'

const files = readModelFiles(defaultBaseDir())
const mnist = loadMnist({ pool: 300, test: 100 })
const tmp = tempDir()
let backend = ''
beforeAll(async () => void (backend = await initBackend()))
afterAll(() => tmp.remove())
afterEach(() => void delete process.env.CURATOR_FEATURIZER)

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

/** Seeded noise images of one size, grey or RGB. */
function noise(count: number, side: number, channels: number, seed: number): ImageSet {
  const rng = new Rng(seed)
  return uniformImageSet(
    count,
    side,
    side,
    channels,
    Uint8Array.from({ length: count * side * side * channels }, () => rng.int(256)),
    null
  )
}

describe('featurizing on ONNX Runtime', () => {
  it('loads here and is the default on wasm', () => {
    expect(onnxRuntimeLoads()).toBe(true)
    expect(defaultFeaturizer('wasm')).toBe('onnxruntime')
    expect(defaultFeaturizer('tensorflow')).toBe('tfjs')
    process.env.CURATOR_FEATURIZER = 'tfjs'
    expect(defaultFeaturizer('wasm')).toBe('tfjs')
  })

  it.each([0, 2, 4])('gives TF.js features at --unfreeze %i on MNIST, exactly the same every run', async (unfreeze) => {
    const opts = { backend, threads: 2, jobSize: 64 }
    const [ort] = await featurizeAll(files, unfreeze, [mnist.pool], { ...opts, featurizer: 'onnxruntime' })
    const [tfjs] = await featurizeAll(files, unfreeze, [mnist.pool], { ...opts, featurizer: 'tfjs' })
    expect(ort.count).toBe(300)
    expect(ort.dim).toBe(tfjs.dim)
    expect(ort.dim).toBe([10, 128, 32, 5 * 5 * 32, 7 * 7 * 32][unfreeze]) // classes, dense, global max pool, conv23, conv22 (at 28x28)
    expect(maxDiff(ort.data, tfjs.data)).toBeLessThan(2e-5)
    // Another thread count and job size: the same bits (each image is computed alone).
    const [again] = await featurizeAll(files, unfreeze, [mnist.pool], { backend, threads: 1, jobSize: 37, featurizer: 'onnxruntime' })
    expect(Buffer.from(again.data.buffer).equals(Buffer.from(ort.data.buffer))).toBe(true)
  })

  it('takes images of several sizes, grey and RGB, in one call', async () => {
    const sets = [noise(5, 28, 1, 1), noise(4, 41, 3, 2), pickImages(mnist.test!, [0, 1, 2])]
    const ort = await featurizeAll(files, 0, sets, { backend, featurizer: 'onnxruntime' })
    const tfjs = await featurizeAll(files, 0, sets, { backend, featurizer: 'tfjs' })
    ort.forEach((m, k) => {
      expect(m.count).toBe(sets[k].count)
      expect(maxDiff(m.data, tfjs[k].data)).toBeLessThan(2e-5)
      // Softmax rows: each sums to 1.
      for (let i = 0; i < m.count; i++) expect(m.data.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    })
  })

  it('caches each featurizer apart and says which one a session used', async () => {
    const cacheDir = join(tmp.dir, 'cache')
    const config = { ...DEFAULT_CONFIG, poolLimit: 200, testLimit: 50 }
    const ort = await prepare(config, { backend, cacheDir, featurizer: 'onnxruntime' })
    const tfjs = await prepare(config, { backend, cacheDir, featurizer: 'tfjs' })
    expect([ort.featurizer, tfjs.featurizer]).toEqual(['onnxruntime', 'tfjs'])
    expect([ort.featuresCached, tfjs.featuresCached]).toEqual([false, false])
    const names = readdirSync(join(cacheDir, 'features'))
    expect(names.filter((n) => n.includes(`-${featureSplitKey('classes', 'onnxruntime')}-`))).toHaveLength(2)
    expect(names.filter((n) => n.includes('-classes-'))).toHaveLength(2)
    const again = await prepare(config, { backend, cacheDir, featurizer: 'onnxruntime' })
    expect(again.featuresCached).toBe(true)
    expect(Array.from(again.poolFeatures.data)).toEqual(Array.from(ort.poolFeatures.data))
    expect(maxDiff(ort.poolFeatures.data, tfjs.poolFeatures.data)).toBeLessThan(2e-5)
    // Unasked, TF.js's features already at hand win (nothing to compute); with none at hand, the fastest.
    const unasked = await prepare(config, { backend, cacheDir })
    expect([unasked.featurizer, unasked.featuresCached]).toEqual(['tfjs', true])
    const fresh = await prepare(config, { backend, cacheDir: join(tmp.dir, 'fresh-cache'), shipped: false })
    expect([fresh.featurizer, fresh.featuresCached]).toEqual(['onnxruntime', false])
    for (const p of [ort, tfjs, again, unasked, fresh]) disposePrepared(p)
  })
})

describe('a recorded session', () => {
  const cacheDir = join(tmp.dir, 'replay-cache')
  const config = { ...DEFAULT_CONFIG, strategy: 'uncertainty' as const, poolLimit: 400, testLimit: 100 }
  let sessions = 0
  const record = async (featurizer: 'tfjs' | 'onnxruntime') => {
    const dir = join(tmp.dir, `session-${featurizer}-${sessions++}`)
    const p = await prepare(config, { backend, cacheDir, featurizer })
    try {
      await recordSimulation(dir, p, config, { budget: 12, backend })
    } finally {
      disposePrepared(p)
    }
    return dir
  }
  const log = (dir: string) => join(dir, 'session.jsonl')
  const editStart = (dir: string, edit: (start: Record<string, unknown>) => void) => {
    const lines = readFileSync(log(dir), 'utf8').split('\n')
    const start = JSON.parse(lines[0])
    edit(start)
    lines[0] = JSON.stringify(start)
    writeFileSync(log(dir), lines.join('\n'))
  }

  it.each(['tfjs', 'onnxruntime'] as const)('says it was featurized on %s and replays exactly on those features', async (featurizer) => {
    const dir = await record(featurizer)
    expect(JSON.parse(readFileSync(log(dir), 'utf8').split('\n')[0]).features).toBe(featurizer)
    const r = await verifyReplay(dir, { cacheDir })
    expect(r.mode).toBe('exact')
    expect(r.firstMismatch).toBeNull()
    expect(r.ok).toBe(true)
    expect(r.iterations.length).toBe(4)
  })

  it('without the field (older logs) replays on TF.js features; on the other features it is not the same session', async () => {
    const dir = await record('tfjs')
    editStart(dir, (s) => delete s.features)
    expect((await verifyReplay(dir, { cacheDir })).ok).toBe(true)
    // Claiming ONNX Runtime features: the rebuilt heads differ in the last bits, and exact replay says so.
    editStart(dir, (s) => (s.features = 'onnxruntime'))
    const wrong = await verifyReplay(dir, { cacheDir })
    expect(wrong.mode).toBe('exact')
    expect(wrong.ok).toBe(false)
    expect(wrong.firstMismatch?.field).toMatch(/head|Accuracy|histogram|query/)
  })
})
