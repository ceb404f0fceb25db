// Retraining the base CNN from the studio: progress, cancel, and new sessions on the new base.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { SessionEvent } from '../../../src/main/session/events'
import type { Progress } from '../../../src/shared/progress'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { nextEvent, startTestStudio, testConfig, TestStudio } from '../../helpers/studio'
import { verifyReplay } from '../../../src/main/session/replay'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
})
afterAll(async () => {
  await ts?.close()
})

const modelsDir = () => join(ts.dataDir, 'models')
const models = () => (existsSync(modelsDir()) ? readdirSync(modelsDir()).sort() : [])
const startEvent = (dir: string): SessionEvent => JSON.parse(readFileSync(join(dir, 'session.jsonl'), 'utf8').split('\n')[0])

describe('pretrainBase', () => {
  let older: { dir: string; hash: string } | undefined

  it('records a session on the shipped base first (reopened after the retraining below)', async () => {
    const s = await ts.studio.newSession(testConfig())
    const start = startEvent(s.dir)
    older = { dir: s.dir, hash: start.type === 'start' ? start.base.hash : '' }
    await ts.studio.close()
  })

  it('trains a base with pretrain progress, writes it under the data folder, and new sessions use it', async () => {
    const before = await ts.studio.info()
    const progress: Progress[] = []
    const off = ts.studio.on((e, p) => {
      if (e !== 'progress' || (p as Progress).task !== 'pretrain') return
      // Cancelling another task (nothing featurizes now) leaves the training running.
      if (progress.length === 0) void ts.studio.cancel('featurize')
      progress.push(p as Progress)
    })
    const r = await ts.studio.pretrainBase({ epochs: 1, seed: 1, limit: 256 }).finally(off)

    expect(progress.length).toBeGreaterThan(0)
    expect(progress.at(-1)).toMatchObject({ task: 'pretrain', done: 256, total: 256 })
    expect(Object.keys(progress[0].detail ?? {})).toEqual(expect.arrayContaining(['loss', 'accuracy']))

    expect(r.dir.startsWith(join(modelsDir(), 'mnist-cnn-'))).toBe(true)
    for (const f of ['model.json', 'weights.bin', 'metadata.json']) expect(existsSync(join(r.dir, f)), f).toBe(true)
    expect(models()).toEqual([r.dir.slice(modelsDir().length + 1)])
    const meta = JSON.parse(readFileSync(join(r.dir, 'metadata.json'), 'utf8'))
    expect(meta).toMatchObject({
      hash: r.hash,
      testAccuracy: r.testAccuracy,
      dataset: { trainImages: 256 },
      training: { epochs: 1, seed: 1 }
    })
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0)
    expect(r.testAccuracy).toBeLessThanOrEqual(1)
    expect(JSON.parse(readFileSync(join(ts.dataDir, 'base.json'), 'utf8'))).toEqual({ dir: r.dir })

    const info = await ts.studio.info()
    expect(info.base.hash).toBe(r.hash)
    expect(info.base.hash).not.toBe(before.base.hash)
    expect(info.base.testAccuracy).toBe(r.testAccuracy)

    const s = await ts.studio.newSession(testConfig())
    const start = startEvent(s.dir)
    expect(start.type === 'start' && start.base.hash).toBe(r.hash)
    // The session reopens on the same base: no base warning.
    await ts.studio.close()
    // replay --verify finds that base in the session's own data folder (not the CLI's default).
    const verified = await verifyReplay(s.dir, { cacheDir: ts.cacheDir })
    expect(verified.warnings.filter((w) => /base model/.test(w))).toEqual([])
    expect(verified.ok).toBe(true)
    const reopened = await ts.studio.openSession(s.dir)
    expect(reopened.warnings.filter((w) => /base model/.test(w))).toEqual([])
    // A session recorded on the shipped base reopens on that base, not the new one.
    await ts.studio.close()
    const old = await ts.studio.openSession(older!.dir)
    expect(old.warnings.filter((w) => /base model/.test(w))).toEqual([])
    expect(older!.hash).not.toBe(r.hash)
  })

  it('cancel("pretrain") after the first progress event rejects with CANCELLED and leaves no folder', async () => {
    const modelsBefore = models()
    const baseBefore = readFileSync(join(ts.dataDir, 'base.json'), 'utf8')
    const first = nextEvent(ts.studio, 'progress', (p) => p.task === 'pretrain').then(() => ts.studio.cancel('pretrain'))
    await expectCuratorErrorAsync(() => ts.studio.pretrainBase({ epochs: 2, seed: 2, limit: 4096 }), 'CANCELLED', /cancelled/i)
    await first
    expect(models()).toEqual(modelsBefore)
    expect(readFileSync(join(ts.dataDir, 'base.json'), 'utf8')).toBe(baseBefore)
  })

  it('falls back to the shipped base when the chosen folder is gone', async () => {
    const { dir } = JSON.parse(readFileSync(join(ts.dataDir, 'base.json'), 'utf8'))
    rmSync(dir, { recursive: true, force: true })
    const shipped = JSON.parse(readFileSync(join(process.env.CURATOR_BASE_MODEL!, 'metadata.json'), 'utf8'))
    expect((await ts.studio.info()).base.hash).toBe(shipped.hash)
  })
})
