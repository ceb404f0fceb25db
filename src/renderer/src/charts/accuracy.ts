// Accuracy against the number of labels: held-out test accuracy (where ground truth
// exists) and accuracy on the labelled set, one point per iteration.
import type { ChartData, ChartOptions } from 'chart.js'
import type { BaselinePoint, IterationDto } from '../../../shared/contract'
import { BASELINE_LINE, LABELLED_LINE, TEST_LINE } from './colors'
import { BASE_OPTIONS, axisStyle, percent } from './common'

export interface Point {
  x: number
  y: number
}

export interface AccuracyChart {
  data: ChartData<'line', Point[]>
  options: ChartOptions<'line'>
}

export const TEST_LABEL = 'held-out test'
export const LABELLED_LABEL = 'labelled set'

export interface AccuracyOptions {
  /** Fix the x axis end (the replay player uses the session's final label count). */
  xMax?: number
  /** Held-out accuracy of random picks with the same label counts (drawn dashed, up to the history's last count). */
  baseline?: readonly BaselinePoint[]
}

export const BASELINE_LABEL = 'random picks'

export function accuracyPoints(history: readonly IterationDto[]): { test: Point[]; labelled: Point[] } {
  const test: Point[] = []
  const labelled: Point[] = []
  for (const h of history) {
    if (h.testAccuracy !== null && Number.isFinite(h.testAccuracy)) test.push({ x: h.labels, y: h.testAccuracy })
    if (h.labelledAccuracy !== null && Number.isFinite(h.labelledAccuracy)) labelled.push({ x: h.labels, y: h.labelledAccuracy })
  }
  return { test, labelled }
}

export function accuracyChart(history: readonly IterationDto[], opts: AccuracyOptions = {}): AccuracyChart {
  const { test, labelled } = accuracyPoints(history)
  const line = (label: string, color: string, data: Point[]) => ({
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    borderWidth: 2,
    pointRadius: data.length > 60 ? 0 : 2.5,
    pointHoverRadius: 4,
    tension: 0,
    // points at 100% sit on the edge of the plot: draw them whole
    clip: 6
  })
  const maxLabels = history.reduce((m, h) => Math.max(m, h.labels), 0)
  const datasets = [line(TEST_LABEL, TEST_LINE, test), line(LABELLED_LABEL, LABELLED_LINE, labelled)]
  const baseline = (opts.baseline ?? []).filter((b) => b.labels <= maxLabels).map((b) => ({ x: b.labels, y: b.testAccuracy }))
  if (test.length && baseline.length)
    datasets.push({ ...line(BASELINE_LABEL, BASELINE_LINE, baseline), borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0 } as ReturnType<
      typeof line
    >)
  return {
    data: { datasets },
    options: {
      ...BASE_OPTIONS,
      parsing: false,
      scales: {
        x: { ...axisStyle('labels'), type: 'linear', min: 0, max: Math.max(opts.xMax ?? 0, maxLabels, 1), ticks: { precision: 0 } },
        y: { ...axisStyle('accuracy'), suggestedMin: 0.5, max: 1, ticks: { callback: (v) => percent(v) } }
      },
      plugins: {
        legend: { position: 'bottom', labels: { usePointStyle: true, pointStyle: 'circle', boxWidth: 7, boxHeight: 7 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${percent(ctx.parsed.y ?? 0)} at ${ctx.parsed.x} labels` } }
      }
    }
  }
}
