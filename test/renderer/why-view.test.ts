import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG, type WhyDto } from '../../src/shared/contract'
import { FakeStudio, item } from './fake-studio'
import { useAppMount } from './mount-app'

vi.mock('vue-chartjs', () => import('./chart-stub'))
const mountApp = useAppMount()

function press(key: string): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true })
  window.dispatchEvent(e)
  return e
}

const why = (id: number, position: number, previous: number | null, next: number | null): WhyDto => ({
  ...item(id, 0.48),
  iteration: 3,
  answer: 1,
  reason: {
    kind: 'uncertain',
    strategy: 'uncertainty',
    text: `closest to the boundary: P 0.48, rank ${position} of 59,988`,
    p: 0.48,
    rank: position,
    candidates: 59988,
    distance: null
  },
  pNow: 0.93,
  nearest: [
    { ...item(90, 0.5), value: 1, distance: 0.05 },
    { ...item(91, 0.5), value: 0, distance: 0.2 }
  ],
  position,
  answered: 2,
  previous,
  next
})

describe('why this image', () => {
  it('is offered only on answered tiles; W opens the last answer, the arrows step, Esc closes', async () => {
    const fake = new FakeStudio()
    const w = await mountApp(fake)
    await useSessionStore().start(DEFAULT_CONFIG)
    await flushPromises()
    expect(w.findAll('[data-testid="btn-why"]')).toHaveLength(0)
    press('o')
    await flushPromises()
    const answered = Number(w.find('[data-testid="query-image"][data-answer="1"]').attributes('data-id'))
    expect(w.findAll('[data-testid="btn-why"]')).toHaveLength(1)
    fake.whyDtos.set(answered - 1, why(answered - 1, 1, null, answered))
    fake.whyDtos.set(answered, why(answered, 2, answered - 1, null))

    press('w')
    await flushPromises()
    expect(useAppStore().dialog).toBe('why')
    expect(fake.callsOf('why').at(-1)).toEqual([undefined])
    expect(w.find('[data-testid="why-body"]').attributes('data-id')).toBe(String(answered))
    expect(w.find('[data-testid="why-reason"]').text()).toContain('closest to the boundary: P 0.48, rank 2 of 59,988')
    expect(w.find('[data-testid="why-p"]').text()).toBe('P(odd) 0.48 when asked · 0.93 now')
    expect(w.findAll('[data-testid="why-neighbour"]').map((n) => n.classes('differs'))).toEqual([false, true])
    // Answer keys do nothing while it is open.
    press('o')
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(1)
    press('ArrowLeft')
    await flushPromises()
    expect(fake.callsOf('why').at(-1)).toEqual([answered - 1])
    expect(w.find('[data-testid="why-position"]').text()).toBe('answer 1 of 2')
    press('Escape')
    await flushPromises()
    expect(useAppStore().dialog).toBeNull()

    // The tile's link opens that image.
    await w.find('[data-testid="btn-why"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('why').at(-1)).toEqual([answered])
  })
})
