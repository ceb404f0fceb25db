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
  })
}

export function installPerfProbe(): void {
  samples()
}
