import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useSessionStore } from '../../src/renderer/src/stores/session'
import { DEFAULT_CONFIG, type SessionConfig } from '../../src/shared/contract'
import { useAppMount } from './mount-app'
import { FakeStudio } from './fake-studio'

vi.mock('vue-chartjs', () => import('./chart-stub'))

let fake: FakeStudio
const mountApp = useAppMount()

async function mountLabelling(config: SessionConfig = DEFAULT_CONFIG, opts: ConstructorParameters<typeof FakeStudio>[0] = {}) {
  fake = new FakeStudio(opts)
  const wrapper = await mountApp(fake)
  await useSessionStore().start(config)
  await flushPromises()
  expect(wrapper.find('[data-testid="view-label"]').exists()).toBe(true)
  return wrapper
}

function press(key: string, init: KeyboardEventInit = {}, target: EventTarget = window): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init })
  target.dispatchEvent(e)
  return e
}

const tiles = (w: VueWrapper) => w.findAll('[data-testid="query-image"]')
const activeId = (w: VueWrapper) => w.find('[data-testid="query-image"][data-active="true"]').attributes('data-id')
const labelCalls = () => fake.callsOf('label').map(([id, v]) => [id, v])

describe('labelling view: keyboard', () => {
  it('shows the batch as images with the first image active, the question and the status', async () => {
    const w = await mountLabelling()
    expect(tiles(w)).toHaveLength(4)
    expect(w.findAll('img.pixel-image')).toHaveLength(4)
    expect(w.find('img.pixel-image').classes()).toContain('pixelated')
    expect(activeId(w)).toBe('1')
    expect(w.find('[data-testid="question"]').text()).toBe('Is this digit odd?')
    expect(w.find('[data-testid="status-labels"]').text()).toBe('0')
    expect(w.find('[data-testid="status-pool"]').text()).toBe('1,000')
    expect(w.find('[data-testid="status-backend"]').text()).toBe('wasm')
    expect(w.find('[data-testid="status-accuracy"]').text()).toBe('50.0%')
    expect(w.find('[data-testid="legend"]').text()).toContain('odd')
    // the three charts are there (drawn by stubs here)
    for (const c of ['chart-accuracy', 'chart-weights', 'chart-histogram']) expect(w.find(`[data-testid="${c}"]`).exists()).toBe(true)
  })

  it('answers with o / → / 1 (positive) and e / ← / 0 (negative)', async () => {
    const w = await mountLabelling({ ...DEFAULT_CONFIG, batchSize: 6 })
    for (const k of ['o', 'ArrowRight', '1', 'e', 'ArrowLeft', '0']) press(k)
    await flushPromises()
    expect(labelCalls()).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 0],
      [5, 0],
      [6, 0]
    ])
    expect(tiles(w).map((t) => t.attributes('data-answer'))).toEqual(['1', '1', '1', '0', '0', '0'])
    expect(w.find('[data-testid="waiting"]').exists()).toBe(true)
  })

  it('moves the highlight to the next image immediately and dims the answered one with its answer', async () => {
    const w = await mountLabelling()
    const e = press('o')
    expect(e.defaultPrevented).toBe(true)
    await nextTick()
    expect(activeId(w)).toBe('2')
    const first = tiles(w)[0]
    expect(first.classes()).toContain('answered')
    expect(first.find('.answer-chip').text()).toBe('odd')
    expect(w.find('[data-testid="status-labels"]').text()).toBe('1')
  })

  it('records key → paint durations for the benchmark', async () => {
    const markSpy = vi.spyOn(performance, 'mark')
    await mountLabelling()
    await new Promise((r) => setTimeout(r, 50))
    window.__curatorPaints = []
    press('e')
    await nextTick()
    await vi.waitFor(() => expect(window.__curatorPaints).toHaveLength(1))
    expect(window.__curatorPaints![0]).toBeGreaterThanOrEqual(0)
    // Its parts: the script's share (no more than the whole) and whether a new batch came (not yet).
    const [part] = window.__curatorPaintParts!.slice(-1)
    expect(part.newBatch).toBe(false)
    expect(part.scriptMs).toBeGreaterThanOrEqual(0)
    expect(part.scriptMs).toBeLessThanOrEqual(window.__curatorPaints![0])
    expect(markSpy.mock.calls.map((c) => c[0])).toEqual(expect.arrayContaining(['key', 'painted']))
    markSpy.mockRestore()
  })

  it('says which key brought the next batch on screen', async () => {
    await mountLabelling(DEFAULT_CONFIG, { prefetch: true })
    window.__curatorPaintParts = []
    for (const k of ['o', 'e', 'o']) press(k)
    await flushPromises()
    fake.push() // the studio says what comes next once one image is left
    await flushPromises()
    press('e') // the batch's last answer: the prefetched batch is shown at once
    await vi.waitFor(() => expect(window.__curatorPaintParts).toHaveLength(4))
    expect(window.__curatorPaintParts!.map((p) => p.newBatch)).toEqual([false, false, false, true])
  })

  it('undoes with Backspace and with Ctrl+Z / Cmd+Z', async () => {
    const w = await mountLabelling()
    press('o')
    press('o')
    press('Backspace')
    await flushPromises()
    expect(fake.callsOf('undo')).toHaveLength(1)
    expect(activeId(w)).toBe('2')
    press('z', { ctrlKey: true })
    await flushPromises()
    expect(fake.callsOf('undo')).toHaveLength(2)
    expect(activeId(w)).toBe('1')
    press('e')
    press('z', { metaKey: true })
    await flushPromises()
    expect(fake.callsOf('undo')).toHaveLength(3)
    expect(w.find('[data-testid="status-labels"]').text()).toBe('0')
  })

  it('skips with s', async () => {
    const w = await mountLabelling()
    press('s')
    await flushPromises()
    expect(fake.callsOf('skip')).toEqual([[1]])
    expect(tiles(w)[0].find('.answer-chip').text()).toBe('skipped')
    expect(activeId(w)).toBe('2')
  })

  it('opens the help overlay with ?, lists every shortcut, closes with Esc, and ignores answers meanwhile', async () => {
    const w = await mountLabelling()
    press('?', { shiftKey: true })
    await nextTick()
    const overlay = w.find('[data-testid="help-overlay"]')
    expect(overlay.exists()).toBe(true)
    const text = overlay.text()
    for (const s of ['odd', 'even', 'skip', 'undo', 'guesses', 'help', 'Backspace']) expect(text).toContain(s)
    expect(overlay.findAll('[data-testid="shortcut"]').length).toBeGreaterThanOrEqual(6)
    press('o')
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(0)
    press('Escape')
    await nextTick()
    expect(w.find('[data-testid="help-overlay"]').exists()).toBe(false)
    press('o')
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(1)
  })

  it('keys follow the task’s configured letters', async () => {
    const config: SessionConfig = {
      ...DEFAULT_CONFIG,
      task: {
        question: 'Is it a seven?',
        negative: { name: 'other', key: 'n' },
        positive: { name: 'seven', key: 'y' },
        positiveClasses: ['7']
      }
    }
    const w = await mountLabelling(config)
    press('o')
    press('e')
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(0)
    press('y')
    press('N')
    press('ArrowRight')
    await flushPromises()
    expect(labelCalls()).toEqual([
      [1, 1],
      [2, 0],
      [3, 1]
    ])
    expect(w.find('[data-testid="btn-positive"]').text()).toContain('Y')
    expect(w.find('[data-testid="btn-positive"]').text()).toContain('seven')
    expect(w.find('[data-testid="legend"]').text()).toContain('N')
    press('?')
    await nextTick()
    expect(w.find('[data-testid="help-overlay"]').text()).toContain('seven')
  })

  it('ignores keys typed into inputs, auto-repeat, and other modifier shortcuts', async () => {
    const w = await mountLabelling()
    const input = document.createElement('input')
    document.body.appendChild(input)
    press('o', {}, input)
    press('Backspace', {}, input)
    press('o', { repeat: true })
    press('o', { ctrlKey: true })
    press('e', { altKey: true })
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(0)
    expect(fake.callsOf('undo')).toHaveLength(0)
    expect(activeId(w)).toBe('1')
  })

  it('hides the model’s guess while labelling; G reveals all, and an answered one can be revealed', async () => {
    const w = await mountLabelling()
    expect(w.findAll('[data-testid="guess"]')).toHaveLength(0)
    press('o')
    await nextTick()
    expect(w.findAll('[data-testid="guess"]')).toHaveLength(0)
    await w.find('[data-testid="btn-reveal"]').trigger('click')
    expect(w.findAll('[data-testid="guess"]')).toHaveLength(1)
    press('g')
    await nextTick()
    expect(w.findAll('[data-testid="guess"]')).toHaveLength(4)
    press('g')
    await nextTick()
    expect(w.findAll('[data-testid="guess"]')).toHaveLength(1)
  })

  it('buttons do what the keys do', async () => {
    const w = await mountLabelling()
    await w.find('[data-testid="btn-positive"]').trigger('click')
    await w.find('[data-testid="btn-negative"]').trigger('click')
    await w.find('[data-testid="btn-skip"]').trigger('click')
    await flushPromises()
    expect(labelCalls()).toEqual([
      [1, 1],
      [2, 0]
    ])
    expect(fake.callsOf('skip')).toEqual([[3]])
    await w.find('[data-testid="btn-undo"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('undo')).toHaveLength(1)
  })

  it('redraws the charts after an iteration and shows the next batch', async () => {
    const w = await mountLabelling()
    const before = w.find('[data-testid="chart-accuracy"]').attributes('data-chart')
    for (const k of ['o', 'e', 'o', 'e']) press(k)
    await flushPromises()
    expect(w.find('[data-testid="chart-accuracy"]').attributes('data-chart')).toBe(before)
    fake.refit()
    await nextTick()
    // the charts are rebuilt in idle time, one after another, right after the new batch is shown
    expect(activeId(w)).toBe('5')
    await vi.waitFor(() => expect(w.find('[data-testid="chart-accuracy"]').attributes('data-chart')).not.toBe(before))
    await vi.waitFor(() => expect(w.find('[data-testid="chart-histogram"]').attributes('data-chart')).toContain('['))
    expect(w.find('[data-testid="chart-weights"]').attributes('data-iteration')).toBe('1')
    expect(w.find('[data-testid="status-iteration"]').text()).toBe('1')
    expect(activeId(w)).toBe('5')
  })

  it('shows log warnings once as a dismissible notice', async () => {
    const w = await mountLabelling(DEFAULT_CONFIG, { warnings: ['line 3: malformed JSON skipped'] })
    expect(w.find('[data-testid="warnings"]').text()).toContain('line 3: malformed JSON skipped')
    await w.find('[data-testid="btn-dismiss-warnings"]').trigger('click')
    expect(w.find('[data-testid="warnings"]').exists()).toBe(false)
  })

  it('shows a rejected call as a toast', async () => {
    const w = await mountLabelling()
    fake.fail('label', 'NOT_WRITABLE', 'Cannot write the session log')
    press('o')
    await flushPromises()
    expect(w.find('[data-testid="toast"]').text()).toContain('Cannot write the session log')
  })

  it('exports the model from the dialog', async () => {
    const w = await mountLabelling()
    await w.find('[data-testid="btn-export"]').trigger('click')
    expect(w.find('[data-testid="export-dialog"]').exists()).toBe(true)
    // labelling keys are off while the dialog is open
    press('o')
    await w.find('[data-testid="field-export-path"]').setValue('/tmp/out')
    await w.find('[data-testid="btn-export-run"]').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('label')).toHaveLength(0)
    expect(fake.callsOf('exportModel')).toEqual([['/tmp/out', undefined]])
    expect(w.find('[data-testid="export-result"]').text()).toContain('Exported to /tmp/out')
    expect(w.findAll('[data-testid="export-result"] li').map((li) => li.text())).toContain('model.json')
    press('Escape')
    await nextTick()
    expect(w.find('[data-testid="export-dialog"]').exists()).toBe(false)
    expect(useAppStore().dialog).toBeNull()
  })

  it('asks for the labelled images with the dialog checkbox', async () => {
    const w = await mountLabelling()
    await w.find('[data-testid="btn-export"]').trigger('click')
    await w.find('[data-testid="field-export-path"]').setValue('/tmp/out')
    await w.find('[data-testid="field-export-images"]').setValue(true)
    await w.find('[data-testid="btn-export-run"]').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('exportModel')).toEqual([['/tmp/out', undefined, true]])
  })
})

