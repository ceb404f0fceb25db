// Numbers as every readout shows them, in the renderer and in texts the main process writes.

/** The one threshold every readout uses (accuracy, predict, the export's README): p >= 0.5 is positive. */
export const THRESHOLD = 0.5

/**
 * P(positive) with two decimals, or as many more as it takes for the digits shown to sit on the
 * same side of the threshold as p itself: 0.4996 reads "0.4996", never "0.50" beside "negative".
 */
export function formatP(p: number): string {
  for (let d = 2; d <= 6; d++) {
    const s = p.toFixed(d)
    if (Number(s) >= THRESHOLD === p >= THRESHOLD && (Number(s) !== THRESHOLD || p === THRESHOLD)) return s
  }
  // Closer still: round away from the threshold, so the digits stay on p's side.
  const f = 1e6
  return ((p >= THRESHOLD ? Math.ceil(p * f) : Math.floor(p * f)) / f).toFixed(6)
}
