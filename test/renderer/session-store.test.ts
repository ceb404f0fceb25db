import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { setApi } from '../../src/renderer/src/api/client'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { FakeStudio } from './fake-studio'
import { startStudio } from '../../src/renderer/src/wiring'

let fake: FakeStudio

async function started(opts: ConstructorParameters<typeof FakeStudio>[0] = {}) {
  fake = new FakeStudio(opts)
  setApi(fake)
  const app = useAppStore()
  await startStudio()
  const s = useSessionStore()
  expect(await s.start(DEFAULT_CONFIG)).toBe(true)
  return { s, app }
}

const ids = (s: ReturnType<typeof useSessionStore>) => s.batch.map((x) => x.item.id)
const answers = (s: ReturnType<typeof useSessionStore>) => s.batch.map((x) => x.answer)

beforeEach(() => setActivePinia(createPinia()))

describe('session store', () => {
  it('starts a session and shows its batch, the first item active', async () => {
    const { s, app } = await started()
    expect(fake.callsOf('newSession')).toEqual([[DEFAULT_CONFIG]])
    expect(app.view).toBe('label')
    expect(ids(s)).toEqual([1, 2, 3, 4])
    expect(s.activeIndex).toBe(0)
    expect(s.labelCount).toBe(0)
  })

  it('a reload mid-batch shows the answered tiles with their answers, the next one active', async () => {
    const { s } = await started()
    s.answer(1)
    s.skip()
    await s.settled()
    setActivePinia(createPinia()) // the page reloads: a fresh store, the same studio
    await startStudio()
    const reloaded = useSessionStore()
    expect(ids(reloaded)).toEqual([1, 2, 3, 4])
    expect(answers(reloaded)).toEqual([1, 'skipped', null, null])
    expect(reloaded.activeIndex).toBe(2)
  })

  it('records an answer at once, moves on, then calls api.label with the response time', async () => {
    const { s } = await started()
    expect(s.answer(1)).toBe(true)
    // synchronous: the screen has already moved on
    expect(answers(s)).toEqual([1, null, null, null])
    expect(s.activeIndex).toBe(1)
    expect(s.labelCount).toBe(1)
    await s.settled()
    const [[id, value, ms]] = fake.callsOf('label')
    expect([id, value]).toEqual([1, 1])
    expect(ms).toBeGreaterThanOrEqual(0)
    expect(s.inFlight).toBe(0)
  })

  it('sends answers strictly in order', async () => {
    const { s } = await started()
    s.answer(1)
    s.answer(0)
    s.skip()
    await s.settled()
    expect(fake.calls.filter((c) => c.method === 'label' || c.method === 'skip').map((c) => [c.method, c.args[0]])).toEqual([
      ['label', 1],
      ['label', 2],
      ['skip', 3]
    ])
    expect(answers(s)).toEqual([1, 0, 'skipped', null])
  })

  it('a new 64-image batch that comes while the labeller waits is shown once its images are loaded, 16 a task', async () => {
    fake = new FakeStudio({ batchSize: 64 })
    setApi(fake)
    await startStudio()
    const s = useSessionStore()
    expect(await s.start({ ...DEFAULT_CONFIG, batchSize: 64 })).toBe(true)
    for (let k = 0; k < 64; k++) s.answer(k % 2 ? 1 : 0)
    await s.settled()
    const answered = ids(s)
    fake.refit()
    // Not in this task: its images are loaded first, and meanwhile nothing can be answered.
    expect(ids(s)).toEqual(answered)
    expect(s.waiting).toBe(true)
    expect(s.answer(1)).toBe(false)
    await vi.waitFor(() => expect(s.waiting).toBe(false))
    expect(ids(s)).toEqual(Array.from({ length: 64 }, (_, i) => 65 + i))
    expect(s.activeIndex).toBe(0)
    expect(s.labelCount).toBe(64)
  })

  it('without a prefetch, waits after the last answer until the session event brings the next batch', async () => {
    const { s } = await started()
    for (const v of [1, 0, 1, 0] as const) s.answer(v)
    expect(s.waiting).toBe(true)
    expect(s.answer(1)).toBe(false)
    await s.settled()
    fake.refit()
    expect(s.waiting).toBe(false)
    expect(ids(s)).toEqual([5, 6, 7, 8])
    expect(s.history).toHaveLength(2)
    expect(s.labelCount).toBe(4)
  })

  it('shows the prefetched batch for the given answer immediately, and keeps it when the server confirms', async () => {
    const { s } = await started({ prefetch: true })
    s.answer(1)
    s.answer(1)
    s.answer(0)
    await s.settled()
    // the studio knows the prefetch once one item is left, and says so
    fake.push()
    const next = fake.session!.next!
    expect(s.answer(0)).toBe(true)
    // no round trip: the negative prefetch is on screen at once
    expect(ids(s)).toEqual(next.negative.map((q) => q.id))
    expect(s.activeIndex).toBe(0)
    // label the first prefetched image before the server has even refitted
    s.answer(1)
    expect(answers(s)).toEqual([1, null, null, null])
    // a stale event (before the refit) must not take the screen back
    fake.push()
    expect(ids(s)).toEqual(next.negative.map((q) => q.id))
    await s.settled()
    fake.refit()
    expect(ids(s)).toEqual(next.negative.map((q) => q.id))
    expect(answers(s)).toEqual([1, null, null, null])
    expect(s.labelCount).toBe(5)
    expect(s.ops).toEqual([])
  })

  it('undo waits for pending answers, then takes back the last label', async () => {
    const { s } = await started()
    s.answer(1)
    s.answer(0)
    const ok = await s.undo()
    expect(ok).toBe(true)
    expect(fake.callsOf('label')).toHaveLength(2)
    expect(fake.callsOf('undo')).toHaveLength(1)
    expect(answers(s)).toEqual([1, null, null, null])
    expect(s.activeIndex).toBe(1)
    expect(s.labelCount).toBe(1)
  })

  it('undo across a batch boundary brings the previous batch back', async () => {
    const { s } = await started()
    for (const v of [1, 1, 1, 0] as const) s.answer(v)
    await s.settled()
    fake.refit()
    expect(ids(s)).toEqual([5, 6, 7, 8])
    await s.undo()
    expect(ids(s)).toEqual([1, 2, 3, 4])
    expect(answers(s)).toEqual([1, 1, 1, null])
  })

  it('ignores answers while an undo is pending', async () => {
    const { s } = await started()
    s.answer(1)
    const p = s.undo()
    expect(s.answer(0)).toBe(false)
    await p
    expect(fake.callsOf('label')).toHaveLength(1)
  })

  it('a rejected label shows a toast and resynchronises with the studio', async () => {
    const { s, app } = await started()
    fake.fail('label', 'DISK_FULL', 'The disk is full')
    s.answer(1)
    s.answer(0)
    await s.settled()
    expect(app.toasts.map((t) => t.message)).toEqual(['The disk is full'])
    expect(fake.callsOf('state').length).toBeGreaterThan(0)
    // the second answer was dropped with the first; the screen shows what the studio has
    expect(fake.callsOf('label')).toHaveLength(1)
    expect(answers(s)).toEqual([null, null, null, null])
    expect(s.labelCount).toBe(0)
  })

  it('a lost connection takes back what the studio did not acknowledge, takes no answer, and after reconnecting shows what the studio has', async () => {
    const { s, app } = await started()
    s.answer(1)
    await s.settled() // acknowledged (saved), though no state says so yet
    fake.hold('label')
    s.answer(0) // sent, never answered
    s.answer(1) // queued behind it
    await Promise.resolve()
    expect(answers(s)).toEqual([1, 0, 1, null])
    fake.setConnection('lost')
    await s.settled()
    expect(app.connection).toBe('lost')
    expect(answers(s)).toEqual([1, null, null, null])
    expect(s.labelCount).toBe(1)
    expect(s.inFlight).toBe(0)
    expect(s.answer(1)).toBe(false)
    expect(s.skip()).toBe(false)
    expect(s.canUndo).toBe(false)
    expect(answers(s)).toEqual([1, null, null, null])
    expect(fake.callsOf('label')).toHaveLength(2) // the queued answer was never sent
    expect(app.toasts).toEqual([])
    fake.setConnection('open')
    await flushPromises()
    // The view is the studio's state: exactly the one answer it saved.
    expect(answers(s)).toEqual([1, null, null, null])
    expect(s.state?.labels.map((l) => l.id)).toEqual([1])
    expect(s.answer(0)).toBe(true)
    await s.settled()
    expect(fake.callsOf('label').map(([id]) => id)).toEqual([1, 2, 2])
  })

  it('reconnected to a server started again (no session open), it opens the session the tab showed', async () => {
    const { s } = await started()
    s.answer(1)
    await s.settled()
    const dir = s.state!.dir
    fake.setConnection('lost')
    fake.session = null
    fake.sessions = [{ id: 'sess-1', dir, createdAt: '', dataset: 'mnist', strategy: 'uncertainty', labels: 1, lastAccuracy: null }]
    fake.setConnection('open')
    await flushPromises()
    expect(fake.callsOf('openSession')).toEqual([[dir]])
    expect(s.state?.dir).toBe(dir)
    expect(s.connected).toBe(true)
  })

  it('takes no answer while reconnecting, until the studio state it reopened is on screen', async () => {
    const { s } = await started()
    s.answer(1)
    await s.settled()
    const dir = s.state!.dir
    fake.setConnection('lost')
    fake.session = null
    fake.sessions = [{ id: 'sess-1', dir, createdAt: '', dataset: 'mnist', strategy: 'uncertainty', labels: 1, lastAccuracy: null }]
    fake.setConnection('open')
    // The session is being opened again: an answer now would be wiped by its state, or reach no session.
    expect(s.answer(0)).toBe(false)
    expect(answers(s)).toEqual([1, null, null, null])
    await flushPromises()
    expect(s.pending).toBeNull()
    const next = s.active!.item.id
    const shown = s.labelCount
    expect(s.answer(0)).toBe(true)
    await s.settled()
    await flushPromises()
    expect(fake.callsOf('label').map(([id]) => id)).toEqual([1, next])
    expect(s.batch.find((x) => x.item.id === next)?.answer).toBe(0)
    expect(s.labelCount).toBe(shown + 1)
  })

  it('reveals guesses only for answered items, or for all with the toggle', async () => {
    const { s } = await started()
    s.answer(1)
    s.toggleReveal(2) // unanswered: stays hidden
    s.toggleReveal(1)
    expect(s.batch.map((x) => s.isRevealed(x))).toEqual([true, false, false, false])
    s.toggleRevealAll()
    expect(s.batch.every((x) => s.isRevealed(x))).toBe(true)
  })

  it('shows log warnings once, until dismissed', async () => {
    const { s } = await started({ warnings: ['line 7: truncated event recovered'] })
    expect(s.warnings).toEqual(['line 7: truncated event recovered'])
    s.dismissWarnings()
    expect(s.warnings).toEqual([])
    fake.refit()
    expect(s.warnings).toEqual([])
  })

  it('a failed start reports the error and stays on the start view', async () => {
    fake = new FakeStudio()
    setApi(fake)
    const app = useAppStore()
    fake.fail('newSession', 'BAD_DATA', 'Not an IDX file')
    const s = useSessionStore()
    expect(await s.start(DEFAULT_CONFIG)).toBe(false)
    expect(app.view).toBe('start')
    expect(app.toasts[0]).toMatchObject({ kind: 'error', code: 'BAD_DATA', message: 'Not an IDX file' })
    expect(s.pending).toBeNull()
  })

  it('opens (resumes) a session folder', async () => {
    fake = new FakeStudio()
    fake.sessions = [
      { id: 's1', dir: '/data/s1', createdAt: '2020-01-01T00:00:00Z', dataset: 'mnist', strategy: 'diverse', labels: 4, lastAccuracy: 0.9 }
    ]
    setApi(fake)
    const s = useSessionStore()
    expect(await s.open('/data/missing')).toBe(false)
    expect(useAppStore().toasts.at(-1)).toMatchObject({ code: 'NOT_FOUND' })
    expect(await s.open('/data/s1')).toBe(true)
    expect(fake.callsOf('openSession')).toEqual([['/data/missing'], ['/data/s1']])
    expect(s.state?.dir).toBe('/data/s1')
    expect(useAppStore().view).toBe('label')
  })

  it('exports the model and returns the error code for the dialog', async () => {
    const { s } = await started()
    await expect(s.exportModel('/out', true)).resolves.toMatchObject({ ok: true, result: { dir: '/out' } })
    expect(fake.callsOf('exportModel')).toEqual([['/out', true]])
    fake.fail('exportModel', 'EXISTS', '/out exists')
    await expect(s.exportModel('/out')).resolves.toEqual({ ok: false, code: 'EXISTS', message: '/out exists' })
  })

  it('a session event for another session replaces the view', async () => {
    const { s } = await started()
    s.answer(1)
    await s.settled()
    const other = { ...fake.snapshot(), id: 'sess-2', queue: fake.batch(2), answered: [], labels: [] }
    fake.emit('session', other)
    expect(s.state?.id).toBe('sess-2')
    expect(answers(s)).toEqual([null, null])
  })
})
