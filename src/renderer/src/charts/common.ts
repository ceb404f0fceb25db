// Options every chart shares: instant redraws (no animation), calm axes.
import { themeColor } from './colors'

export const BASE_OPTIONS = {
  responsive: true,
  maintainAspectRatio: false,
  animation: false as const,
  normalized: true
}

export const axisStyle = (title?: string) => {
  const ink = themeColor('--chart-ink')
  return {
    grid: { color: themeColor('--chart-grid') },
    ticks: { color: ink },
    title: title ? { display: true, text: title, color: ink } : { display: false }
  }
}

export const percent = (v: number | string): string => `${Math.round(Number(v) * 100)}%`

/** The smallest "nice" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) at or above x. */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1
  const p = Math.pow(10, Math.floor(Math.log10(x)))
  // Fine steps, so an axis never runs to twice the largest value (2.57 -> 3, not 5).
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x * (1 - 1e-12)) return m * p
  return 10 * p
}
