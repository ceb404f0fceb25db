// The head's weights: one bar per base class (e.g. digits 0-9) plus the bias, colored by a
// diverging scale (blue negative, white zero, red-orange positive) scaled to the largest
// magnitude, so strong weights are never clipped to ±1.
import type { ChartData, ChartOptions } from 'chart.js'
import { BAR_BORDER } from './colors'
import { divergingColor } from './colors'
import { BASE_OPTIONS, axisStyle, niceCeil } from './common'

export interface WeightsChart {
  data: ChartData<'bar', number[]>
  options: ChartOptions<'bar'>
  /** The largest |value| (weights and bias): the color scale's end. */
  scale: number
}

export const BIAS_LABEL = 'bias'

export interface WeightsOptions {
  /** A fixed symmetric axis limit (the replay player keeps one across steps); widened if a value exceeds it. */
  limit?: number
}

export function weightLabels(count: number, classNames: readonly string[]): string[] {
  return [...Array.from({ length: count }, (_, i) => classNames[i] ?? String(i)), BIAS_LABEL]
}

/** Beyond this many weights (a wide base's features) the chart shows the largest ones only. */
export const MAX_BARS = 20

/**
 * The bars shown: every weight when there are few (or they are named classes), else the
 * MAX_BARS largest by magnitude, in feature order, labelled "f123" by their feature index.
 */
export function shownWeights(weights: readonly number[], classNames: readonly string[]): { values: number[]; labels: string[] } {
  if (weights.length <= MAX_BARS || classNames.length >= weights.length)
    return { values: [...weights], labels: weightLabels(weights.length, classNames).slice(0, -1) }
  const top = weights
    .map((_, i) => i)
    .sort((a, b) => Math.abs(weights[b]) - Math.abs(weights[a]) || a - b)
    .slice(0, MAX_BARS)
    .sort((a, b) => a - b)
  return { values: top.map((i) => weights[i]), labels: top.map((i) => `f${i}`) }
}

export function weightsChart(
  weights: readonly number[],
  bias: number,
  classNames: readonly string[],
  opts: WeightsOptions = {}
): WeightsChart {
  const shown = shownWeights(weights, classNames)
  const values = [...shown.values, bias]
  const scale = values.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0)
  const limit = niceCeil(Math.max(scale, opts.limit ?? 0))
  return {
    scale,
    data: {
      labels: [...shown.labels, BIAS_LABEL],
      datasets: [
        {
          label: 'head weight',
          data: values,
          backgroundColor: values.map((v) => divergingColor(v, scale)),
          borderColor: BAR_BORDER,
          borderWidth: 1,
          barPercentage: 0.85,
          categoryPercentage: 0.9
        }
      ]
    },
    options: {
      ...BASE_OPTIONS,
      scales: {
        x: { ...axisStyle(), grid: { display: false } },
        y: { ...axisStyle('weight'), min: -limit, max: limit, ticks: { count: 5, callback: (v) => String(+Number(v).toFixed(2)) } }
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `${ctx.label}: ${(ctx.parsed.y ?? 0).toFixed(3)}` } }
      }
    }
  }
}
