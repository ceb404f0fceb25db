// The model card of an export (the top of its README) and its accuracy curve (a small PNG):
// task, data, labels, strategy, held-out accuracy with a 95 % confidence interval, known limits.
import sharp from 'sharp'
import { textWidth } from './font'
import { Canvas } from './gif'
import type { Rgb } from '../../shared/palette'

/** The 95 % Wilson score interval of k successes in n trials (sound for small n and p near 1). */
export function wilson(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (n <= 0) return [0, 1]
  const p = k / n
  const z2 = z * z
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n)
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  return [Math.max(0, centre - half), Math.min(1, centre + half)]
}

export interface CurvePoint {
  labels: number
  testAccuracy: number | null
}

export const CURVE_WIDTH = 360
export const CURVE_HEIGHT = 180
const LEFT = 36
const RIGHT = 12
const TOP = 22
const BOTTOM = 28
const INK: Rgb = [0, 0, 0]
const AXIS: Rgb = [110, 110, 110]
const GRID: Rgb = [225, 225, 225]
const LINE: Rgb = [31, 119, 180]

/** The accuracy range the curve shows: [lower, 1], lower a tenth at or below every point (at most 0.5). */
export const curveFloor = (points: CurvePoint[]): number =>
  Math.min(0.5, ...points.filter((p) => p.testAccuracy !== null).map((p) => Math.floor(p.testAccuracy! * 10) / 10))

/** Held-out accuracy against labels given, one dot per fit, as a PNG. */
export async function accuracyCurvePng(points: CurvePoint[]): Promise<Buffer> {
  const c = new Canvas(CURVE_WIDTH, CURVE_HEIGHT)
  const shown = points.filter((p) => p.testAccuracy !== null)
  const lo = curveFloor(shown)
  const maxLabels = Math.max(1, ...shown.map((p) => p.labels))
  const w = CURVE_WIDTH - LEFT - RIGHT
  const h = CURVE_HEIGHT - TOP - BOTTOM
  const xAt = (labels: number) => LEFT + Math.round((labels / maxLabels) * (w - 1))
  const yAt = (acc: number) => TOP + Math.round(((1 - acc) / (1 - lo)) * (h - 1))
  const text = (s: string, x: number, y: number, align: 'left' | 'center' | 'right' = 'left') => c.text(s, x, y, 1, INK, align)
  text('held-out accuracy', CURVE_WIDTH / 2, 6, 'center')
  for (let t = 0; t <= 10; t++) {
    const acc = lo + ((1 - lo) * t) / 10
    if (Math.abs(acc * 10 - Math.round(acc * 10)) > 1e-9) continue
    c.rect(LEFT, yAt(acc), w, 1, GRID)
    text(acc.toFixed(1), LEFT - 4, yAt(acc) - 3, 'right')
  }
  c.rect(LEFT - 1, TOP, 1, h, AXIS)
  c.rect(LEFT - 1, TOP + h, w + 1, 1, AXIS)
  const step = niceStep(maxLabels)
  for (let n = 0; n <= maxLabels; n += step) {
    c.rect(xAt(n), TOP + h + 1, 1, 3, AXIS)
    text(String(n), xAt(n), TOP + h + 6, 'center')
  }
  text('labels', LEFT + w - textWidth('labels'), CURVE_HEIGHT - 8)
  for (let i = 1; i < shown.length; i++)
    line(c, xAt(shown[i - 1].labels), yAt(shown[i - 1].testAccuracy!), xAt(shown[i].labels), yAt(shown[i].testAccuracy!))
  for (const p of shown) c.rect(xAt(p.labels) - 1, yAt(p.testAccuracy!) - 1, 3, 3, LINE)
  return sharp(Buffer.from(c.rgba), { raw: { width: CURVE_WIDTH, height: CURVE_HEIGHT, channels: 4 } })
    .png()
    .toBuffer()
}

const niceStep = (max: number) => [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => max / s <= 8) ?? Math.ceil(max / 8)

