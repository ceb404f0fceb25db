// Key press -> next image painted. The labelling view calls markKey(event.timeStamp) on keydown and
// markPainted() once the DOM has the next image; the duration lands in window.__curatorPaints
// (read by the end-to-end benchmark) and as 'key' / 'painted' performance marks.

const MAX_SAMPLES = 20_000

function samples(): number[] {
  const w = window as Window
  if (!Array.isArray(w.__curatorPaints)) w.__curatorPaints = []
  return w.__curatorPaints
}

/**
 * The key press's time: the event's own timestamp (when the browser received it), so time the
 * page spent busy before the handler ran counts too; now when there is none.
 */
export function markKey(eventTime?: number): number {
  const now = performance.now()
  const at = eventTime !== undefined && eventTime > 0 && eventTime <= now ? eventTime : now
  lastKeyAt = now
  try {
    return performance.mark('key', { startTime: at }).startTime
  } catch {
    return at
  }
}

/** Call after nextTick(): records the time of the next animation frame (the paint that shows the image). */
export function markPaintedNextFrame(keyTime: number): void {
  const raf =
    typeof requestAnimationFrame === 'function'
      ? requestAnimationFrame
      : (cb: FrameRequestCallback) => setTimeout(() => cb(performance.now()), 0)
  raf(() => {
    let t: number
    try {
      t = performance.mark('painted').startTime
    } catch {
      t = performance.now()
    }
    const list = samples()
    list.push(t - keyTime)
    if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES)
    // The frame that shows the image is being made: what waited for a quiet slot runs after it.
    if (queued.size) setTimeout(runQueued, 0)
  })
}

// Work that can wait (the charts' redraws) runs where it cannot hold up a key's frame: right
// after the next key's image is painted, or once no key has come for QUIET_MS. A fast labeller's
// keys come every 80-100 ms; work done just after one key's frame (a few ms, then the compositor
// lingers two or three frames) is over before the next key, while work at a random idle moment
// (a fit arrives 20-60 ms after the answer that asked for it) often kept the compositor busy when
// the next key came, whose frame then waited for the next vsync.
const QUIET_MS = 250
let lastKeyAt = -Infinity
const queued = new Set<() => void>()
let pauseTimer: ReturnType<typeof setTimeout> | null = null

function runQueued(): void {
  const cbs = [...queued]
  queued.clear()
  for (const cb of cbs) cb()
}

function armPause(): void {
  if (pauseTimer !== null) return
  pauseTimer = setTimeout(
    () => {
      pauseTimer = null
      if (!queued.size) return
      if (performance.now() - lastKeyAt < QUIET_MS) return armPause()
      if (typeof requestIdleCallback === 'function') requestIdleCallback(runQueued, { timeout: QUIET_MS })
      else runQueued()
    },
    Math.max(0, lastKeyAt + QUIET_MS - performance.now())
  )
}

/** Runs `cb` once in the next quiet slot (see above); returns the function that cancels it. */
export function quietSlot(cb: () => void): () => void {
  queued.add(cb)
  armPause()
  return () => queued.delete(cb)
}

export function installPerfProbe(): void {
  samples()
}
