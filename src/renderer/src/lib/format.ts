import { formatSeconds } from '../../../shared/progress'

export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)}%`

const COUNT = new Intl.NumberFormat()
/** A count with the locale's digit grouping (toLocaleString makes a new formatter every call: slow in a render). */
export const count = (n: number): string => COUNT.format(n)

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

// P(positive) as every readout shows it; shared with the main process (the reasons of "why this image").
export { formatP, THRESHOLD } from '../../../shared/format'
