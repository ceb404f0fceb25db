// The open session: the authoritative server state plus the optimistic batch on screen.
//
// A key press records the answer here at once and moves to the next image; the call to
// the studio follows (calls are sent strictly in order). When the answer completes the
// batch and the server prefetched the next batch for that answer, it is shown at once.
// Every `session` event from the server replaces the state; answers it does not reflect
// yet are played forward on top of it (see lib/batch.ts).
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ExportResult, IterationDto, LabelValue, SessionConfig, SessionState, BaselinePoint } from '../../../shared/contract'
import { toApiError, useApi } from '../api/client'
import { batchOf, confirmOps, prefetchFor, project, reconcile, toSlots, type LocalOp, type Prefetch, type Slot } from '../lib/batch'
import { quietSlot } from '../lib/perf'
import { preloadImages } from '../lib/pixels'
import { sameJson, sameList, stableComputed } from '../lib/stable'
import { useAppStore } from './app'

export type Pending = 'new' | 'open' | 'undo' | 'relabel' | 'choose' | 'export' | null

export type ExportOutcome = { ok: true; result: ExportResult } | { ok: false; code: string; message: string }

const now = (): number => performance.now()
/** Images loaded ahead in one task (about 7 ms on the loaded 2-core machine). */
const PRELOAD_CHUNK = 16

