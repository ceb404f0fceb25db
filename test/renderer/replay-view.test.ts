import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { STEP_MS, useReplayStore } from '../../src/renderer/src/stores/replay'
import { useAppMount } from './mount-app'
import { FakeStudio, replayDto } from './fake-studio'

vi.mock('vue-chartjs', () => import('./chart-stub'))

let fake: FakeStudio
const mountApp = useAppMount()

async function mountPlayer(steps = 4) {
  fake = new FakeStudio()
  fake.replayDto = replayDto(steps)
  const wrapper = await mountApp(fake)
  await useReplayStore().open('/tmp/sessions/sess-r')
  await flushPromises()
  expect(wrapper.find('[data-testid="view-replay"]').exists()).toBe(true)
  return wrapper
}

const press = (key: string, target: EventTarget = window) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }))
const position = (w: VueWrapper) => w.find('[data-testid="player-position"]').text()
const accuracyPoints = (w: VueWrapper) =>
  (JSON.parse(w.find('[data-testid="chart-accuracy"]').attributes('data-chart')!) as unknown[][])[0].length
/** Charts are rebuilt in idle time after a step. */
const chartsShow = (w: VueWrapper, points: number) => vi.waitFor(() => expect(accuracyPoints(w)).toBe(points))

afterEach(() => {
  vi.useRealTimers()
})

describe('replay player', () => {
  it('starts at the first step with the charts as they were then', async () => {
    const w = await mountPlayer()
    expect(position(w)).toContain('step 1/4')
    expect(w.find('[data-testid="player-slider"]').attributes('max')).toBe('3')
    expect(accuracyPoints(w)).toBe(1)
    expect(w.findAll('[data-testid="replay-image"]')).toHaveLength(0)
  })

  it('steps with → and ← and shows the images asked with their answers', async () => {
    const w = await mountPlayer()
    press('ArrowRight')
    await nextTick()
    expect(position(w)).toContain('step 2/4')
    const imgs = w.findAll('[data-testid="replay-image"]')
    expect(imgs).toHaveLength(4)
    expect(imgs.map((i) => i.attributes('data-answer'))).toEqual(['0', '1', '0', ''])
    expect(imgs.map((i) => i.find('.answer-chip').text())).toEqual(['even', 'odd', 'even', 'skipped'])
    await chartsShow(w, 2)
    await vi.waitFor(() => expect(w.find('[data-testid="chart-weights"]').attributes('data-iteration')).toBe('1'))
    press('ArrowRight')
    press('ArrowRight')
    press('ArrowRight')
    await nextTick()
    expect(position(w)).toContain('step 4/4')
    await chartsShow(w, 4)
    press('ArrowLeft')
    await nextTick()
    expect(position(w)).toContain('step 3/4')
    await chartsShow(w, 3)
  })

  it('plays and pauses with Space', async () => {
    vi.useFakeTimers()
    const w = await mountPlayer()
    press(' ')
    await nextTick()
    expect(w.find('[data-testid="btn-play"]').attributes('aria-label')).toBe('Pause')
    vi.advanceTimersByTime(STEP_MS * 2)
    await nextTick()
    expect(position(w)).toContain('step 3/4')
    press(' ')
    vi.advanceTimersByTime(STEP_MS * 3)
    await nextTick()
    expect(position(w)).toContain('step 3/4')
    expect(w.find('[data-testid="btn-play"]').attributes('aria-label')).toBe('Play')
  })

  it('scrubs with the slider and steps with the buttons', async () => {
    const w = await mountPlayer()
    await w.find('[data-testid="player-slider"]').setValue('2')
    expect(position(w)).toContain('step 3/4')
    await w.find('[data-testid="btn-step-back"]').trigger('click')
    expect(position(w)).toContain('step 2/4')
    await w.find('[data-testid="btn-step-forward"]').trigger('click')
    await w.find('[data-testid="btn-step-forward"]').trigger('click')
    expect(position(w)).toContain('step 4/4')
    expect(w.find('[data-testid="btn-step-forward"]').attributes('disabled')).toBeDefined()
  })

  it('Home and End jump to the ends', async () => {
    const w = await mountPlayer()
    press('End')
    await nextTick()
    expect(position(w)).toContain('step 4/4')
    press('Home')
    await nextTick()
    expect(position(w)).toContain('step 1/4')
  })

  it('exports a GIF and shows where it went', async () => {
    const w = await mountPlayer()
    await w.find('[data-testid="btn-export-gif"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('exportGif')).toEqual([['/tmp/sessions/sess-r']])
    expect(w.find('[data-testid="gif-path"]').text()).toBe('/tmp/sessions/sess-r/session.gif')
  })

  it('has a help overlay with the player keys', async () => {
    const w = await mountPlayer()
    press('?')
    await nextTick()
    const text = w.find('[data-testid="help-overlay"]').text()
    expect(text).toContain('play / pause')
    expect(text).toContain('step back / forward')
    press('ArrowRight')
    await nextTick()
    expect(position(w)).toContain('step 1/4')
    press('Escape')
    await nextTick()
    expect(w.find('[data-testid="help-overlay"]').exists()).toBe(false)
  })
})
