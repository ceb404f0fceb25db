// Options every chart shares: instant redraws (no animation), calm axes.
import { GRID, INK } from './colors'

export const BASE_OPTIONS = {
  responsive: true,
  maintainAspectRatio: false,
  animation: false as const,
  normalized: true
}

export const axisStyle = (title?: string) => ({
  grid: { color: GRID },
  ticks: { color: INK },
  title: title ? { display: true, text: title, color: INK } : { display: false }
})

export const percent = (v: number | string): string => `${Math.round(Number(v) * 100)}%`

/** The smallest "nice" number (1, 2, 2.5, 5 x 10^k) at or above x. */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1
  const p = Math.pow(10, Math.floor(Math.log10(x)))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p
  return 10 * p
}
