import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { DEFAULT_CONFIG, type SessionConfig } from '../../src/shared/contract'
import { LIMITS } from '../../src/shared/schema'
import { useAppMount } from './mount-app'
import { FakeStudio, INFO, replayDto } from './fake-studio'

vi.mock('vue-chartjs', () => import('./chart-stub'))

let fake: FakeStudio
const mountApp = useAppMount()

async function mountStart(desktop = false) {
  fake = new FakeStudio()
  fake.info_ = { ...INFO, desktop }
  fake.sessions = [
    {
      id: 'sess-a',
      dir: '/data/sess-a',
      createdAt: new Date().toISOString(),
      dataset: 'mnist',
      strategy: 'uncertainty',
      labels: 24,
      lastAccuracy: 0.93
    },
    {
      id: 'sess-b',
      dir: '/data/sess-b',
      createdAt: '2020-01-01T00:00:00Z',
      dataset: 'idx:/x',
      strategy: 'random',
      labels: 0,
      lastAccuracy: null
    }
  ]
  fake.replayDto = replayDto(3)
  const wrapper = await mountApp(fake)
  expect(wrapper.find('[data-testid="view-start"]').exists()).toBe(true)
  return wrapper
}

const field = (w: VueWrapper, id: string) => w.find(`[data-testid="field-${id}"]`)

