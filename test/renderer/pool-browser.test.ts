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

describe('the pool browser', () => {
  it('opens with B, draws only the rows on screen, and answers the image under the cursor by keyboard as chosen queries', async () => {
    const fake = new FakeStudio()
    const w = await mountApp(fake)
    await useSessionStore().start(DEFAULT_CONFIG)
    await flushPromises()
    press('b')
    await flushPromises()
    expect(useAppStore().dialog).toBe('pool')
    expect(w.find('[data-testid="pool-total"]').text()).toBe('1,000 images')
    const tiles = w.findAll('[data-testid="pool-tile"]')
    expect(tiles.length).toBeGreaterThan(8)
    expect(tiles.length).toBeLessThan(200)
    expect(fake.callsOf('pool')[0]).toEqual([{ sort: 'uncertainty', filter: 'unanswered', offset: 0, limit: 240 }])

    press('ArrowRight')
    press('ArrowDown')
    await flushPromises()
    const under = w.find('[data-testid="pool-tile"].cursor').attributes('data-id')
    expect(w.find('[data-testid="pool-tile"].cursor').attributes('data-index')).toBe(String(1 + 8))
    press('o')
    await flushPromises()
    press('ArrowLeft')
    await flushPromises()
    const second = w.find('[data-testid="pool-tile"].cursor').attributes('data-id')
    press('0')
    await flushPromises()
    expect(fake.callsOf('choose').map(([id, v]) => [String(id), v])).toEqual([
      [under, 1],
      [second, 0]
    ])
    // The unanswered list closed up: the two are gone from it.
    expect(w.find('[data-testid="pool-total"]').text()).toBe('998 images')

    await w.find('[data-testid="pool-sort"]').setValue('p')
    await flushPromises()
    expect(fake.callsOf('pool').at(-1)).toEqual([{ sort: 'p', filter: 'unanswered', offset: 0, limit: 240 }])
    press('Escape')
    await flushPromises()
    expect(w.find('[data-testid="pool-browser"]').exists()).toBe(false)
  })
})
