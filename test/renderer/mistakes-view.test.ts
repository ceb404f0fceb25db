import { flushPromises } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG, type MistakesDto } from '../../src/shared/contract'
import { FakeStudio, item } from './fake-studio'
import { useAppMount } from './mount-app'

vi.mock('vue-chartjs', () => import('./chart-stub'))
const mountApp = useAppMount()

function press(key: string): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true })
  window.dispatchEvent(e)
  return e
}

const dto = (): MistakesDto => ({
  iteration: 2,
  labels: 8,
  confusion: [
    [90, 10],
    [4, 96]
  ],
  perClass: [
    { name: '0', positive: false, count: 100, correct: 90 },
    { name: '1', positive: true, count: 100, correct: 96 }
  ],
  cell: null,
  total: 2,
  items: [
    { ...item(7, 0.9), truth: 0, className: '0' },
    { ...item(8, 0.7), truth: 0, className: '0' }
  ]
})

describe('the mistakes view', () => {
  it('opens with M, shows the confusion matrix and per-class accuracy, opens cells by key and click, closes with Esc', async () => {
    const fake = new FakeStudio()
    fake.mistakesDto = dto()
    const w = await mountApp(fake)
    await useSessionStore().start(DEFAULT_CONFIG)
    await flushPromises()
    press('m')
    await flushPromises()
    expect(useAppStore().dialog).toBe('mistakes')
    const view = w.find('[data-testid="mistakes-view"]')
    expect(view.exists()).toBe(true)
    expect(view.text()).toContain('accuracy 93.0% on 200 images')
    expect(w.findAll('[data-testid="mistake-cell"]').map((c) => c.text())).toEqual(['190', '210', '34', '496'])
    expect(w.find('[data-testid="per-class"]').text()).toContain('10 wrong')
    // Label keys do nothing while the view is open.
    press('o')
    await flushPromises()
    expect(fake.callsOf('label')).toEqual([])

    press('2')
    await flushPromises()
    expect(fake.callsOf('mistakes').at(-1)).toEqual([{ truth: 0, predicted: 1 }, 120])
    expect(w.find('[data-testid="mistake-images"]').attributes('data-cell')).toBe('t0p1')
    expect(w.findAll('[data-testid="mistake-image"]').map((i) => i.attributes('data-id'))).toEqual(['7', '8'])

    await w.find('[data-testid="class-cell"][data-class="1"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('mistakes').at(-1)).toEqual([{ className: '1' }, 120])

    press('Escape')
    await flushPromises()
    expect(w.find('[data-testid="mistake-images"]').exists()).toBe(false)
    press('Escape')
    await flushPromises()
    expect(w.find('[data-testid="mistakes-view"]').exists()).toBe(false)
    expect(useAppStore().dialog).toBeNull()
  })

  it('says so where there is no ground truth', async () => {
    const fake = new FakeStudio()
    const w = await mountApp(fake)
    await useSessionStore().start(DEFAULT_CONFIG)
    await flushPromises()
    await w.find('[data-testid="btn-mistakes"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="mistakes-none"]').exists()).toBe(true)
  })
})
