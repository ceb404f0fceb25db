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
    // The checks of the answers ask first (here: confirming regions a lone answer stands for);
    // the strategy's own picks follow, ranked among the images the checks left.
    const checks = s.queue.filter((q) => q.check !== undefined)
    expect(checks.every((q) => q.check === 'confirm')).toBe(true)
    const batch = s.queue.filter((q) => q.check === undefined)
    expect(batch.length).toBeGreaterThanOrEqual(2)
    // The order the browser shows under the same (standing) fit, before any of this batch is answered.
    const order = await ts.studio.pool({ sort: 'uncertainty', filter: 'unanswered', offset: 0, limit: 50 })
    expect(order.total).toBe(796)
    for (const c of checks) await ts.studio.label(c.id, truth(c.id), 20)
    await ts.studio.label(batch[0].id, truth(batch[0].id), 20)
    await ts.studio.label(batch[1].id, truth(batch[1].id), 20)
    const why = (await ts.studio.why(batch[1].id))!
    // Its rank: after every image the checks left that is nearer 0.5, among those equally near (ties go by the seed).
    const left = order.items.filter((i) => !checks.some((c) => c.id === i.id))
    const gap = (p: number) => Math.abs(p - 0.5)
    const rank = why.reason.rank!
    expect(rank).toBeGreaterThan(left.filter((i) => gap(i.p) < gap(batch[1].p)).length)
    expect(rank).toBeLessThanOrEqual(left.filter((i) => gap(i.p) <= gap(batch[1].p)).length)
    expect(why.reason).toMatchObject({ kind: 'uncertain', strategy: 'uncertainty', rank: 2, candidates: 796, p: batch[1].p })
    expect(why.reason.text).toMatch(new RegExp(`^closest to the boundary: P 0\\.\\d+, rank ${rank} of 796$`))
    const answered = 4 + checks.length + 2
    expect(why).toMatchObject({ id: batch[1].id, iteration: 1, answer: truth(batch[1].id), position: answered, answered })
    expect(why).toMatchObject({ previous: batch[0].id, pNow: batch[1].p })
    expect((await ts.studio.why(checks[0]?.id ?? batch[0].id))!.reason.kind).toBe(checks.length ? 'confirm' : 'uncertain')
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
    expect(first).toMatchObject({ id: batch[0].id, position: answered - 1, next: batch[1].id })
    // A skip is an answer too; undone, it is waiting again and refused.
    const last = (await ts.studio.state())!.queue[0]
    await ts.studio.skip(last.id)
    expect((await ts.studio.why(last.id))!.answer).toBe('skipped')
    await ts.studio.undo()
    await expectCuratorErrorAsync(() => ts.studio.why(last.id), 'BAD_ARGUMENT', /not answered yet/)
    const never = order.items.at(-1)!.id
    await expectCuratorErrorAsync(() => ts.studio.why(never), 'NOT_FOUND', /was not asked in this session/)
  }, 300_000)

  it('diverse: typical images covering the regions, then confirming them; a chosen image says so', async () => {
    let s = await ts.studio.newSession(testConfig({ strategy: 'diverse' }))
    // Covers first (one per region of the small test base's pool), the strategy's picks after them.
    const first = s.queue.map((q) => q.check)
    expect(first[0]).toBe('cover')
    expect(first.filter((c) => c !== undefined).every((c) => c === 'cover')).toBe(true)
    for (let b = 0; b < 3; b++) {
      for (const item of s.queue) await ts.studio.label(item.id, truth(item.id), 20)
      s = (await ts.studio.state())!
    }
    const kinds = await Promise.all(s.labels.map(async (l) => (await ts.studio.why(l.id))!.reason.kind))
    expect(kinds[0]).toBe('cover')
    expect(kinds).toContain('confirm')
    const confirm = (await ts.studio.why(s.labels[kinds.indexOf('confirm')].id))!.reason
    expect(confirm.text).toMatch(/^a typical image of a region whose answers lead by only \d for one side/)
    const page = await ts.studio.pool({ sort: 'p', filter: 'unanswered', offset: 0, limit: 10 })
    const pick = page.items.find((i) => !s.queue.some((q) => q.id === i.id))!
    await ts.studio.choose(pick.id, 1, 30)
    expect((await ts.studio.why())!.reason).toMatchObject({ kind: 'chosen', strategy: 'chosen' })
  }, 300_000)
})
