// The desktop app's lifecycle parts that need no Electron, on the real engine thread: a thread
// killed mid-call never leaves the call waiting (ENGINE_STOPPED), the next call starts a new
// thread and the studio opens its session there again from the log; quitting while the engine
// trains stops the training and waits for the thread, or stops it after the timeout. And the
// profile and cache folder names.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shutdown } from '../../../src/main/electron/shutdown'
import { CACHE_FOLDER, cacheDirOf, devProfile } from '../../../src/main/electron/paths'
import { CuratorError } from '../../../src/shared/errors'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { nextEvent, startTestStudio, testConfig, TestStudio } from '../../helpers/studio'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

/** Resolves once the engine reports pretraining progress: it is training now. */
const training = () => nextEvent(ts.studio, 'progress', (p) => p.task === 'pretrain' && p.done > 0, 120_000)

describe('a lost engine thread', () => {
  it('fails the calls it owed with ENGINE_STOPPED; the next call starts a new thread and the session is opened there again', async () => {
    let s = await ts.studio.newSession(testConfig())
    for (const item of s.queue) await ts.studio.label(item.id, item.id % 2 === 1 ? 1 : 0, 20)
    s = (await ts.studio.state())!
    expect(s.history).toHaveLength(2)
    const lost = ts.engine.lost
    // Killed while it trains: the call fails, it does not hang.
    const owed = ts.engine.pretrain({ epochs: 1, seed: 1, limit: 20000, dataDir: ts.dataDir })
    await training()
    await ts.engine.terminate()
    const err = await owed.then(
      () => null,
      (e: unknown) => e
    )
    expect(err).toBeInstanceOf(CuratorError)
    expect(err).toMatchObject({ code: 'ENGINE_STOPPED' })
    expect((err as Error).message).toMatch(/^The engine thread stopped before it finished pretrain \(it was shut down\)/)
    expect(ts.engine.lost).toBe(lost + 1)
    // Labelling goes on: the session is opened in a new thread from its log, and the fit arrives.
    const fitted = nextEvent(ts.studio, 'session', (x) => x.history.length === 3)
    for (const item of s.queue) await ts.studio.label(item.id, 1, 20)
    const after = await fitted
    expect(after.labels).toHaveLength(8)
    expect(after.queue).toHaveLength(4)
    expect(after.warnings.some((w) => /engine thread stopped and a new one was started/.test(w))).toBe(true)
    // The views too.
    expect((await ts.studio.pool({ sort: 'p', filter: 'labelled', offset: 0, limit: 10 })).total).toBe(8)
  }, 300_000)

  // The exact head fits on the engine thread in JavaScript; an --unfreeze 1 fit trains on ONNX Runtime there.
  it.each([
    ['the exact head', { seed: 2 }],
    ['--unfreeze 1 (ONNX Runtime on the engine thread)', { seed: 3, unfreeze: 1 }]
  ] as const)(
    'a thread killed during a fit (%s): the fit is made again in a new thread, nothing is lost',
    async (_, over) => {
      const s = await ts.studio.newSession(testConfig(over))
      for (const item of s.queue.slice(0, -1)) await ts.studio.label(item.id, 0, 20)
      const fitted = nextEvent(ts.studio, 'session', (x) => x.history.length === 2)
      await ts.studio.label(s.queue.at(-1)!.id, 1, 20)
      // Wherever the engine is in that fit (or the prefetch before it), it is killed now.
      await ts.engine.terminate()
      const after = await fitted
      expect(after.labels.map((l) => l.id)).toEqual(s.queue.map((q) => q.id))
      expect(after.queue).toHaveLength(4)
    },
    300_000
  )
})

describe('quitting', () => {
  it('while the engine trains: the training is stopped, the session closed, the thread stopped', async () => {
    await ts.studio.newSession(testConfig())
    const lost = ts.engine.lost
    const owed = ts.studio.pretrainBase({ epochs: 1, seed: 1, limit: 20000 })
    await training()
    expect(await shutdown(ts.studio, ts.engine, 60_000)).toBe('clean')
    await expectCuratorErrorAsync(() => owed, 'CANCELLED', /./)
    expect(ts.engine.lost).toBe(lost + 1)
    expect(await ts.studio.state()).toBeNull()
    // No half-written base: it is written in a private folder and renamed at the end.
    const models = join(ts.dataDir, 'models')
    expect(existsSync(models) ? readdirSync(models).filter((n) => !n.startsWith('.')) : []).toEqual([])
  }, 300_000)

  it('a thread that does not stop in time is stopped anyway', async () => {
    const owed = ts.studio.pretrainBase({ epochs: 1, seed: 1, limit: 20000 })
    await training()
    // The training notices its cancel within a batch; 1 ms is sooner than that.
    const lost = ts.engine.lost
    expect(await shutdown(ts.studio, ts.engine, 1)).toBe('timeout')
    expect(ts.engine.lost).toBe(lost + 1)
    await expect(owed).rejects.toBeInstanceOf(CuratorError)
  }, 300_000)
})

describe('profile and cache folders', () => {
  it('development runs use a profile of their own; installed ones the default', () => {
    expect(devProfile('/home/me/.config', false)).toBe('/home/me/.config/Curator (development)')
    expect(devProfile('/home/me/.config', true)).toBeNull()
  })

  it('the cache folder cannot be one of Chromium’s profile folders on a case-insensitive file system', () => {
    const chromium = [
      'Cache',
      'Code Cache',
      'GPUCache',
      'DawnCache',
      'DawnGraphiteCache',
      'DawnWebGPUCache',
      'GrShaderCache',
      'ShaderCache'
    ]
    const ours = ['sessions', 'exports', 'models', 'base.json']
    for (const name of [...chromium, ...ours]) expect(CACHE_FOLDER.toLowerCase()).not.toBe(name.toLowerCase())
    expect(cacheDirOf('/p')).toBe(join('/p', CACHE_FOLDER))
  })
})
