// Key press -> next image painted. The labelling view calls markKey(event.timeStamp) on keydown and
// markPaintedNextFrame() once the DOM has the next image; the duration lands in window.__curatorPaints
// (read by the end-to-end benchmark) and as 'key' / 'painted' performance marks, and its parts in
// window.__curatorPaintParts: the script's share (the key's handler and the DOM update) and
// whether the key brought a new batch, so the benchmark can say where a slow press went.

const MAX_SAMPLES = 20_000

/** One key's paint, in parts: scriptMs from the key to the DOM having the next image; newBatch as markPaintedNextFrame's. */
export interface PaintParts {
  scriptMs: number
  newBatch: boolean
}

function samples(): number[] {
  const w = window as Window
  if (!Array.isArray(w.__curatorPaints)) w.__curatorPaints = []
  return w.__curatorPaints
}

function parts(): PaintParts[] {
  const w = window as Window
  if (!Array.isArray(w.__curatorPaintParts)) w.__curatorPaintParts = []
  return w.__curatorPaintParts
}

/** Keeps a list to its last MAX_SAMPLES entries. */
function capped<T>(list: T[], entry: T): void {
  list.push(entry)
  if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES)
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

/**
 * Call after nextTick(): records the time of the next animation frame (the paint that shows the
 * image); `newBatch`: the key showed the next batch (every image on screen changed).
 */
export function markPaintedNextFrame(keyTime: number, newBatch = false): void {
  const scriptMs = performance.now() - keyTime
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
    capped(samples(), t - keyTime)
    capped(parts(), { scriptMs, newBatch })
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
  parts()
}
