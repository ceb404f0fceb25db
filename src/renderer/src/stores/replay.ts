// The replay player: a recorded session, one step per iteration, played or scrubbed.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ExportResult, IterationDto, ReplayDto } from '../../../shared/contract'
import { useApi } from '../api/client'
import { useAppStore, type View } from './app'

export const SPEEDS = [0.5, 1, 2, 4] as const
/** Time per step at 1x. */
export const STEP_MS = 800

export const useReplayStore = defineStore('replay', () => {
  const dir = ref<string | null>(null)
  const data = shallowRef<ReplayDto | null>(null)
  const index = ref(0)
  const playing = ref(false)
  const speed = ref<number>(1)
  const loading = ref(false)
  const gif = shallowRef<ExportResult | null>(null)
  const exportingGif = ref(false)
  const returnTo = ref<View>('start')
  let timer: ReturnType<typeof setInterval> | null = null

  const steps = computed(() => data.value?.steps ?? [])
  const count = computed(() => steps.value.length)
  const step = computed(() => steps.value[index.value] ?? null)
  /** The history as it was at the current step: the charts show exactly this. */
  const history = computed<IterationDto[]>(() => steps.value.slice(0, index.value + 1).map((s) => s.iteration))
  const atEnd = computed(() => index.value >= count.value - 1)

  async function open(sessionDir: string, from: View = 'start'): Promise<boolean> {
    const app = useAppStore()
    pause()
    loading.value = true
    gif.value = null
    try {
      const r = await useApi().replay(sessionDir)
      dir.value = sessionDir
      data.value = r
      index.value = 0
      returnTo.value = from
      app.go('replay')
      return true
    } catch (err) {
      app.reportError(err)
      return false
    } finally {
      loading.value = false
    }
  }

  function seek(i: number): void {
    if (count.value === 0) return
    index.value = Math.max(0, Math.min(count.value - 1, Math.round(i)))
  }

  function stepBy(delta: number): void {
    pause()
    seek(index.value + delta)
  }

  function play(): void {
    if (count.value < 2 || playing.value) return
    if (atEnd.value) index.value = 0
    playing.value = true
    arm()
  }

  function arm(): void {
    if (timer) clearInterval(timer)
    timer = setInterval(tick, STEP_MS / speed.value)
  }

  function tick(): void {
    if (atEnd.value) {
      pause()
      return
    }
    index.value++
    if (atEnd.value) pause()
  }

  function pause(): void {
    playing.value = false
    if (timer) clearInterval(timer)
    timer = null
  }

  function toggle(): void {
    if (playing.value) pause()
    else play()
  }

  function setSpeed(s: number): void {
    speed.value = s
    if (playing.value) arm()
  }

  async function exportGif(): Promise<void> {
    if (!dir.value || exportingGif.value) return
    exportingGif.value = true
    try {
      gif.value = await useApi().exportGif(dir.value)
    } catch (err) {
      useAppStore().reportError(err)
    } finally {
      exportingGif.value = false
    }
  }

  function close(): void {
    pause()
    useAppStore().go(returnTo.value)
  }

  return {
    dir,
    data,
    index,
    playing,
    speed,
    loading,
    gif,
    exportingGif,
    returnTo,
    steps,
    count,
    step,
    history,
    atEnd,
    open,
    seek,
    stepBy,
    play,
    pause,
    toggle,
    setSpeed,
    exportGif,
    close
  }
})
