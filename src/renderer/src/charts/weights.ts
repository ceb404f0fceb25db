// The head's weights: one bar per base class (e.g. digits 0-9) plus the bias, coloured by a
// diverging scale (blue negative, white zero, red-orange positive) scaled to the largest
// magnitude, so strong weights are never clipped to ±1.
import type { ChartData, ChartOptions } from 'chart.js'
import { BAR_BORDER } from './colors'
import { divergingColor } from './colors'
import { BASE_OPTIONS, axisStyle, niceCeil } from './common'

export interface WeightsChart {
  data: ChartData<'bar', number[]>
  options: ChartOptions<'bar'>
  /** The largest |value| (weights and bias): the colour scale's end. */
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

export function weightsChart(weights: readonly number[], bias: number, classNames: readonly string[], opts: WeightsOptions = {}): WeightsChart {
  const values = [...weights, bias]
  const scale = values.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0)
  const limit = niceCeil(Math.max(scale, opts.limit ?? 0))
  return {
    scale,
    data: {
      labels: weightLabels(weights.length, classNames),
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
