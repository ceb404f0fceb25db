// The App on a page with a fresh Pinia for every test, and both torn down after it.
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createPinia, getActivePinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach } from 'vitest'
import App from '../../src/renderer/src/App.vue'
import { setApi } from '../../src/renderer/src/api/client'
import type { FakeStudio } from './fake-studio'

/** Registers the per-test setup and returns the mount function: the App talking to `fake`. */
export function useAppMount(): (fake: FakeStudio) => Promise<VueWrapper> {
  let wrapper: VueWrapper | null = null
  beforeEach(() => {
    setActivePinia(createPinia())
  })
  afterEach(() => {
    wrapper?.unmount()
    wrapper = null
    document.body.innerHTML = ''
  })
  return async (fake) => {
    setApi(fake)
    wrapper = mount(App, { global: { plugins: [getActivePinia()!] }, attachTo: document.body })
    await flushPromises()
    return wrapper
  }
}
