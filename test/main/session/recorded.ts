// Fixtures for the replay tests: a small base model (1 epoch on 1,000 MNIST images) in a
// temp folder, a temp features cache, and an in-process engine for a real Studio.
import { join } from 'node:path'
import { DEFAULT_CONFIG, SessionConfig } from '../../../src/shared/contract'
import type { EngineClient } from '../../../src/main/engine/client'
import { Engine } from '../../../src/main/engine/engine'
import { disposePrepared, prepare } from '../../../src/main/engine/setup'
import { initBackend } from '../../../src/main/engine/backend'
import { recordSimulation } from '../../../src/main/session/record'
import { testBaseModel } from '../../helpers/studio'

/** The shared small test base (test/helpers/studio.ts), with CURATOR_BASE_MODEL pointed at it. */
export async function makeBase(): Promise<string> {
  const dir = await testBaseModel()
  process.env.CURATOR_BASE_MODEL = dir
  return dir
}

export const replayConfig = (over: Partial<SessionConfig> = {}): SessionConfig => ({
  ...DEFAULT_CONFIG,
  poolLimit: 1000,
  testLimit: 300,
  ...over
})

/** Records a simulated session in `dir` with the function `curator simulate --session` uses (a noisy labeller, another base, older head rules: optional). */
export async function recordSimulated(
  dir: string,
  config: SessionConfig,
  budget: number,
  cacheDir: string,
  noise = 0,
  baseDir?: string,
  trust?: number
) {
  const backend = await initBackend()
  const p = await prepare(config, { backend, cacheDir, baseDir, trust })
  try {
    return await recordSimulation(dir, p, config, { budget, backend, noise })
  } finally {
    disposePrepared(p)
  }
}

/** The engine in this process, behind the client interface the studio uses. */
export function inProcessEngine(): EngineClient {
  const e = new Engine()
  return {
    backend: () => e.backend(),
    open: (config, cacheDir, baseDir, featurizer, trainer) => e.open(config, cacheDir, baseDir, featurizer, trainer),
    iterate: (batches, skipped) => e.iterate(batches, skipped),
    images: async (ids) => e.images(ids),
    baseline: (counts, of) => e.baseline(counts, of),
    mistakes: (batches, at, cell, limit) => e.mistakes(batches, at, cell, limit),
    pool: (batches, answers, q) => e.pool(batches, answers, q),
    chosen: (batches, ids) => e.chosen(batches, ids),
    why: (id, asked, batches, labelled, k) => e.why(id, asked, batches, labelled, k),
    locate: (keys) => e.locate(keys),
    exportModel: (dir, batches) => e.exportModel(dir, batches),
    pretrain: (options) => e.pretrain(options),
    close: async () => e.close(),
    cancel: () => e.cancel(),
    terminate: async () => e.close(),
    // In this process: never lost.
    lost: 0
  }
}

export const cachePath = (root: string) => join(root, 'cache')
