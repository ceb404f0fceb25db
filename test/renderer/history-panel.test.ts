import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { FakeStudio } from './fake-studio'
import { useAppMount } from './mount-app'

vi.mock('vue-chartjs', () => import('./chart-stub'))
const mountApp = useAppMount()

function press(key: string): void {
  window.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }))
}

describe('the history panel', () => {
  it('lists the answers newest first with their names, moves by keyboard, changes the answer under the cursor, and filters', async () => {
    const fake = new FakeStudio()
    const w = await mountApp(fake)
    const session = useSessionStore()
    await session.start(DEFAULT_CONFIG)
    await flushPromises()
    const ids = session.batch.map((s) => s.item.id)
    for (const v of [1, 0, 1] as const) session.answer(v)
    await session.settled()
    // The latest fit doubts the first answer (the fake's state, as the studio would send it).
    fake.session!.labels[0].suspect = { p: 0.1 }
    fake.push()
    await flushPromises()
    expect(w.find('[data-testid="status-suspects"]').text()).toBe('1')
    expect(w.find('[data-testid="history-doubt-count"]').text()).toBe('1')

    press('h')
    await flushPromises()
    expect(useAppStore().dialog).toBe('history')
    const rows = () => w.findAll('[data-testid="history-row"]')
    expect(rows().map((r) => Number(r.attributes('data-id')))).toEqual([ids[2], ids[1], ids[0]])
    expect(rows().map((r) => r.find('[data-testid="history-name"]').text())).toEqual(
      ids
        .slice(0, 3)
        .reverse()
        .map((id) => `image #${id}`)
    )
    expect(fake.callsOf('images')[0]).toEqual([[ids[2], ids[1], ids[0]]])
    expect(w.findAll('[data-testid="history-row"] canvas').length + w.findAll('[data-testid="history-row"] img').length).toBeGreaterThan(0)
    expect(rows()[2].find('[data-testid="history-doubt"]').text()).toContain('in doubt')

    // Down twice: the oldest; its answer (positive) changed to negative with the negative key.
    press('ArrowDown')
    press('ArrowDown')
    await flushPromises()
    expect(rows()[2].attributes('aria-current')).toBe('true')
    press('e')
    await flushPromises()
    expect(fake.callsOf('relabel')).toEqual([[ids[0], 0]])
    expect(rows()[2].attributes('data-answer')).toBe('0')
    expect(rows()[2].find('[data-testid="history-changed"]').exists()).toBe(true)
    // The same answer again sends nothing.
    press('0')
    await flushPromises()
    expect(fake.callsOf('relabel')).toHaveLength(1)

    // F cycles the filter: in doubt, then positive, then negative.
    press('f')
    await flushPromises()
    expect(rows().map((r) => Number(r.attributes('data-id')))).toEqual([ids[0]])
    press('f')
    await flushPromises()
    expect(rows().map((r) => r.attributes('data-answer'))).toEqual(['1'])
    press('f')
    await flushPromises()
    expect(rows().every((r) => r.attributes('data-answer') === '0')).toBe(true)
    press('Escape')
    await flushPromises()
    expect(w.find('[data-testid="history"]').exists()).toBe(false)
  })

  it('shows the stop advice with its reason, and marks an image asked again', async () => {
    const fake = new FakeStudio()
    const w = await mountApp(fake)
    const session = useSessionStore()
    await session.start(DEFAULT_CONFIG)
    await flushPromises()
    for (const v of [1, 0, 1, 0] as const) session.answer(v)
    await session.settled()
    // The next batch opens with an image asked again, and the fit advises stopping.
    const batch = fake.batch.bind(fake)
    fake.batch = (n, c) => batch(n, c).map((it, k) => (k === 0 ? { ...it, check: 'reask' as const } : it))
    fake.session!.advice = { stop: true, reason: 'You can stop: the last 2 batches changed at most 0.1 % of the pool’s predictions' }
    fake.refit()
    await flushPromises()
    const advice = w.find('[data-testid="advice"]')
    expect(advice.attributes('data-stop')).toBe('true')
    expect(advice.text()).toMatch(/^You can stop/)
    expect(w.find('[data-testid="query-image"][data-check="reask"] [data-testid="reask-badge"]').text()).toBe('asked again')
  })
})
