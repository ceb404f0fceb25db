// The distribution of P(positive) over the pool in 11 bins (like the original's histogram),
// stacked by true class when ground truth exists.
import type { ChartData, ChartOptions } from 'chart.js'
import type { HistogramDto } from '../../../shared/contract'
import { HISTOGRAM_BINS } from '../../../shared/schema'
import { NEGATIVE, NEUTRAL, POSITIVE } from './colors'
import { BASE_OPTIONS, axisStyle } from './common'

const BINS = HISTOGRAM_BINS
export const HISTOGRAM_LABELS: readonly string[] = Array.from({ length: BINS }, (_, i) => (i / (BINS - 1)).toFixed(1))

export interface HistogramChart {
  data: ChartData<'bar', number[]>
  options: ChartOptions<'bar'>
}

export interface AnswerNames {
  negative: { name: string }
  positive: { name: string }
}

const bins = (xs: readonly number[] | undefined): number[] => Array.from({ length: BINS }, (_, i) => Number(xs?.[i] ?? 0) || 0)

export interface HistogramOptions {
  /** A fixed y axis end (the replay player keeps one across steps). */
  yMax?: number
}

export function histogramChart(h: HistogramDto | null, names: AnswerNames, opts: HistogramOptions = {}): HistogramChart {
  const stacked = !!h?.byTruth
  const bar = (label: string, data: number[], color: string) => ({
    label,
    data,
    backgroundColor: color,
    borderColor: color,
    borderWidth: 0,
    barPercentage: 1,
    categoryPercentage: 0.92
  })
  const datasets = h?.byTruth
    ? [bar(names.negative.name, bins(h.byTruth[0]), NEGATIVE), bar(names.positive.name, bins(h.byTruth[1]), POSITIVE)]
    : [bar('pool', bins(h?.counts), NEUTRAL)]
  return {
    data: { labels: [...HISTOGRAM_LABELS], datasets },
    options: {
      ...BASE_OPTIONS,
      scales: {
        x: { ...axisStyle(`P(${names.positive.name})`), stacked, grid: { display: false } },
        y: { ...axisStyle('images'), stacked, beginAtZero: true, ...(opts.yMax ? { max: opts.yMax } : {}), ticks: { precision: 0 } }
      },
      plugins: {
        legend: stacked ? { display: true, position: 'top', align: 'end', labels: { boxWidth: 10, boxHeight: 10 } } : { display: false }
      }
    }
  }
}

/** The tallest bar (stacked total) of a histogram. */
export function histogramPeak(h: HistogramDto | null): number {
  if (!h) return 0
  return Math.max(0, ...bins(h.counts))
}