describe('labelling view: a write the disk refused', () => {
  it('says "not saved" while the state holds a write error, retries on Retry, and takes the disk-full toast down once saved', async () => {
    const w = await mountLabelling()
    const app = useAppStore()
    for (const k of ['o', 'o', 'e', 'e']) press(k)
    await flushPromises()
    // The last label is written, its fit is not: the studio says so in the state and as an error.
    const writeError = { code: 'DISK_FULL' as const, message: 'The disk is full: cannot write /s/session.jsonl.' }
    fake.session!.writeError = writeError
    fake.emit('error', writeError)
    fake.push()
    await flushPromises()
    expect(w.find('[data-testid="status-sync"]').text()).toBe('no')
    expect(w.find('[data-testid="waiting"]').exists()).toBe(false)
    expect(w.find('[data-testid="write-error"]').text()).toContain('Not saved: The disk is full: cannot write /s/session.jsonl.')
    expect(app.toasts.map((t) => t.code)).toEqual(['DISK_FULL'])
    // Space freed: Retry asks for the state (the studio fits first, and pushes the next batch).
    fake.session!.writeError = null
    const asked = fake.callsOf('state').length
    await w.find('[data-testid="btn-retry-save"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('state').length).toBe(asked + 1)
    expect(w.find('[data-testid="write-error"]').exists()).toBe(false)
    expect(w.find('[data-testid="status-sync"]').text()).not.toBe('no')
    expect(app.toasts).toEqual([])
    fake.refit()
    await flushPromises()
    expect(w.find('[data-testid="status-sync"]').text()).toBe('yes')
    expect(activeId(w)).toBe('5')
  })
})