export const useSessionStore = defineStore('session', () => {
  const state = shallowRef<SessionState | null>(null)
  /** The batch on screen, answered items included. */
  const batch = shallowRef<Slot[]>([])
  /** When the active item was shown: the start of its response timer. */
  const activeSince = ref(now())
  const revealAll = ref(false)
  const revealed = shallowRef<ReadonlySet<number>>(new Set())
  const pending = ref<Pending>(null)
  /** Calls sent (or queued) and not yet answered by the studio. */
  const inFlight = ref(0)
  /** Local answers the server state does not reflect yet. */
  const ops = shallowRef<LocalOp[]>([])
  /** The local answers the studio acknowledged (saved), even before a state reflects them. */
  const acked = new WeakSet<LocalOp>()
  const dismissedWarnings = ref<string[]>([])

  let previous: Slot[] | null = null
  /** The prefetch that applies to the batch on screen, and the item whose answer selects it. */
  let prefetch: { next: Prefetch; forId: number } | null = null
  let chain: Promise<void> = Promise.resolve()
  let generation = 0

  // --- derived --------------------------------------------------------------------------
  const activeIndex = computed(() => batch.value.findIndex((s) => s.answer === null))
  const active = computed(() => (activeIndex.value >= 0 ? batch.value[activeIndex.value] : null))
  // Stable across pushed states that did not change them: the charts and the tiles' names re-render only on a new fit.
  const task = stableComputed(() => state.value?.config.task ?? null, sameJson)
  const history = stableComputed<IterationDto[]>(
    () => state.value?.history ?? [],
    (a, b) => sameList(a, b, sameIteration)
  )
  /** The random baseline: from the state, and extended by `baseline` events as the studio computes it. */
  const baselineUpdate = shallowRef<{ sessionId: string; points: BaselinePoint[] } | null>(null)
  const baseline = stableComputed<BaselinePoint[]>(
    () => {
      const s = state.value
      if (!s) return []
      const pushed = baselineUpdate.value?.sessionId === s.id ? baselineUpdate.value.points : []
      return pushed.length > s.baseline.length ? pushed : s.baseline
    },
    (a, b) => sameList(a, b, (x, y) => x.labels === y.labels && x.testAccuracy === y.testAccuracy)
  )
  function applyBaseline(update: { sessionId: string; points: BaselinePoint[] }): void {
    baselineUpdate.value = update
  }
  const lastIteration = computed(() => history.value[history.value.length - 1] ?? null)
  /** Whether more answers are likely to help, and why (after the latest fit). */
  const advice = stableComputed(() => state.value?.advice ?? null, sameJson)
  /** Answers the latest fit doubts and the labeller has not settled (asked again in the queue). */
  const suspectCount = computed(() => (state.value?.labels ?? []).filter((l) => l.suspect && !l.suspect.settled).length)
  const lastTestAccuracy = computed(() => {
    for (let i = history.value.length - 1; i >= 0; i--) if (history.value[i].testAccuracy !== null) return history.value[i].testAccuracy
    return null
  })
  const labelCount = computed(() => {
    // A re-asked image already has a label: its new answer replaces it.
    const labelled = new Set((state.value?.labels ?? []).map((l) => l.id))
    return labelled.size + ops.value.filter((o) => o.kind === 'label' && !labelled.has(o.id)).length
  })
  /** The studio has nothing more to ask: every pool image is labelled or skipped. */
  const exhausted = computed(() => {
    const s = state.value
    return (
      s !== null &&
      activeIndex.value < 0 &&
      ops.value.length === 0 &&
      inFlight.value === 0 &&
      s.queue.length === 0 &&
      s.labels.length + s.skipped.length >= s.poolSize
    )
  })
  /** Every item on screen is answered and the next batch has not arrived yet. */
  const waiting = computed(() => state.value !== null && activeIndex.value < 0 && !exhausted.value)
  /** Answers can be saved: the transport to the studio is open (always, on desktop). */
  const connected = computed(() => useAppStore().connection === 'open')
  const canUndo = computed(() => pending.value === null && labelCount.value > 0 && connected.value)
  const warnings = stableComputed(
    () => {
      const s = state.value
      return s && s.warnings.length > 0 && !dismissedWarnings.value.includes(s.id) ? s.warnings : []
    },
    (a, b) => sameList(a, b)
  )

  // --- server state -----------------------------------------------------------------------
  function setBatch(next: Slot[]): void {
    batchChanges++
    if (next === batch.value) return
    const before = active.value?.item.id
    batch.value = next
    if (active.value?.item.id !== before) activeSince.value = now()
  }

  /** Takes a state as the start of a fresh view (new, opened or resumed session). */
  function adopt(s: SessionState): void {
    ops.value = []
    previous = null
    prefetch = null
    // The answered part of the batch stays on screen (with its badges) after a reload or resume.
    batchChanges++
    batch.value = batchOf(s)
    revealed.value = new Set()
    applyState(s)
  }

  /** Applies a server state (a `session` event or a call's result), keeping unconfirmed local answers. */
  function applyState(s: SessionState): void {
    if (state.value && state.value.id !== s.id) {
      state.value = null
      adopt(s)
      return
    }
    // A write succeeded again: the toast that said it failed (the disk is full) is no longer true.
    const failed = state.value?.writeError
    if (failed && !s.writeError) useAppStore().dismissToasts(failed.code)
    state.value = s
    const remaining = confirmOps(ops.value, s)
    if (remaining.length !== ops.value.length) ops.value = remaining
    const proj = project(s, remaining)
    const shown = batch.value
    const next = reconcile(shown, previous, proj, s)
    if (next !== shown && !sameIds(next, shown) && shown.length) previous = shown
    showBatch(next, shown)
    const last = proj.queue[proj.queue.length - 1]
    prefetch = proj.next && last ? { next: proj.next, forId: last.id } : null
    if (proj.next && proj.next !== preloading) preloadAhead(proj.next)
  }

  /**
   * A new batch that came while every image on screen is answered (the labeller waits for it):
   * its images are loaded PRELOAD_CHUNK a task first, then it is shown, so a 64-image batch is
   * not one long frame of 64 data: URLs parsed (lib/pixels.ts). Any other change of the batch
   * meanwhile (setBatch, adopt) supersedes it.
   */
  let batchChanges = 0
  function showBatch(next: Slot[], shown: readonly Slot[]): void {
    const ids = new Set(shown.map((s) => s.item.id))
    const fresh = next.filter((s) => !ids.has(s.item.id)).map((s) => s.item)
    if (shown.length === 0 || shown.some((s) => s.answer === null) || fresh.length <= PRELOAD_CHUNK) return setBatch(next)
    const mine = ++batchChanges
    const step = (from: number): void => {
      if (mine !== batchChanges) return
      if (from >= fresh.length) return setBatch(next)
      preloadImages(fresh.slice(from, from + PRELOAD_CHUNK))
      setTimeout(() => step(from + PRELOAD_CHUNK), 0)
    }
    step(0)
  }

  /** The prefetched batches' images, loaded PRELOAD_CHUNK at a time in quiet slots (lib/perf.ts). */
  let preloading: Prefetch | null = null
  let cancelPreload: (() => void) | null = null
  function preloadAhead(next: Prefetch): void {
    preloading = next
    cancelPreload?.()
    const items = [...next.negative, ...next.positive]
    const step = (from: number): void => {
      preloadImages(items.slice(from, from + PRELOAD_CHUNK))
      cancelPreload = from + PRELOAD_CHUNK < items.length ? quietSlot(() => step(from + PRELOAD_CHUNK)) : null
    }
    cancelPreload = quietSlot(() => step(0))
  }

  // --- labelling ----------------------------------------------------------------------------
  /** Records an answer for the active item, moves on at once, then tells the studio. */
  function answer(value: LabelValue): boolean {
    return record('label', value)
  }

  function skip(): boolean {
    return record('skip', null)
  }

  function record(kind: LocalOp['kind'], value: LabelValue | null): boolean {
    // Not connected: an answer could not be saved, so it is not taken (the view says why).
    if (!state.value || pending.value !== null || !connected.value) return false
    const i = activeIndex.value
    if (i < 0) return false
    const slot = batch.value[i]
    const id = slot.item.id
    const responseMs = Math.max(0, Math.round(now() - activeSince.value))
    const answered = batch.value.slice()
    answered[i] = { item: slot.item, answer: kind === 'label' ? (value as LabelValue) : 'skipped' }
    const op: LocalOp = { kind, id, value }
    ops.value = [...ops.value, op]
    const done = answered.every((s) => s.answer !== null)
    if (done && kind === 'label' && value !== null && prefetch && prefetch.forId === id) {
      const items = prefetchFor(prefetch.next, value)
      prefetch = null
      previous = answered
      setBatch(toSlots(items))
    } else {
      setBatch(answered)
    }
    activeSince.value = now()
    const api = useApi()
    send(kind === 'label' ? () => api.label(id, value as LabelValue, responseMs) : () => api.skip(id), op)
    return true
  }

  /** Sends calls one after another; after a failure the rest are dropped and the state is reloaded. */
  function send(fn: () => Promise<unknown>, op: LocalOp): void {
    const gen = generation
    inFlight.value++
    chain = chain.then(async () => {
      try {
        if (gen !== generation) return
        await fn()
        acked.add(op)
      } catch (err) {
        if (gen !== generation) return
        generation++
        useAppStore().reportError(err)
        await resync()
      } finally {
        inFlight.value--
      }
    })
  }

  /**
   * The connection to the studio is lost: answers it has not acknowledged are taken back (shown
   * unanswered again) and queued ones are never sent, so nothing unsaved looks saved.
   */
  function disconnected(): void {
    generation++
    const kept = ops.value.filter((op) => acked.has(op))
    if (kept.length === ops.value.length) return
    ops.value = kept
    if (state.value) applyState(state.value)
  }

  /**
   * Connected again: the view becomes the studio's state, which is the log's. A server started
   * again has no session open: the one this tab showed is opened again.
   */
  async function reconnected(): Promise<void> {
    const dir = state.value?.dir
    generation++
    // No answer until the studio's state is the view's: one given meanwhile would be wiped off
    // the screen by that state, or reach a server with no session open yet.
    const own = pending.value === null
    if (own) pending.value = 'open'
    try {
      const s = (await useApi().state()) ?? (dir ? await useApi().openSession(dir) : null)
      if (!s) return close()
      state.value = null
      adopt(s)
    } catch (err) {
      useAppStore().reportError(err)
    } finally {
      if (own) pending.value = null
    }
  }

  /** Reloads the authoritative state, dropping local answers the studio does not have. */
  async function resync(): Promise<void> {
    const stale = ops.value.length
    try {
      const s = await useApi().state()
      // Answers given while this call was out are still on their way; keep them.
      ops.value = ops.value.slice(stale)
      if (s) applyState(s)
      else close()
    } catch (err) {
      useAppStore().reportError(err)
    }
  }

  /**
   * A change to answers already given: made once the answers on their way have arrived, one at
   * a time; the state it returns is the view's. False when refused (busy) or failed (reported).
   */
  async function change(kind: Exclude<Pending, null>, call: () => Promise<SessionState>): Promise<boolean> {
    if (!state.value || pending.value !== null) return false
    pending.value = kind
    try {
      await chain
      applyState(await call())
      return true
    } catch (err) {
      useAppStore().reportError(err)
      return false
    } finally {
      pending.value = null
    }
  }

  /** Takes back the last label (the studio rolls the model back too). */
  const undo = (): Promise<boolean> =>
    change('undo', async () => {
      const s = await useApi().undo()
      // The answers given here are all in the studio (the chain has settled); one is taken back.
      ops.value = []
      return s
    })

  /** Changes an earlier answer (the history panel); the studio refits on it. */
  const relabel = (id: number, value: LabelValue): Promise<boolean> => change('relabel', () => useApi().relabel(id, value))

  /** Answers an image chosen in the pool browser (not asked by the model); the studio refits on it. */
  const choose = (id: number, value: LabelValue): Promise<boolean> => change('choose', () => useApi().choose(id, value, 0))

  // --- sessions -------------------------------------------------------------------------------
  async function start(config: SessionConfig): Promise<boolean> {
    return begin('new', () => useApi().newSession(config))
  }

  async function open(dir: string): Promise<boolean> {
    return begin('open', () => useApi().openSession(dir))
  }

  async function begin(kind: 'new' | 'open', fn: () => Promise<SessionState>): Promise<boolean> {
    if (pending.value !== null) return false
    const app = useAppStore()
    pending.value = kind
    try {
      await chain
      const s = await fn()
      state.value = null
      adopt(s)
      app.go('label')
      return true
    } catch (err) {
      app.reportError(err)
      return false
    } finally {
      pending.value = null
      app.clearProgress()
    }
  }

  /** Leaves the session view (the studio keeps the session; it can be resumed). */
  function close(): void {
    state.value = null
    batchChanges++
    batch.value = []
    ops.value = []
    previous = null
    prefetch = null
    revealAll.value = false
    revealed.value = new Set()
  }

  async function exportModel(out?: string, force?: boolean, withImages?: boolean): Promise<ExportOutcome> {
    pending.value = 'export'
    try {
      await chain
      const result = await useApi().exportModel(out || undefined, force || undefined, withImages || undefined)
      return { ok: true, result }
    } catch (err) {
      const e = toApiError(err)
      return { ok: false, code: e.code, message: e.message }
    } finally {
      pending.value = null
    }
  }

  // --- guesses ------------------------------------------------------------------------------------
  function toggleRevealAll(): void {
    revealAll.value = !revealAll.value
  }

  /** Shows (or hides again) the model's guess for one answered item. */
  function toggleReveal(id: number): void {
    const slot = batch.value.find((s) => s.item.id === id)
    if (!slot || slot.answer === null) return
    const set = new Set(revealed.value)
    if (set.has(id)) set.delete(id)
    else set.add(id)
    revealed.value = set
  }

  function isRevealed(slot: Slot): boolean {
    return revealAll.value || (slot.answer !== null && revealed.value.has(slot.item.id))
  }

  function dismissWarnings(): void {
    if (state.value) dismissedWarnings.value = [...dismissedWarnings.value, state.value.id]
  }

  return {
    state,
    batch,
    activeSince,
    revealAll,
    revealed,
    pending,
    inFlight,
    ops,
    activeIndex,
    active,
    task,
    history,
    baseline,
    applyBaseline,
    lastIteration,
    advice,
    suspectCount,
    lastTestAccuracy,
    labelCount,
    waiting,
    exhausted,
    canUndo,
    connected,
    warnings,
    adopt,
    applyState,
    answer,
    skip,
    undo,
    relabel,
    choose,
    resync,
    disconnected,
    reconnected,
    start,
    open,
    close,
    exportModel,
    toggleRevealAll,
    toggleReveal,
    isRevealed,
    dismissWarnings,
    /** Resolves when every answer sent so far has been acknowledged (tests, export). */
    settled: () => chain
  }
})

/** The same fit: a pushed state re-sends every iteration of the history. */
function sameIteration(a: IterationDto, b: IterationDto): boolean {
  return (
    a.iteration === b.iteration &&
    a.labels === b.labels &&
    a.headBias === b.headBias &&
    a.iterationMs === b.iterationMs &&
    a.testAccuracy === b.testAccuracy &&
    a.labelledAccuracy === b.labelledAccuracy
  )
}

function sameIds(a: readonly Slot[], b: readonly Slot[]): boolean {
  return a.length === b.length && a.every((s, i) => s.item.id === b[i].item.id)
}
