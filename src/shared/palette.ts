// The answer and weight colors, one definition for the app's charts and the GIF export: blue
// means the negative answer, red-orange the positive one, and weights run blue - white -
// red-orange on a symmetric scale.

export type Rgb = readonly [number, number, number]

export const NEGATIVE_RGB: Rgb = [33, 102, 172]
export const ZERO_RGB: Rgb = [255, 255, 255]
export const POSITIVE_RGB: Rgb = [221, 78, 36]

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  Math.round(a[0] + (b[0] - a[0]) * t),
  Math.round(a[1] + (b[1] - a[1]) * t),
  Math.round(a[2] + (b[2] - a[2]) * t)
]

/**
 * Diverging color of `value` on a scale of ±`scale`: blue for negative, white at zero,
 * red-orange for positive. `scale` is the largest magnitude shown, so nothing is clipped
 * (values beyond it, if any, take the end color).
 */
export function divergingRgb(value: number, scale: number): Rgb {
  if (!Number.isFinite(value) || !(scale > 0)) return ZERO_RGB
  const t = Math.max(-1, Math.min(1, value / scale))
  return t < 0 ? mix(ZERO_RGB, NEGATIVE_RGB, -t) : mix(ZERO_RGB, POSITIVE_RGB, t)
}
