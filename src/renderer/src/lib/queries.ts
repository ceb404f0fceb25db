// The studio's read-only calls a view makes for itself (a pool page, why, mistakes, a folder
// listing, thumbnails, a dataset preview): none changes the session, so they need no store.
// Calls that change it go through the stores. `useLatest` keeps a view's answer to its latest
// request only: an older answer arriving late never replaces a newer one.
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import type { StudioApi } from '../../../shared/contract'
import { toApiError, useApi } from '../api/client'

export type Queries = Pick<StudioApi, 'pool' | 'why' | 'mistakes' | 'listFolders' | 'images' | 'inspectDataset'>

export const queries = (): Queries => useApi()

export interface Latest<T> {
  data: ShallowRef<T | null>
  loading: Ref<boolean>
  error: Ref<string | null>
  /** Asks; true when this answer is the one now shown (no later request overtook it). */
  load(ask: (q: Queries) => Promise<T>): Promise<boolean>
  /** Forgets the answer and any request still out. */
  clear(): void
}

export function useLatest<T>(): Latest<T> {
  const data = shallowRef<T | null>(null)
  // Loading until the first answer: a view shows "Loading…", not "nothing", before it has asked.
  const loading = ref(true)
  const error = ref<string | null>(null)
  let seq = 0
  return {
    data,
    loading,
    error,
    async load(ask) {
      const mine = ++seq
      loading.value = true
      try {
        const r = await ask(queries())
        if (mine !== seq) return false
        data.value = r
        error.value = null
        return true
      } catch (err) {
        if (mine === seq) error.value = toApiError(err).message
        return false
      } finally {
        if (mine === seq) loading.value = false
      }
    },
    clear() {
      seq++
      data.value = null
      error.value = null
      loading.value = false
    }
  }
}
