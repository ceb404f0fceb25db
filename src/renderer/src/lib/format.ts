import { formatSeconds } from '../../../shared/progress'

export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)}%`

export const eta = (s: number | null): string => (s !== null && Number.isFinite(s) && s >= 0 ? formatSeconds(s) : '—')

export function relativeTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return iso
  const s = Math.round((now - t) / 1000)
  if (s < 60) return 'just now'
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  if (s < 7 * 86400) return `${Math.round(s / 86400)} d ago`
  return new Date(t).toLocaleDateString()
}

/** The last path segment, for compact display of a folder. */
export const baseName = (p: string): string =>
  p
    .replace(/[\\/]+$/, '')
    .split(/[\\/]/)
    .pop() || p

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
