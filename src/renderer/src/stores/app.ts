// App-wide state: what the studio is (info), recent sessions, progress of long work,
// toasts, and which view is on screen. It imports no other store; ../wiring.ts connects
// pushed events and menu commands to the stores.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { AppInfo, PretrainOptions, SessionSummary } from '../../../shared/contract'
import type { Progress } from '../../../shared/progress'
import { toApiError, useApi, type Connection } from '../api/client'
import { pct } from '../lib/format'
import type { BaseSpecFile } from '../../../shared/base-spec'

export type View = 'start' | 'label' | 'replay'
export type Dialog = 'help' | 'export' | 'about' | 'mistakes' | 'pool' | 'why' | 'history' | 'folders'
export type FolderPurpose = 'dataset' | 'session' | 'export' | 'base'

export interface Toast {
  id: number
  kind: 'error' | 'info'
  message: string
  code?: string
  count: number
}

export interface ProgressEntry extends Progress {
  /** performance.now() of the last update. */
  at: number
}

const ERROR_TOAST_MS = 30_000
const INFO_TOAST_MS = 4_000
const DONE_PROGRESS_MS = 900

export const useAppStore = defineStore('app', () => {
  const view = ref<View>('start')
  const info = shallowRef<AppInfo | null>(null)
  const sessions = shallowRef<SessionSummary[]>([])
  const sessionsLoading = ref(false)
  const progressMap = shallowRef(new Map<string, ProgressEntry>())
  const toasts = ref<Toast[]>([])
  const ready = ref(false)
  /** A new base model is being trained (pretrainBase). */
  const pretraining = ref(false)
  /** The modal on screen, if any; views ignore their shortcuts while one is open. */
  const dialog = ref<Dialog | null>(null)
  /** The transport to the studio (browser mode loses it when `curator serve` stops); set by wiring.ts. */
  const connection = ref<Connection>('connecting')
  let toastSeq = 1
  let helpKeyAt = -Infinity
  const toastTimers = new Map<number, ReturnType<typeof setTimeout>>()

  const progress = computed(() => [...progressMap.value.values()])
  const desktop = computed(() => info.value?.desktop ?? false)

  function go(v: View): void {
    view.value = v
    if (dialog.value === 'export') dialog.value = null
  }

  function openDialog(d: Dialog): void {
    if (dialog.value === 'folders' && d !== 'folders') finishFolderPick(null)
    dialog.value = d
  }

  function closeDialog(): void {
    if (dialog.value === 'folders') return finishFolderPick(null)
    dialog.value = null
  }

  /** Browser mode's folder browser on screen: what it is for, where it starts, and the caller waiting for the folder. */
  const folderPick = shallowRef<{ purpose: FolderPurpose; start?: string; resolve: (dir: string | null) => void } | null>(null)

  /** The folder browser's answer: a folder, or null (cancelled). */
  function finishFolderPick(dir: string | null): void {
    const pick = folderPick.value
    folderPick.value = null
    if (dialog.value === 'folders') dialog.value = null
    pick?.resolve(dir)
  }

  /** `?` pressed in a view. (The desktop menu's accelerator for the same key may follow; see onMenu.) */
  function toggleHelp(): void {
    helpKeyAt = performance.now()
    dialog.value = dialog.value === 'help' ? null : 'help'
  }

  /** The desktop menu's Shortcuts item; the same key press may already have toggled the help in the page. */
  function showHelpFromMenu(): void {
    if (performance.now() - helpKeyAt > 300) openDialog('help')
  }

  function pushToast(kind: Toast['kind'], message: string, code?: string): void {
    const last = toasts.value[toasts.value.length - 1]
    if (last && last.kind === kind && last.message === message) {
      last.count++
      armToastTimer(last)
      return
    }
    const t: Toast = { id: toastSeq++, kind, message, code, count: 1 }
    toasts.value.push(t)
    if (toasts.value.length > 5) dismissToast(toasts.value[0].id)
    armToastTimer(t)
  }

  function armToastTimer(t: Toast): void {
    const old = toastTimers.get(t.id)
    if (old) clearTimeout(old)
    toastTimers.set(
      t.id,
      setTimeout(() => dismissToast(t.id), t.kind === 'error' ? ERROR_TOAST_MS : INFO_TOAST_MS)
    )
  }

  function dismissToast(id: number): void {
    const timer = toastTimers.get(id)
    if (timer) clearTimeout(timer)
    toastTimers.delete(id)
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }

  /** Takes down the toasts of one error code (what they said is no longer true). */
  function dismissToasts(code: string): void {
    for (const t of toasts.value.filter((t) => t.code === code)) dismissToast(t.id)
  }

  /** Shows a rejected call or an `error` event as a toast. Cancellation is not an error. */
  function reportError(err: unknown): void {
    const e = toApiError(err)
    if (e.code === 'CANCELLED') pushToast('info', e.message || 'Cancelled.', e.code)
    else pushToast('error', e.message, e.code)
  }

  function notify(message: string): void {
    pushToast('info', message)
  }

  function onProgress(p: Progress): void {
    const map = new Map(progressMap.value)
    map.set(p.task, { ...p, at: performance.now() })
    progressMap.value = map
    if (p.total > 0 && p.done >= p.total) {
      setTimeout(() => {
        const cur = progressMap.value.get(p.task)
        if (cur && cur.done >= cur.total) clearProgress(p.task)
      }, DONE_PROGRESS_MS)
    }
  }

  function clearProgress(task?: string): void {
    if (task === undefined) {
      if (progressMap.value.size) progressMap.value = new Map()
      return
    }
    if (!progressMap.value.has(task)) return
    const map = new Map(progressMap.value)
    map.delete(task)
    progressMap.value = map
  }

  async function cancel(task: string): Promise<void> {
    try {
      await useApi().cancel(task)
    } catch (err) {
      reportError(err)
    }
  }

  /** Trains a new base model; on success `info` shows it. Returns whether it succeeded. */
  async function pretrainBase(options: PretrainOptions): Promise<boolean> {
    if (pretraining.value) return false
    pretraining.value = true
    try {
      const r = await useApi().pretrainBase(options)
      info.value = await useApi().info()
      notify(`The new base model is ready: test accuracy ${pct(r.testAccuracy)}. New sessions use it.`)
      return true
    } catch (err) {
      reportError(err)
      return false
    } finally {
      pretraining.value = false
      // A cancelled or failed run leaves its last progress behind.
      clearProgress('pretrain')
    }
  }

  /** Makes a model folder (null: the shipped digit CNN) the base of new sessions; returns whether it worked. */
  async function chooseBase(dir: string | null, spec?: BaseSpecFile): Promise<boolean> {
    try {
      const base = await useApi().chooseBase(dir, spec)
      if (info.value) info.value = { ...info.value, base }
      notify(`New sessions use the base ${base.id} (features from ${base.featureLayer}).`)
      return true
    } catch (err) {
      reportError(err)
      return false
    }
  }

  /** A folder chosen by the user: the native dialog on desktop, the folder browser in browser mode (from `start`). */
  async function pickFolder(purpose: FolderPurpose, start?: string): Promise<string | null> {
    if (!desktop.value) {
      folderPick.value?.resolve(null)
      return new Promise((resolve) => {
        folderPick.value = { purpose, start, resolve }
        dialog.value = 'folders'
      })
    }
    try {
      return await useApi().pickFolder(purpose)
    } catch (err) {
      reportError(err)
      return null
    }
  }

  async function refreshSessions(): Promise<void> {
    sessionsLoading.value = true
    try {
      sessions.value = await useApi().listSessions()
    } catch (err) {
      reportError(err)
    } finally {
      sessionsLoading.value = false
    }
  }

  /** Clears toast timers when the app unmounts. */
  function dispose(): void {
    for (const t of toastTimers.values()) clearTimeout(t)
    toastTimers.clear()
  }

  return {
    view,
    info,
    sessions,
    sessionsLoading,
    progress,
    toasts,
    ready,
    pretraining,
    dialog,
    connection,
    desktop,
    go,
    openDialog,
    closeDialog,
    toggleHelp,
    showHelpFromMenu,
    reportError,
    notify,
    dismissToast,
    dismissToasts,
    onProgress,
    clearProgress,
    cancel,
    pretrainBase,
    chooseBase,
    pickFolder,
    folderPick,
    finishFolderPick,
    refreshSessions,
    dispose
  }
})
