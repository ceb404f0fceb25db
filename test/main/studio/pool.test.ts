// The pool browser's pages and chosen answers, on a real engine thread: chosen answers are
// logged as one-image queries with strategy 'chosen' and replay, verify and export like any batch.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyReplay } from '../../../src/main/session/replay'
import type { SessionEvent } from '../../../src/main/session/events'
import type { PoolQuery } from '../../../src/shared/contract'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { startTestStudio, testBaseModel, testConfig, TestStudio } from '../../helpers/studio'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

const q = (over: Partial<PoolQuery> = {}): PoolQuery => ({ sort: 'p', filter: 'all', offset: 0, limit: 50, ...over })
const readLog = (dir: string): SessionEvent[] =>
  readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))

describe('the pool browser', () => {
  it('pages the whole pool by P, uncertainty and base class under the standing fit', async () => {
    let s = await ts.studio.newSession(testConfig())
    for (const item of s.queue) await ts.studio.label(item.id, item.id % 2 === 1 ? 1 : 0, 20)
    s = (await ts.studio.state())!
    // Three answered of the next batch: the engine holds speculative fits; the pages must not show them.
    for (const item of s.queue.slice(0, 3)) await ts.studio.label(item.id, 0, 20)
    s = (await ts.studio.state())!
    const byP = await ts.studio.pool(q({ limit: 800 }))
    expect(byP.total).toBe(800)
    const p = new Map(byP.items.map((i) => [i.id, i.p]))
    // The queue was asked under the standing fit: its recorded P is what the browser shows.
    for (const item of s.queue) expect(p.get(item.id)).toBe(item.p)
    const ps = byP.items.map((i) => i.p)
    expect(ps).toEqual([...ps].sort((a, b) => b - a))
    const unsure = await ts.studio.pool(q({ sort: 'uncertainty', limit: 800 }))
    const u = unsure.items.map((i) => Math.abs(i.p - 0.5))
    expect(u).toEqual([...u].sort((a, b) => a - b))
    const byClass = await ts.studio.pool(q({ sort: 'class', limit: 800 }))
    const classes = byClass.items.map((i) => Number(i.baseClass))
    expect(classes).toEqual([...classes].sort((a, b) => a - b))
    expect(new Set(classes).size).toBeGreaterThan(1)
    // Pages are slices of one order; filters by answer state.
    expect((await ts.studio.pool(q({ offset: 100, limit: 20 }))).items.map((i) => i.id)).toEqual(byP.items.slice(100, 120).map((i) => i.id))
    const labelled = await ts.studio.pool(q({ filter: 'labelled', limit: 800 }))
    expect(labelled.total).toBe(7)
    expect(labelled.items.every((i) => i.answer === 0 || i.answer === 1)).toBe(true)
    expect((await ts.studio.pool(q({ filter: 'unanswered' }))).total).toBe(793)
    expect((await ts.studio.pool(q({ filter: 'skipped' }))).total).toBe(0)
    expect(Buffer.from(byP.items[0].pixelsBase64, 'base64').length).toBe(784)
  }, 300_000)

  it('chosen answers are one-image batches: logged, fitted, verified on replay, exported', async () => {
    let s = await ts.studio.newSession(testConfig())
    const unsure = await ts.studio.pool(q({ sort: 'uncertainty', filter: 'unanswered', offset: 300, limit: 2 }))
    const [a, b] = unsure.items
    s = await ts.studio.choose(a.id, 1, 500)
    expect(s.history).toHaveLength(2)
    expect(s.history[1]).toMatchObject({ iteration: 1, labels: 1 })
    expect(s.labels.map((l) => [l.id, l.value])).toEqual([[a.id, 1]])
    expect(s.queue).toHaveLength(4)
    await expectCuratorErrorAsync(() => ts.studio.choose(a.id, 0, 10), 'BAD_ARGUMENT', /answered already/)
    // Part of the batch answered: finish it first.
    await ts.studio.label(s.queue[0].id, 0, 10)
    await expectCuratorErrorAsync(
      () => ts.studio.choose(b.id, 0, 10),
      'BAD_ARGUMENT',
      /Finish the batch on screen first \(1 of 4 answered\)/
    )
    s = (await ts.studio.state())!
    for (const item of s.queue) await ts.studio.label(item.id, 1, 10)
    s = (await ts.studio.state())!
    s = await ts.studio.choose(b.id, 0, 700)
    expect(s.labels.map((l) => l.id).slice(-1)).toEqual([b.id])
    expect(s.history.map((h) => h.labels)).toEqual([0, 1, 5, 6])

    const log = readLog(s.dir)
    const chosen = log.filter((e) => e.type === 'query' && e.strategy === 'chosen')
    expect(chosen.map((e) => e.type === 'query' && [e.iteration, e.ids])).toEqual([
      [0, [a.id]],
      [2, [b.id]]
    ])
    // Each chosen query is followed by its label and a fit.
    const at = log.indexOf(chosen[1])
    expect(log.slice(at + 1, at + 3).map((e) => e.type)).toEqual(['label', 'train'])

    const v = await verifyReplay(s.dir, { cacheDir: ts.cacheDir, baseDir: await testBaseModel() })
    expect(v.firstMismatch).toBeNull()
    expect(v.ok).toBe(true)
    expect(v.iterations.map((i) => i.labels)).toEqual([0, 1, 5, 6])
    const r = await ts.studio.replay(s.dir)
    expect(r.steps[1].asked.map((x) => [x.id, x.answer])).toEqual([[a.id, 1]])
    const out = join(ts.root, 'chosen-export')
    await ts.studio.exportModel(out)
    const csv = readFileSync(join(out, 'labels.csv'), 'utf8')
    expect(csv).toContain(`${a.id},`)
    expect(csv).toContain(`${b.id},`)
  }, 300_000)

  it('refuses bad ids', async () => {
    await ts.studio.newSession(testConfig())
    await expectCuratorErrorAsync(() => ts.studio.choose(800, 1, 0), 'BAD_ARGUMENT', /No image 800 in a pool of 800/)
  }, 300_000)
})
