// One sentence per chart, for screen readers (the canvas is only pixels): what the chart shows
// now, in the numbers a sighted user would read off it.
import type { HistogramDto, IterationDto } from '../../../shared/contract'
import { pct } from '../lib/format'
import type { AnswerNames } from './histogram'
import { shownWeights } from './weights'

const signed = (v: number) => `${v < 0 ? '−' : '+'}${Math.abs(v).toFixed(2)}`
// One formatter for every call: toLocaleString builds a new one each time (measurable when a fit arrives).
const EN = new Intl.NumberFormat('en')
const count = (n: number, what: string) => `${EN.format(n)} ${what}${n === 1 ? '' : 's'}`

export function accuracySummary(history: readonly IterationDto[]): string {
  const tested = history.filter((h) => h.testAccuracy !== null)
  if (!history.length) return 'Accuracy against labels: no iterations yet.'
  if (!tested.length)
    return `Accuracy against labels: no held-out ground truth; ${count(history[history.length - 1].labels, 'label')} so far.`
  const first = tested[0]
  const last = tested[tested.length - 1]
  const best = tested.reduce((b, h) => (h.testAccuracy! > b.testAccuracy! ? h : b))
  const labelled = last.labelledAccuracy === null ? '' : `; accuracy on the labels given ${pct(last.labelledAccuracy)}`
  return (
    `Held-out accuracy ${pct(last.testAccuracy)} after ${count(last.labels, 'label')}` +
    (tested.length > 1
      ? ` (${pct(first.testAccuracy)} at ${count(first.labels, 'label')}, best ${pct(best.testAccuracy)} at ${best.labels})`
      : '') +
    `${labelled}.`
  )
}

export function weightsSummary(weights: readonly number[], bias: number, classNames: readonly string[]): string {
  const shown = shownWeights(weights, classNames)
  const named = shown.values.map((w, i) => ({ name: shown.labels[i], w }))
  if (!named.length) return 'Head weights: none yet.'
  const of = named.length < weights.length ? ` (the ${named.length} largest of ${weights.length})` : ''
  const list = (xs: typeof named) => xs.map((x) => `${x.name} ${signed(x.w)}`).join(', ')
  const pos = named.filter((x) => x.w > 0).sort((a, b) => b.w - a.w)
  const neg = named.filter((x) => x.w < 0).sort((a, b) => a.w - b.w)
  const zero = named.length - pos.length - neg.length
  return (
    `Head weights${of}: positive ${pos.length ? list(pos) : 'none'}; negative ${neg.length ? list(neg) : 'none'}` +
    (zero ? `; ${zero} at zero` : '') +
    `; bias ${signed(bias)}.`
  )
}

export function histogramSummary(h: HistogramDto | null, names: AnswerNames): string {
  const p = `P(${names.positive.name})`
  const total = h?.counts.reduce((a, b) => a + b, 0) ?? 0
  if (!h || !total) return `${p} over the pool: no images scored yet.`
  const bins = h.counts.length
  const low = h.counts[0]
  const high = h.counts[bins - 1]
  const share = (n: number) => `${count(n, 'image')} (${pct(n / total, 0)})`
  const truth = h.byTruth
    ? `; by true class ${count(
        h.byTruth[0].reduce((a, b) => a + b, 0),
        names.negative.name + ' image'
      )}, ${count(
        h.byTruth[1].reduce((a, b) => a + b, 0),
        names.positive.name + ' image'
      )}`
    : ''
  return `${p} over ${count(total, 'image')}: ${share(low)} below ${(1 / bins).toFixed(2)}, ${share(high)} at ${(1 - 1 / bins).toFixed(2)} or above, ${share(total - low - high)} in between${truth}.`
}
