// Ending threads that run ONNX Runtime. Worker.terminate() while a thread is inside ONNX Runtime's
// run aborts the whole process (an uncaught Napi::Error), so a test that got it wrong would not
// fail an expectation: it would kill the test worker. Each case stops threads while they are busy.
import { describe, it, expect } from 'vitest'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { featurizeInit, FeaturizePool } from '../../../src/main/engine/features'
import { readModelFiles } from '../../../src/main/engine/model-io'
import { uniformImageSet } from '../../../src/main/data/dataset'

const files = readModelFiles(defaultBaseDir())
const images = (count: number) => uniformImageSet(count, 28, 28, 1, new Uint8Array(count * 28 * 28).fill(99), null)
const source = (name: string) => JSON.stringify(fileURLToPath(new URL(`../../../src/main/engine/${name}.ts`, import.meta.url)))

describe('ending featurizing threads', () => {
  it('closing a pool while its threads run ONNX Runtime ends them between runs; the run owed fails, the process lives on', async () => {
    const pool = new FeaturizePool(featurizeInit(files, 0, { backend: 'wasm', featurizer: 'onnxruntime' }), 2, 1)
    const runs: Promise<unknown>[] = []
    let finished = 0
    // Each thread always has a run: once one has finished, the others are inside ONNX Runtime.
    const keepBusy = (): Promise<unknown> => pool.run({ set: images(3000) }).then(() => (finished++, keepBusy()))
    for (let t = 0; t < 2; t++) runs.push(keepBusy())
    while (finished === 0) await new Promise((r) => setTimeout(r, 20))
    const settled = Promise.allSettled(runs)
    await pool.close()
    const outcomes = await settled
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/closed|ended before it answered/)
  }, 120_000)

  it('a thread that crashes while its own featurizing threads run ONNX Runtime ends them first; its error reaches the starter', async () => {
    // A thread like the engine's: it starts a pool, keeps it busy, and throws once a run is done.
    const code = `require('tsx/cjs')
      const { onParentMessage } = require(${source('threads')})
      const { featurizeInit, FeaturizePool } = require(${source('features')})
      const { uniformImageSet } = require(${JSON.stringify(fileURLToPath(new URL('../../../src/main/data/dataset.ts', import.meta.url)))})
      const { workerData } = require('node:worker_threads')
      onParentMessage(() => {})
      const pool = new FeaturizePool(featurizeInit(workerData, 0, { backend: 'wasm', featurizer: 'onnxruntime' }), 2, 1)
      const set = uniformImageSet(3000, 28, 28, 1, new Uint8Array(3000 * 28 * 28).fill(99), null)
      const busy = () => pool.run({ set }).then(() => { setImmediate(() => { throw new Error('the engine broke') }); busy() }, () => {})
      busy(); busy()`
    const w = new Worker(code, { eval: true, workerData: files })
    const [err, code_] = await new Promise<[Error | null, number]>((done) => {
      let error: Error | null = null
      w.on('error', (e) => (error = e))
      w.on('exit', (c) => done([error, c]))
    })
    expect(err?.message).toBe('the engine broke')
    expect(code_).toBe(1)
  }, 120_000)
})