function line(c: Canvas, x0: number, y0: number, x1: number, y1: number): void {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1)
  for (let i = 0; i <= n; i++) c.rect(Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), 1, 1, LINE)
}

export interface CardData {
  question: string
  labels: [string, string]
  positiveClasses?: unknown
  dataset: { id: string; poolSize: number; testSize: number }
  base: { id: string; hash: string; unfrozenLayers: number; inputShape: (number | null)[] }
  strategy: string
  fit: string
  batchSize: number
  seed: number
  /** Answers the model was fitted on, by value: [negative, positive]. */
  trained: [number, number]
  pending: number
  /** The last fit's held-out accuracy, or null without a held-out split. */
  testAccuracy: number | null
  iterations: number
  onnx: { written: true } | { written: false; reason: string }
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`

/** The card's numbers: what the README states, computed once (the tests check them against the session). */
export function cardNumbers(d: CardData): { labels: number; correct: number | null; interval: [number, number] | null } {
  const labels = d.trained[0] + d.trained[1]
  if (d.testAccuracy === null || d.dataset.testSize === 0) return { labels, correct: null, interval: null }
  const correct = Math.round(d.testAccuracy * d.dataset.testSize)
  return { labels, correct, interval: wilson(correct, d.dataset.testSize) }
}

/** The model card, in Markdown. */
export function modelCard(d: CardData): string {
  const [neg, pos] = d.labels
  const { labels, correct, interval } = cardNumbers(d)
  const accuracy =
    correct === null || interval === null || d.testAccuracy === null
      ? 'No held-out split: the dataset has no ground truth to evaluate against, so no accuracy is claimed.'
      : `**${pct(d.testAccuracy)}** on ${d.dataset.testSize.toLocaleString('en')} held-out images (${correct} correct; 95 % Wilson interval ` +
        `${pct(interval[0])} to ${pct(interval[1])}), after ${d.iterations} fits. The held-out images were never labelled or trained on.`
  const side = d.base.inputShape.slice(0, 2).every((x) => x === null)
    ? 'images of any size'
    : `${d.base.inputShape.slice(0, 2).join(' × ')} pixels`
  return `## Model card

| | |
|---|---|
| task | "${d.question}": P(${pos}), a sigmoid; 0.5 or more means "${pos}", less means "${neg}"${d.positiveClasses ? ` (ground truth: classes ${JSON.stringify(d.positiveClasses)} are "${pos}")` : ''} |
| data | \`${d.dataset.id}\`: ${d.dataset.poolSize.toLocaleString('en')} pool images to ask about, ${d.dataset.testSize.toLocaleString('en')} held out |
| labels | ${labels} trained on (${d.trained[0]} "${neg}", ${d.trained[1]} "${pos}")${d.pending ? `; ${d.pending} more in an unfinished batch, listed but not trained on` : ''} |
| strategy | ${d.strategy}, batches of ${d.batchSize}, fit ${d.fit}, seed ${d.seed} |
| base | ${d.base.id} (hash ${d.base.hash}), ${d.base.unfrozenLayers ? `its top ${d.base.unfrozenLayers} layers trained with the head, the rest frozen` : 'frozen; only the head trained'} |
| held-out accuracy | ${accuracy} |

![Held-out accuracy against labels given](accuracy.png)

### Known limits
- The base sees images as it was trained to: ${side}, RGB (grey repeated), scaled to 0..1; photos unlike its training
  data (the MNIST base knows white digits on black) give features that mean little, whatever the head learned.
- ${labels} labels chosen by the ${d.strategy} strategy are not a random sample: the accuracy above is measured on the held-out
  split, not on the labelled images, and holds for images like that split.
- The head is one logistic unit on the base's outputs: it separates what the base's features separate, nothing finer.
- ${d.onnx.written ? '`model.onnx` and `model.json` compute the same P (tested to 1e-4).' : `No \`model.onnx\`: ${d.onnx.reason}.`}
`
}
