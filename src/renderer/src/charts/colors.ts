// Colors of the charts: the answer and weight colors come from src/shared/palette.ts (the GIF
// export uses the same), the rest are the page's.

import { divergingRgb, NEGATIVE_RGB, POSITIVE_RGB, type Rgb } from '../../../shared/palette'

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

/** A color of the page's theme (styles.css, light or dark), or the light default outside a page. */
export function themeColor(name: '--chart-ink' | '--chart-grid'): string {
  const fallback = name === '--chart-ink' ? INK : GRID
  if (typeof document === 'undefined' || typeof getComputedStyle !== 'function') return fallback
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}
export const BAR_BORDER = 'rgba(15, 23, 42, 0.35)'

export const divergingColor = (value: number, scale: number): string => rgb(divergingRgb(value, scale))
