// What a session shows in TensorBoard, one step per iteration: the held-out and labelled
// accuracy, the loss on the labels, the head's bias and the label count as scalars; the head
// weights and P(positive) over the pool as histograms; the batch asked next as an image.
// The studio writes these as it goes; `curator tensorboard` rebuilds them from a log.
import type { QueryEvent, TrainEvent } from '../session/events'
import { histogramFromBins, histogramOf } from './histogram'
import type { SummaryValue } from './proto'
import { EventWriter, RawImage, wallTime } from './writer'

export const TAGS = {
  heldOut: 'accuracy/held_out',
  labelled: 'accuracy/labelled',
  loss: 'loss/labelled',
  bias: 'head/bias',
  labels: 'labels',
  weights: 'head/weights',
  p: 'pool/p_positive',
  pTrueNegative: 'pool/p_positive_truth_negative',
  pTruePositive: 'pool/p_positive_truth_positive',
  asked: 'asked'
} as const

/** One fit: `loss` is the mean log loss on the labels (null without labels or when unknown). */
export function writeIteration(w: EventWriter, t: TrainEvent, loss: number | null): void {
  const scalars: SummaryValue[] = [
    { tag: TAGS.labels, simpleValue: t.labels },
    { tag: TAGS.bias, simpleValue: t.headBias },
    ...(t.testAccuracy === null ? [] : [{ tag: TAGS.heldOut, simpleValue: t.testAccuracy }]),
    ...(t.labelledAccuracy === null ? [] : [{ tag: TAGS.labelled, simpleValue: t.labelledAccuracy }]),
    ...(loss === null ? [] : [{ tag: TAGS.loss, simpleValue: loss }])
  ]
  const time = wallTime(t.at)
  w.summary(t.iteration, time, ...scalars)
  w.histogram(TAGS.weights, t.iteration, histogramOf(t.headWeights), time)
  w.histogram(TAGS.p, t.iteration, histogramFromBins(t.histogram.counts), time)
  if (t.histogram.byTruth) {
    w.histogram(TAGS.pTrueNegative, t.iteration, histogramFromBins(t.histogram.byTruth[0]), time)
    w.histogram(TAGS.pTruePositive, t.iteration, histogramFromBins(t.histogram.byTruth[1]), time)
  }
}

/** The images of a query side by side (2 px apart, on black), at the step of the fit that chose them. */
export function writeAsked(w: EventWriter, q: QueryEvent, images: RawImage[]): void {
  if (images.length) w.image(TAGS.asked, q.iteration, strip(images), wallTime(q.at))
}

const GAP = 2

export function strip(images: RawImage[]): RawImage {
  const channels = images.every((i) => i.channels === 1) ? 1 : 3
  const height = Math.max(...images.map((i) => i.height))
  const width = images.reduce((s, i) => s + i.width, 0) + GAP * (images.length - 1)
  const pixels = new Uint8Array(width * height * channels)
  let x0 = 0
  for (const img of images) {
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        for (let c = 0; c < channels; c++)
          pixels[(y * width + x0 + x) * channels + c] = img.pixels[(y * img.width + x) * img.channels + (img.channels === 1 ? 0 : c)]
      }
    }
    x0 += img.width + GAP
  }
  return { width, height, channels, pixels }
}