describe('start screen', () => {
  it('another dataset gets a neutral task (what the user typed is kept); back to mnist restores the digits', async () => {
    const w = await mountStart()
    const value = (id: string) => (field(w, id).element as HTMLInputElement).value
    await field(w, 'positive-name').setValue('cat')
    await field(w, 'dataset').setValue('folder:/pets')
    expect([
      value('question'),
      value('negative-name'),
      value('negative-key'),
      value('positive-name'),
      value('positive-key'),
      value('positive-classes')
    ]).toEqual(['Is this a positive example?', 'no', 'n', 'cat', 'y', ''])
    expect(field(w, 'positive-classes').attributes('placeholder')).toMatch(/subfolder names/)
    expect(w.find('[data-testid="dataset-hint"]').text()).toMatch(
      /mnist \(built in\), idx:PATH .* folder:PATH .*Browse… lists the folders of the machine running Curator/
    )
    await field(w, 'dataset').setValue('mnist')
    expect([value('question'), value('negative-name'), value('positive-name'), value('positive-key'), value('positive-classes')]).toEqual([
      'Is this digit odd?',
      'even',
      'cat',
      'o',
      '1, 3, 5, 7, 9'
    ])
  })

  it('a folder shows its class names before Start; a class clicked counts as positive, one typed that is not there is flagged', async () => {
    const w = await mountStart()
    fake.previews.set('folder:/pets', {
      dataset: 'folder:/pets',
      kind: 'folder',
      classNames: ['cats', 'dogs'],
      classCounts: [120, 98],
      images: 230,
      unlabelled: 12,
      skipped: 3,
      problem: null
    })
    await field(w, 'dataset').setValue('folder:/pets')
    await vi.waitFor(() => expect(w.find('[data-testid="dataset-preview"]').exists()).toBe(true))
    expect(fake.callsOf('inspectDataset')).toEqual([['folder:/pets']])
    expect(w.findAll('[data-testid="class-chip"]').map((c) => c.text())).toEqual(['cats', 'dogs'])
    expect(w.find('[data-testid="dataset-preview"]').text().replace(/\s+/g, ' ')).toMatch(
      /^2 classes: .* · 230 images \(12 without a class\) · 3 other entries skipped$/
    )
    expect(field(w, 'positive-classes').attributes('placeholder')).toMatch(/^e\.g\. dogs \(click a class above\)/)
    await w.find('[data-testid="class-chip"][data-class="dogs"]').trigger('click')
    expect((field(w, 'positive-classes').element as HTMLInputElement).value).toBe('dogs')
    expect(w.find('[data-testid="class-chip"][data-class="dogs"]').attributes('aria-pressed')).toBe('true')
    await field(w, 'positive-classes').setValue('dogs, hamsters')
    expect(w.find('[data-testid="unknown-classes"]').text()).toBe('Not a class of this dataset: hamsters')
    // A folder that is not there says so under the field, before Start.
    await field(w, 'dataset').setValue('folder:/nowhere')
    await vi.waitFor(() => expect(w.find('[data-testid="dataset-preview-error"]').exists()).toBe(true))
    expect(w.find('[data-testid="dataset-preview-error"]').text()).toBe('folder:/nowhere: there is no such folder')
    // MNIST needs no look: its digits are known.
    await field(w, 'dataset').setValue('mnist')
    await new Promise((r) => setTimeout(r, 400))
    expect(fake.callsOf('inspectDataset')).toEqual([['folder:/pets'], ['folder:/nowhere']])
  })

  it('prefills the form with the studio’s defaults', async () => {
    const w = await mountStart()
    expect((field(w, 'dataset').element as HTMLInputElement).value).toBe('mnist')
    expect((field(w, 'batch-size').element as HTMLInputElement).value).toBe('4')
    expect((field(w, 'positive-key').element as HTMLInputElement).value).toBe('o')
    expect((field(w, 'negative-name').element as HTMLInputElement).value).toBe('even')
    expect((field(w, 'positive-classes').element as HTMLInputElement).value).toBe('1, 3, 5, 7, 9')
    expect(
      field(w, 'strategy')
        .findAll('option')
        .map((o) => o.text())
    ).toEqual(['diverse', 'uncertainty', 'random', 'seed-window'])
    expect(
      field(w, 'fit')
        .findAll('option')
        .map((o) => o.text())
    ).toEqual(['converge', 'original'])
    expect(
      field(w, 'unfreeze')
        .findAll('option')
        .map((o) => o.element.getAttribute('value'))
    ).toEqual(['0', '1', '2', '3', '4'])
  })

  it('starts a session with the config typed in, then shows the labelling view', async () => {
    const w = await mountStart()
    await field(w, 'question').setValue('Is it a seven?')
    await field(w, 'negative-name').setValue('other')
    await field(w, 'negative-key').setValue('n')
    await field(w, 'positive-name').setValue('seven')
    await field(w, 'positive-key').setValue('y')
    await field(w, 'positive-classes').setValue('7')
    await field(w, 'strategy').setValue('uncertainty')
    await field(w, 'fit').setValue('original')
    await field(w, 'batch-size').setValue('8')
    await field(w, 'unfreeze').setValue('1')
    await field(w, 'seed').setValue('42')
    await field(w, 'pool-limit').setValue('2000')
    await field(w, 'test-limit').setValue('500')
    await w.find('[data-testid="new-session-form"]').trigger('submit')
    await flushPromises()
    const [[config]] = fake.callsOf('newSession') as [[SessionConfig]]
    expect(config).toEqual({
      dataset: 'mnist',
      task: {
        question: 'Is it a seven?',
        negative: { name: 'other', key: 'n' },
        positive: { name: 'seven', key: 'y' },
        positiveClasses: ['7']
      },
      strategy: 'uncertainty',
      fit: 'original',
      batchSize: 8,
      unfreeze: 1,
      seed: 42,
      poolLimit: 2000,
      testLimit: 500
    })
    expect(w.find('[data-testid="view-label"]').exists()).toBe(true)
  })

  it('submits the defaults unchanged', async () => {
    const w = await mountStart()
    await w.find('[data-testid="btn-start"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('newSession')[0]).toEqual([DEFAULT_CONFIG])
  })

  it('does not submit an invalid form and says why', async () => {
    const w = await mountStart()
    await field(w, 'positive-key').setValue('e')
    await w.find('[data-testid="new-session-form"]').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('newSession')).toEqual([])
    expect(w.find('.field-error').text()).toBe('must differ from the negative answer’s key')
  })

  it('a 20-digit seed is refused with the allowed range and the digits as typed, not a rounded number', async () => {
    const w = await mountStart()
    await field(w, 'seed').setValue('12345678901234567890')
    await w.find('[data-testid="new-session-form"]').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('newSession')).toEqual([])
    expect(w.find('.field-error').text()).toBe('must be a whole number from 0 to 2147483647, got "12345678901234567890"')
  })

  it('browser mode: Browse… opens the folder browser; click down, up, type a path, choose', async () => {
    const w = await mountStart(false)
    const path = () => w.find('[data-testid="folder-list"]').attributes('data-path')
    const entries = () => w.findAll('[data-testid="folder-entry"]').map((e) => e.attributes('data-name'))
    await w.find('[data-testid="btn-browse-dataset"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('pickFolder')).toEqual([])
    expect(path()).toBe('/home/me')
    expect(entries()).toEqual(['data', 'photos'])
    await w.find('[data-testid="folder-entry"][data-name="photos"]').trigger('click')
    await flushPromises()
    expect(entries()).toEqual(['cats', 'dogs'])
    await w.find('[data-testid="folder-entry"][data-name="cats"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="folder-info"]').text()).toContain('3 PNG/JPEG files')
    await w.find('[data-testid="folder-up"]').trigger('click')
    await flushPromises()
    expect(path()).toBe('/home/me/photos')
    await w.find('[data-testid="folder-path"]').setValue('/nowhere')
    await w.find('[data-testid="folder-browser"] form').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="folder-error"]').text()).toBe('There is no folder /nowhere')
    expect(path()).toBe('/home/me/photos')
    await w.find('[data-testid="folder-choose"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="folder-browser"]').exists()).toBe(false)
    expect((field(w, 'dataset').element as HTMLInputElement).value).toBe('folder:/home/me/photos')
    // Again: it opens where the field points; Esc cancels and leaves the field as it was.
    await w.find('[data-testid="btn-browse-dataset"]').trigger('click')
    await flushPromises()
    expect(path()).toBe('/home/me/photos')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    await flushPromises()
    expect(w.find('[data-testid="folder-browser"]').exists()).toBe(false)
    expect((field(w, 'dataset').element as HTMLInputElement).value).toBe('folder:/home/me/photos')
  })

  it('Browse… picks a dataset folder on the desktop', async () => {
    const w = await mountStart(true)
    await w.find('[data-testid="btn-browse-dataset"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('pickFolder')).toEqual([['dataset']])
    expect((field(w, 'dataset').element as HTMLInputElement).value).toBe('folder:/picked/dataset')
  })

  it('lists recent sessions with Resume and Replay', async () => {
    const w = await mountStart()
    const rows = w.findAll('[data-testid="session-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0].text()).toContain('sess-a')
    expect(rows[0].text()).toContain('24 labels')
    expect(rows[0].text()).toContain('93.0%')
    await rows[1].find('[data-testid="btn-replay-session"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('replay')).toEqual([['/data/sess-b']])
    expect(w.find('[data-testid="view-replay"]').exists()).toBe(true)
    await w.find('[data-testid="btn-replay-back"]').trigger('click')
    await w.findAll('[data-testid="session-row"]')[0].find('[data-testid="btn-resume"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('openSession')).toEqual([['/data/sess-a']])
    expect(w.find('[data-testid="view-label"]').exists()).toBe(true)
  })

  it('opens a session folder typed in', async () => {
    const w = await mountStart()
    await field(w, 'open-session').setValue('/elsewhere/s9')
    await w.find('[data-testid="btn-open-session"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('openSession')).toEqual([['/elsewhere/s9']])
  })

  it('shows progress with ETA and cancels it', async () => {
    const w = await mountStart()
    fake.emit('progress', { task: 'featurize pool', done: 250, total: 1000, rate: 125, etaSeconds: 6, detail: { loss: 0.1234 } })
    await flushPromises()
    const p = w.find('[data-testid="progress"]')
    expect(p.text()).toContain('featurize pool')
    expect(p.text()).toContain('25%')
    expect(w.find('[data-testid="progress-eta"]').text()).toBe('ETA 6s')
    expect((w.find('.bar-fill').element as HTMLElement).style.width).toBe('25%')
    await w.find('[data-testid="btn-cancel-progress"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('cancel')).toEqual([['featurize pool']])
  })

  it('shows a failed start as a toast and stays on the start screen', async () => {
    const w = await mountStart()
    fake.fail('newSession', 'NOT_FOUND', 'No dataset at /nope')
    await w.find('[data-testid="new-session-form"]').trigger('submit')
    await flushPromises()
    expect(w.find('[data-testid="toast"]').text()).toContain('No dataset at /nope')
    expect(w.find('[data-testid="view-start"]').exists()).toBe(true)
  })
})

describe('field lengths', () => {
  it('every free-text field stops at the schema’s limit, so a pasted megabyte never reaches the API', async () => {
    const w = await mountStart()
    const want: Record<string, number> = {
      dataset: LIMITS.pathLength,
      question: LIMITS.questionLength,
      'negative-name': LIMITS.answerNameLength,
      'positive-name': LIMITS.answerNameLength,
      'open-session': LIMITS.pathLength
    }
    for (const [id, max] of Object.entries(want)) expect(field(w, id).attributes('maxlength'), id).toBe(String(max))
  })
})
