// "Why this image" on a real engine thread: only answered images, the rule's numbers match what
// the pool browser shows under the same fit, the neighbours are labelled images, and stepping
// walks the answers in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionState } from '../../../src/shared/contract'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'

let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(async () => {
  await ts?.close()
})

const truth = (id: number) => (id % 3 === 0 ? 1 : 0)

describe('why this image', () => {
  it('uncertainty: rank and candidates are the image’s place in the pool browser’s uncertainty order under the fit that asked it', async () => {
    let s: SessionState = await ts.studio.newSession(testConfig({ strategy: 'uncertainty' }))
    expect(await ts.studio.why()).toBeNull()
    await expectCuratorErrorAsync(() => ts.studio.why(s.queue[0].id), 'BAD_ARGUMENT', /not answered yet.*cannot sway the answer/)
    for (const item of s.queue) await ts.studio.label(item.id, truth(item.id), 20)
    s = (await ts.studio.state())!
    const batch = s.queue
    // The order the browser shows under the same (standing) fit, before any of this batch is answered.
    const order = await ts.studio.pool({ sort: 'uncertainty', filter: 'unanswered', offset: 0, limit: 50 })
    expect(order.total).toBe(796)
    await ts.studio.label(batch[0].id, truth(batch[0].id), 20)
    await ts.studio.label(batch[1].id, truth(batch[1].id), 20)
    const why = (await ts.studio.why(batch[1].id))!
    const rank = order.items.findIndex((i) => i.id === batch[1].id) + 1
    expect(rank).toBeGreaterThan(0)
    expect(why.reason).toMatchObject({ kind: 'uncertain', strategy: 'uncertainty', rank, candidates: 796, p: batch[1].p })
    expect(why.reason.text).toMatch(new RegExp(`^closest to the boundary: P 0\\.\\d+, rank ${rank} of 796$`))
    expect(why).toMatchObject({ id: batch[1].id, iteration: 1, answer: truth(batch[1].id), position: 6, answered: 6 })
    expect(why).toMatchObject({ previous: batch[0].id, next: null, pNow: batch[1].p })
    expect(Buffer.from(why.pixelsBase64, 'base64').length).toBe(784)
    // The neighbours: five of the other five labelled images, nearest first, with their answers.
    const labels = new Map((await ts.studio.state())!.labels.map((l) => [l.id, l.value]))
    expect(why.nearest).toHaveLength(5)
    for (const n of why.nearest) {
      expect(n.id).not.toBe(batch[1].id)
      expect(n.value).toBe(labels.get(n.id))
    }
    const d = why.nearest.map((n) => n.distance)
    expect(d).toEqual([...d].sort((a, b) => a - b))
    // No id: the last answer. Stepping back reaches the first batch.
    expect((await ts.studio.why())!.id).toBe(batch[1].id)
    const first = (await ts.studio.why(why.previous!))!
    expect(first).toMatchObject({ id: batch[0].id, position: 5, next: batch[1].id })
    // A skip is an answer too; undone, it is waiting again and refused.
    await ts.studio.skip(batch[2].id)
    expect((await ts.studio.why(batch[2].id))!.answer).toBe('skipped')
    await ts.studio.undo()
    await expectCuratorErrorAsync(() => ts.studio.why(batch[2].id), 'BAD_ARGUMENT', /not answered yet/)
    const never = order.items.at(-1)!.id
    await expectCuratorErrorAsync(() => ts.studio.why(never), 'NOT_FOUND', /was not asked in this session/)
  }, 300_000)

  it('diverse: a seeded first pick, then the farthest images, with the distance the query recorded; a chosen image says so', async () => {
    let s = await ts.studio.newSession(testConfig({ strategy: 'diverse' }))
    const batch = s.queue
    for (const item of batch) await ts.studio.label(item.id, truth(item.id), 20)
    const first = (await ts.studio.why(batch[0].id))!
    expect(first.reason).toMatchObject({ kind: 'first-pick', rank: 1, candidates: 800 })
    expect(first.nearest).toHaveLength(3)
    for (const [k, item] of batch.entries()) {
      if (k === 0) continue
      const r = (await ts.studio.why(item.id))!.reason
      expect(r).toMatchObject({ kind: 'farthest', rank: k + 1, distance: -item.score })
      expect(r.text).toContain(`to the nearest of ${k} image${k === 1 ? '' : 's'}`)
    }
    s = (await ts.studio.state())!
    const page = await ts.studio.pool({ sort: 'p', filter: 'unanswered', offset: 0, limit: 10 })
    const pick = page.items.find((i) => !s.queue.some((q) => q.id === i.id))!
    await ts.studio.choose(pick.id, 1, 30)
    expect((await ts.studio.why())!.reason).toMatchObject({ kind: 'chosen', strategy: 'chosen' })
  }, 300_000)
})
