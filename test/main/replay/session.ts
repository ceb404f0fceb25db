// Fixtures for the replay tests: a small base model (1 epoch on 1,000 MNIST images) in a
// temp folder, a temp features cache, and an in-process engine for a real Studio.
import { join } from 'node:path'
import { DEFAULT_CONFIG, SessionConfig } from '../../../src/shared/contract'
import { loadMnist } from '../../../src/main/data/mnist'
import { initBackend } from '../../../src/main/engine/backend'
import type { EngineClient } from '../../../src/main/engine/client'
import { Engine } from '../../../src/main/engine/engine'
import { pretrain, PREPROCESSING, writeBaseModel } from '../../../src/main/engine/pretrain'
import { disposePrepared, prepare } from '../../../src/main/engine/setup'
import { recordSimulation } from '../../../src/main/session/replay'

/** Pretrains the base into `dir` and points CURATOR_BASE_MODEL at it. */
export async function makeBase(dir: string): Promise<string> {
  const backend = await initBackend()
  const ds = loadMnist({ pool: 1000, test: 200 })
  const r = await pretrain(ds.pool, ds.test!, { epochs: 1, seed: 1 })
  await writeBaseModel(dir, r.model, {
    id: 'replay-test-cnn',
    description: 'Test base: 1 epoch on 1,000 MNIST images',
    architecture: 'the original digit CNN',
    classNames: ds.classNames!,
    dataset: { id: ds.id, hash: ds.hash, trainImages: ds.pool.count, testImages: ds.test!.count },
    preprocessing: PREPROCESSING,
    training: { epochs: 1, seed: 1, batchSize: 128, optimizer: 'adam lr 0.001', backend, imagesPerSec: Math.round(r.imagesPerSec), seconds: Math.round(r.seconds) },
    testAccuracy: r.testAccuracy,
    createdAt: new Date().toISOString()
  })
  r.model.dispose()
  process.env.CURATOR_BASE_MODEL = dir
  return dir
}

export const replayConfig = (over: Partial<SessionConfig> = {}): SessionConfig => ({ ...DEFAULT_CONFIG, poolLimit: 1000, testLimit: 300, ...over })

/** Records a simulated session in `dir` with the function `curator simulate --session` uses. */
export async function recordSimulated(dir: string, config: SessionConfig, budget: number, cacheDir: string) {
  const backend = await initBackend()
  const p = await prepare(config, { backend, cacheDir })
  try {
    return await recordSimulation(dir, p, config, { budget, backend })
  } finally {
    disposePrepared(p)
  }
}

/** The engine in this process, behind the client interface the studio uses. */
export function inProcessEngine(): EngineClient {
  const e = new Engine()
  return {
    backend: () => e.backend(),
    open: (config, cacheDir) => e.open(config, cacheDir),
    iterate: (batches, skipped) => e.iterate(batches, skipped),
    images: async (ids) => e.images(ids),
    exportModel: (dir) => e.exportModel(dir),
    close: async () => e.close(),
    cancel: () => e.cancel(),
    terminate: async () => e.close()
  }
}

export const cachePath = (root: string) => join(root, 'cache')
