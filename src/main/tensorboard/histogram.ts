// TensorBoard histograms from raw values (the head's weights) or from the log's binned counts.
import type { HistogramProto } from './proto'

/** A histogram of `values` in `bins` equal buckets between their min and max. */
export function histogramOf(values: ArrayLike<number>, bins = 20): HistogramProto {
  const v = Array.from(values)
  const min = Math.min(...v)
  const max = Math.max(...v)
  const width = (max - min) / bins || 1
  const bucket = new Array<number>(bins).fill(0)
  for (const x of v) bucket[Math.min(bins - 1, Math.floor((x - min) / width))]++
  return {
    min,
    max,
    num: v.length,
    sum: v.reduce((s, x) => s + x, 0),
    sumSquares: v.reduce((s, x) => s + x * x, 0),
    bucketLimit: bucket.map((_, i) => (i === bins - 1 ? max : min + (i + 1) * width)),
    bucket
  }
}

/**
 * A histogram of counts already binned in equal buckets over [lo, hi] (the log's 11 bins of
 * P(positive)). The values themselves are gone, so sum and sum of squares use bin centres.
 */
export function histogramFromBins(counts: number[], lo = 0, hi = 1): HistogramProto {
  const width = (hi - lo) / counts.length
  const centre = (i: number) => lo + (i + 0.5) * width
  const used = counts.flatMap((c, i) => (c > 0 ? [i] : []))
  return {
    min: used.length ? lo + used[0] * width : lo,
    max: used.length ? lo + (used.at(-1)! + 1) * width : hi,
    num: counts.reduce((s, c) => s + c, 0),
    sum: counts.reduce((s, c, i) => s + c * centre(i), 0),
    sumSquares: counts.reduce((s, c, i) => s + c * centre(i) ** 2, 0),
    bucketLimit: counts.map((_, i) => lo + (i + 1) * width),
    bucket: [...counts]
  }
}
