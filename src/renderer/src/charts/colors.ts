// Colours shared by the charts. Blue means the negative answer, red-orange the positive one.

export type Rgb = readonly [number, number, number]

export const NEGATIVE_RGB: Rgb = [33, 102, 172]
export const ZERO_RGB: Rgb = [255, 255, 255]
export const POSITIVE_RGB: Rgb = [221, 78, 36]

export const rgb = (c: Rgb, alpha = 1): string =>
  alpha === 1 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${alpha})`

export const NEGATIVE = rgb(NEGATIVE_RGB)
export const POSITIVE = rgb(POSITIVE_RGB)
export const NEUTRAL = 'rgb(100, 116, 139)'
export const TEST_LINE = 'rgb(37, 99, 235)'
export const LABELLED_LINE = 'rgb(124, 58, 237)'
export const BASELINE_LINE = 'rgb(148, 163, 184)'
export const GRID = 'rgba(15, 23, 42, 0.08)'
export const INK = 'rgb(51, 65, 85)'

/** A colour of the page's theme (styles.css, light or dark), or the light default outside a page. */
export function themeColor(name: '--chart-ink' | '--chart-grid'): string {
  const fallback = name === '--chart-ink' ? INK : GRID
  if (typeof document === 'undefined' || typeof getComputedStyle !== 'function') return fallback
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}
export const BAR_BORDER = 'rgba(15, 23, 42, 0.35)'

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  Math.round(a[0] + (b[0] - a[0]) * t),
  Math.round(a[1] + (b[1] - a[1]) * t),
  Math.round(a[2] + (b[2] - a[2]) * t)
]

/**
 * Diverging colour of `value` on a scale of ±`scale`: blue for negative, white at zero,
 * red-orange for positive. `scale` is the largest magnitude shown, so nothing is clipped
 * (values beyond it, if any, take the end colour).
 */
export function divergingRgb(value: number, scale: number): Rgb {
  if (!Number.isFinite(value) || !(scale > 0)) return ZERO_RGB
  const t = Math.max(-1, Math.min(1, value / scale))
  return t < 0 ? mix(ZERO_RGB, NEGATIVE_RGB, -t) : mix(ZERO_RGB, POSITIVE_RGB, t)
}

export const divergingColor = (value: number, scale: number): string => rgb(divergingRgb(value, scale))
