// Retraining the base model from the start screen: the form, the store call, progress with
// Cancel, and the info card afterwards.
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { useAppStore } from '../../src/renderer/src/stores/app'
import { useAppMount } from './mount-app'
import { FakeStudio } from './fake-studio'

vi.mock('vue-chartjs', () => import('./chart-stub'))

let fake: FakeStudio
const mountApp = useAppMount()

async function mountStart() {
  fake = new FakeStudio()
  return mountApp(fake)
}

const $ = (w: VueWrapper, id: string) => w.find(`[data-testid="${id}"]`)

async function openForm(w: VueWrapper) {
  expect($(w, 'retrain-form').exists()).toBe(false)
  await $(w, 'btn-retrain').trigger('click')
  expect($(w, 'retrain-form').exists()).toBe(true)
}

describe('retraining the base model', () => {
  it('starts with the defaults (6 epochs, seed 1, all images), then shows the new base', async () => {
    const w = await mountStart()
    expect($(w, 'base-info').text()).toContain('99.0%')
    await openForm(w)
    expect(($(w, 'field-retrain-epochs').element as HTMLInputElement).value).toBe('6')
    expect(($(w, 'field-retrain-seed').element as HTMLInputElement).value).toBe('1')
    await $(w, 'retrain-form').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('pretrainBase')).toEqual([[{ epochs: 6, seed: 1 }]])
    // info was fetched again: the card shows the new base, and the form closed.
    expect(fake.callsOf('info')).toHaveLength(2)
    expect($(w, 'base-info').text()).toContain('97.5%')
    expect($(w, 'retrain-form').exists()).toBe(false)
    expect(
      w
        .findAll('[data-testid="toast"]')
        .map((t) => t.text())
        .join()
    ).toMatch(/97\.5%/)
  })

  it('passes the epochs, seed and image limit typed in', async () => {
    const w = await mountStart()
    await openForm(w)
    await $(w, 'field-retrain-epochs').setValue('3')
    await $(w, 'field-retrain-seed').setValue('42')
    await $(w, 'field-retrain-images').setValue('1000')
    await $(w, 'retrain-form').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('pretrainBase')).toEqual([[{ epochs: 3, seed: 42, limit: 1000 }]])
  })

  it('refuses out-of-range values without calling the studio', async () => {
    const w = await mountStart()
    await openForm(w)
    await $(w, 'field-retrain-epochs').setValue('0')
    await $(w, 'field-retrain-images').setValue('50')
    await $(w, 'retrain-form').trigger('submit')
    await flushPromises()
    expect(fake.callsOf('pretrainBase')).toEqual([])
    expect(w.findAll('.field-error').map((e) => e.text())).toEqual([
      'must be a whole number from 1 to 50, got 0',
      'must be a whole number from 128 to 60000, got 50'
    ])
  })

  it('shows pretrain progress with a Cancel that cancels "pretrain"', async () => {
    const w = await mountStart()
    fake.emit('progress', {
      task: 'pretrain',
      done: 1280,
      total: 360000,
      rate: 900,
      etaSeconds: 398,
      detail: { epoch: 1, loss: 0.5, accuracy: 0.8 }
    })
    await flushPromises()
    const bar = w.find('[data-testid="progress"][data-task="pretrain"]')
    expect(bar.exists()).toBe(true)
    expect(bar.text()).toMatch(/ETA/)
    expect(bar.text()).toMatch(/loss 0\.500/)
    await bar.find('[data-testid="btn-cancel-progress"]').trigger('click')
    await flushPromises()
    expect(fake.callsOf('cancel')).toEqual([['pretrain']])
  })

  it('a cancelled run is an information toast; the form stays open and its progress goes', async () => {
    const w = await mountStart()
    await openForm(w)
    fake.emit('progress', { task: 'pretrain', done: 128, total: 360000, rate: 900, etaSeconds: 400 })
    fake.fail('pretrainBase', 'CANCELLED', 'Pretraining was cancelled')
    await $(w, 'retrain-form').trigger('submit')
    await flushPromises()
    const toast = w.find('[data-testid="toast"]')
    expect(toast.classes()).toContain('info')
    expect(toast.text()).toContain('Pretraining was cancelled')
    expect($(w, 'retrain-form').exists()).toBe(true)
    expect(useAppStore().progress).toEqual([])
    expect(fake.callsOf('info')).toHaveLength(1)
  })

  it('a failed run is an error toast', async () => {
    const w = await mountStart()
    fake.fail('pretrainBase', 'DISK_FULL', 'No space left')
    expect(await useAppStore().pretrainBase({ epochs: 1, seed: 1 })).toBe(false)
    await flushPromises()
    expect(w.find('[data-testid="toast"]').classes()).toContain('error')
  })
})
