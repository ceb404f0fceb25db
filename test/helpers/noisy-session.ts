// The head-rules tests' shared set-up: the default session (the shipped digit CNN, MNIST's pool
// and held-out split, diverse, batch 4) run by a labeller who presses the wrong key 10 % of the
// time, and a recorded session replayed as it was and as the next rules would read it.
import { afterAll, beforeAll, expect } from 'vitest'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from '../../src/main/engine/backend'
import type { IterationRecord } from '../../src/main/engine/loop'
import { disposePrepared, prepare } from '../../src/main/engine/setup'
import { simulate } from '../../src/main/engine/simulate'
import { verifyReplay } from '../../src/main/session/replay'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { tempDir } from './tmp'

/** Registers the suite's wasm backend and a cache folder of its own, removed after the suite. */
export function noisySessions(prefix: string) {
  const tmp = tempDir(prefix)
  const cacheDir = join(tmp.dir, 'cache')
  const saved = process.env.CURATOR_CACHE_DIR
  beforeAll(async () => {
    process.env.CURATOR_CACHE_DIR = cacheDir
    expect(await initBackend()).toBe('wasm')
  })
  afterAll(() => {
    if (saved === undefined) delete process.env.CURATOR_CACHE_DIR
    else process.env.CURATOR_CACHE_DIR = saved
    tmp.remove()
  })

  /** `curator simulate --noise 0.1 --seed SEED --budget BUDGET` under head rules `trust`: every fit's record. */
  async function run(seed: number, trust: number, budget: number) {
    const p = await prepare({ ...DEFAULT_CONFIG, seed }, { backend: 'wasm', cacheDir, trust })
    try {
      const records: IterationRecord[] = []
      const summary = await simulate(p, {
        strategy: 'diverse',
        batchSize: 4,
        budget,
        noise: 0.1,
        onIteration: (r) => void records.push(r)
      })
      const { regions } = p.learner
      return {
        records,
        summary,
        truth: p.poolTruth!,
        regionOf: (id: number) => regions.of[id],
        typical: (id: number) => regions.typical[id] === 1
      }
    } finally {
      disposePrepared(p)
    }
  }

  /** Replays test/fixtures/FIXTURE as recorded (rules `trust`), and again as if recorded under rules `trust + 1`. */
  async function replayFixture(fixture: string, trust: number) {
    const log = readFileSync(join(__dirname, '../fixtures', fixture, 'session.jsonl'), 'utf8')
    const replayAs = async (name: string, text: string) => {
      const dir = join(tmp.dir, name)
      mkdirSync(dir)
      writeFileSync(join(dir, 'session.jsonl'), text)
      return verifyReplay(dir, { cacheDir })
    }
    const recorded = await replayAs(`${fixture}-as-recorded`, log)
    const asNext = await replayAs(`${fixture}-as-next`, log.replace(`"trust":${trust}`, `"trust":${trust + 1}`))
    return { recorded, asNext }
  }

  return { run, replayFixture }
}
