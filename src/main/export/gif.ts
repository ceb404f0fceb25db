// The session as an animated GIF, in the spirit of the original demo's final figure: one
// 432x288 frame per fit with the P(positive) histogram (accuracy in its title) above and
// the head weights as a color strip below. Drawn in plain JS into an RGBA buffer with a
// built-in bitmap font, encoded by gifenc, written atomically (src/main/files/safe.ts).
import { existsSync, readSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { dirname, extname, join, resolve } from 'node:path'
// @ts-expect-error -- gifenc 1.0.3 ships no type declarations; the part used is typed below.
import * as gifencModule from 'gifenc'
import type { BaselinePoint, HistogramDto } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { divergingRgb, NEGATIVE_RGB, POSITIVE_RGB, type Rgb } from '../../shared/palette'
import { HISTOGRAM_BINS } from '../../shared/schema'
import { LOG_FILE, readSessionLog } from '../session/log'
import { derive } from '../session/derive'
import { drawText, textWidth } from './font'
import { writeFileAtomic } from '../files/safe'
import { withRegularFile } from '../files/read'

interface GifEncoder {
  writeFrame(index: Uint8Array, width: number, height: number, opts: { palette?: Rgb[]; delay?: number; repeat?: number }): void
  finish(): void
  bytes(): Uint8Array
}
const { GIFEncoder } = gifencModule as unknown as { GIFEncoder: () => GifEncoder }

export const FRAME_WIDTH = 432
export const FRAME_HEIGHT = 288
/** The first and the last frame stay up this long, as in the original figure. */
export const HOLD_MS = 5000
export const FRAME_MS = 1000

/** What one frame shows: one train event. */
export interface FrameData {
  labels: number
  testAccuracy: number | null
  headWeights: number[]
  histogram: HistogramDto
  /** What random picks with as many labels reach (the random baseline), when known. */
  baseline?: number | null
}

/** Scales shared by every frame of a session, so frames can be compared by eye. */
export interface FrameScale {
  /** The tallest histogram bar over all frames. */
  maxCount: number
  /** The weight color scale is -maxAbsWeight..+maxAbsWeight (max |w| over the session), so nothing is clipped. */
  maxAbsWeight: number
  /** Names of the negative and the positive answer (legend and x axis). */
  names: [string, string]
}

// ---- colors: a fixed palette, so every frame maps exactly and shares one color table ----

const WHITE: Rgb = [255, 255, 255]
const BLACK: Rgb = [0, 0, 0]
const AXIS: Rgb = [110, 110, 110]
// The answer and weight colors are the app's (src/shared/palette.ts).
const NEGATIVE = NEGATIVE_RGB
const POSITIVE = POSITIVE_RGB
const UNKNOWN: Rgb = [170, 170, 170]
/** Steps on each side of the diverging scale (2 * RAMP + 1 colors). */
const RAMP = 100

/** The app's color of weight w on the symmetric scale -max..+max, quantised to the palette's ramp. */
export function weightColor(w: number, max: number): Rgb {
  const t = max > 0 ? Math.max(-1, Math.min(1, w / max)) : 0
  return divergingRgb(Math.round(t * RAMP), RAMP)
}

export const PALETTE: Rgb[] = [
  WHITE,
  BLACK,
  AXIS,
  NEGATIVE,
  POSITIVE,
  UNKNOWN,
  ...Array.from({ length: 2 * RAMP + 1 }, (_, k) => weightColor(k - RAMP, RAMP))
]

const key = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b
const paletteIndex = new Map<number, number>()
PALETTE.forEach((c, i) => {
  if (!paletteIndex.has(key(...c))) paletteIndex.set(key(...c), i)
})

/** Maps an RGBA frame to palette indices: exact for the palette's colors, nearest otherwise. */
export function toIndexed(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length / 4)
  for (let p = 0; p < out.length; p++) {
    const r = rgba[4 * p]
    const g = rgba[4 * p + 1]
    const b = rgba[4 * p + 2]
    let i = paletteIndex.get(key(r, g, b))
    if (i === undefined) {
      let best = Infinity
      PALETTE.forEach(([pr, pg, pb], k) => {
        const d = (pr - r) ** 2 + (pg - g) ** 2 + (pb - b) ** 2
        if (d < best) [best, i] = [d, k]
      })
    }
    out[p] = i!
  }
  return out
}

// ---- drawing ----

/** An RGBA image to draw on (the GIF frames, the export's accuracy curve). */
export class Canvas {
  readonly rgba: Uint8Array
  constructor(
    readonly width = FRAME_WIDTH,
    readonly height = FRAME_HEIGHT
  ) {
    this.rgba = new Uint8Array(width * height * 4)
    this.rect(0, 0, width, height, WHITE)
  }
  /** Fills [x, x + w) x [y, y + h), clipped to the image. */
  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x))
    const y0 = Math.max(0, Math.round(y))
    const x1 = Math.min(this.width, Math.round(x + w))
    const y1 = Math.min(this.height, Math.round(y + h))
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = 4 * (yy * this.width + xx)
        this.rgba[o] = c[0]
        this.rgba[o + 1] = c[1]
        this.rgba[o + 2] = c[2]
        this.rgba[o + 3] = 255
      }
    }
  }
  outline(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.rect(x, y, w, 1, c)
    this.rect(x, y + h - 1, w, 1, c)
    this.rect(x, y, 1, h, c)
    this.rect(x + w - 1, y, 1, h, c)
  }
  text(s: string, x: number, y: number, scale = 1, c: Rgb = BLACK, align: 'left' | 'center' | 'right' = 'left'): void {
    const w = textWidth(s, scale)
    const left = align === 'left' ? x : align === 'center' ? x - Math.floor(w / 2) : x - w
    drawText(s, left, y, scale, (px, py) => this.rect(px, py, 1, 1, c))
  }
}

// Layout (pixels). The histogram spans its HISTOGRAM_BINS bins of 35 px; the strip is centred under it.
const PLOT_X = 40
const BIN_W = 35
const BINS = HISTOGRAM_BINS
const PLOT_W = BIN_W * BINS
const HIST_TOP = 54
const HIST_H = 112
const STRIP_TOP = 218
const STRIP_H = 32

export const formatAccuracy = (a: number | null): string => (a === null ? '—' : a.toFixed(3))

/** Draws one frame into a fresh RGBA buffer of FRAME_WIDTH x FRAME_HEIGHT. */
export function renderFrame(f: FrameData, scale: FrameScale): Uint8Array {
  const c = new Canvas()
  const [negName, posName] = scale.names
  const centre = PLOT_X + PLOT_W / 2

  c.text(`Labels: ${f.labels}`, FRAME_WIDTH / 2, 4, 3, BLACK, 'center')

  // Upper panel: P(positive) histogram, stacked by true class when the truth is known.
  const title =
    f.baseline == null
      ? `Held-out accuracy: ${formatAccuracy(f.testAccuracy)}`
      : `Held-out: ${formatAccuracy(f.testAccuracy)}  random: ${formatAccuracy(f.baseline)}`
  c.text(title, centre, 32, 2, BLACK, 'center')
  const bottom = HIST_TOP + HIST_H
  const maxCount = Math.max(1, scale.maxCount)
  const yAt = (count: number) => bottom - Math.round((Math.min(count, maxCount) / maxCount) * HIST_H)
  let unknownSeen = false
  for (let b = 0; b < BINS; b++) {
    const x = PLOT_X + b * BIN_W + 1
    const total = f.histogram.counts[b] ?? 0
    const segments: [number, Rgb][] = []
    if (f.histogram.byTruth) {
      const [neg, pos] = [f.histogram.byTruth[0][b] ?? 0, f.histogram.byTruth[1][b] ?? 0]
      segments.push([neg, NEGATIVE], [pos, POSITIVE])
      if (total > neg + pos) {
        segments.push([total - neg - pos, UNKNOWN])
        unknownSeen = true
      }
    } else segments.push([total, NEGATIVE])
    let below = 0
    for (const [n, color] of segments) {
      const top = yAt(below + n)
      c.rect(x, top, BIN_W - 2, yAt(below) - top, color)
      below += n
    }
  }
  c.rect(PLOT_X - 1, HIST_TOP - 2, 1, HIST_H + 3, AXIS) // y axis
  c.rect(PLOT_X - 1, bottom, PLOT_W + 1, 1, AXIS) // x axis
  c.rect(PLOT_X - 4, HIST_TOP, 3, 1, AXIS)
  c.text(String(scale.maxCount), PLOT_X - 6, HIST_TOP - 3, 1, BLACK, 'right')
  c.text('0', PLOT_X - 6, bottom - 6, 1, BLACK, 'right')
  for (const [t, label] of [
    [0, '0'],
    [0.5, '0.5'],
    [1, '1']
  ] as const) {
    const x = PLOT_X + Math.round(t * PLOT_W) - (t === 1 ? 1 : 0)
    c.rect(x, bottom + 1, 1, 3, AXIS)
    c.text(label, x, bottom + 5, 1, BLACK, 'center')
  }
  c.text(`P(${posName})`, centre, bottom + 14, 1, BLACK, 'center')
  if (f.histogram.byTruth) {
    // Legend: the true classes, in a row under the plot's right end (clear of every bar).
    const entries: [string, Rgb][] = [
      [negName, NEGATIVE],
      [posName, POSITIVE],
      ...(unknownSeen ? [['unknown', UNKNOWN] as [string, Rgb]] : [])
    ]
    let right = PLOT_X + PLOT_W
    for (const [name, color] of entries.reverse()) {
      c.text(name, right, bottom + 14, 1, BLACK, 'right')
      right -= textWidth(name) + 4
      c.rect(right - 7, bottom + 14, 7, 7, color)
      right -= 7 + 10
    }
  }

  // Lower panel: the head weights as a 1 x n color strip on a symmetric scale.
  c.text('head weights', centre, 196, 2, BLACK, 'center')
  const n = Math.max(1, f.headWeights.length)
  const cell = Math.floor(PLOT_W / n)
  const left = PLOT_X + Math.floor((PLOT_W - cell * n) / 2)
  f.headWeights.forEach((w, k) => {
    c.rect(left + k * cell, STRIP_TOP, cell, STRIP_H, weightColor(w, scale.maxAbsWeight))
    c.text(String(k), left + k * cell + Math.floor(cell / 2), STRIP_TOP + STRIP_H + 4, 1, BLACK, 'center')
  })
  c.outline(left - 1, STRIP_TOP - 1, cell * n + 2, STRIP_H + 2, BLACK)
  // The color scale: -max .. +max.
  const barW = 160
  const barX = centre - barW / 2
  const barY = STRIP_TOP + STRIP_H + 18
  for (let k = 0; k < barW; k++)
    c.rect(barX + k, barY, 1, 7, weightColor(((2 * k) / (barW - 1) - 1) * scale.maxAbsWeight, scale.maxAbsWeight))
  const m = formatScale(scale.maxAbsWeight)
  c.text(`-${m}`, barX - 5, barY, 1, BLACK, 'right')
  c.text(`+${m}`, barX + barW + 5, barY, 1, BLACK, 'left')
  return c.rgba
}

const formatScale = (m: number): string => (m >= 100 ? m.toFixed(0) : m >= 1 ? m.toFixed(2) : m.toPrecision(2))

/** The shared scales of a session's frames. */
export function frameScale(frames: FrameData[], names: [string, string]): FrameScale {
  let maxCount = 0
  let maxAbsWeight = 0
  for (const f of frames) {
    for (const n of f.histogram.counts) maxCount = Math.max(maxCount, n)
    for (const w of f.headWeights) maxAbsWeight = Math.max(maxAbsWeight, Math.abs(w))
  }
  return { maxCount, maxAbsWeight: maxAbsWeight || 1, names }
}

/** Frame delays: the first and the last held HOLD_MS, the others FRAME_MS. */
export const frameDelays = (count: number): number[] =>
  Array.from({ length: count }, (_, i) => (i === 0 || i === count - 1 ? HOLD_MS : FRAME_MS))

/** Encodes RGBA frames of FRAME_WIDTH x FRAME_HEIGHT as a looping GIF. */
export function encodeGif(frames: Uint8Array[], delays = frameDelays(frames.length)): Uint8Array {
  const gif = GIFEncoder()
  frames.forEach((rgba, i) => {
    gif.writeFrame(
      toIndexed(rgba),
      FRAME_WIDTH,
      FRAME_HEIGHT,
      i === 0 ? { palette: PALETTE, delay: delays[i], repeat: 0 } : { delay: delays[i] }
    )
  })
  gif.finish()
  return signGif(gif.bytes())
}

/** A GIF comment extension before the trailer marks a GIF Curator wrote, so it may be replaced. */
const SIGNATURE = Buffer.from('Written by Curator: a session replay')
const COMMENT = Buffer.concat([Buffer.from([0x21, 0xfe, SIGNATURE.length]), SIGNATURE, Buffer.from([0x00])])

function signGif(bytes: Uint8Array): Uint8Array {
  return Buffer.concat([bytes.subarray(0, bytes.length - 1), COMMENT, Buffer.from([0x3b])])
}

/** Whether `path` is a GIF Curator wrote (its signature comment just before the trailer). Reads 6 + 64 bytes. */
export function isCuratorGif(path: string): boolean {
  try {
    return withRegularFile(path, path, (fd, size) => {
      if (size < 6 + COMMENT.length + 1) return false
      const head = Buffer.alloc(6)
      const tail = Buffer.alloc(COMMENT.length + 1)
      readSync(fd, head, 0, 6, 0)
      readSync(fd, tail, 0, tail.length, size - tail.length)
      return head.toString('latin1') === 'GIF89a' && tail.equals(Buffer.concat([COMMENT, Buffer.from([0x3b])]))
    })
  } catch {
    return false
  }
}

/**
 * Writes the session in `dir` as an animated GIF at `file`, one frame per fit; `baseline` (the
 * random baseline by label count) goes into each frame's title. An existing file is replaced only
 * when it is a GIF Curator wrote, or with `force`; inside a session folder only a `.gif` is ever
 * written, and never over anything but a Curator GIF, force or not.
 */
export async function writeSessionGif(
  dir: string,
  file: string,
  baseline: BaselinePoint[] = [],
  force = false
): Promise<{ file: string; frames: number }> {
  const { events } = await readSessionLog(resolve(dir))
  const d = derive(events)
  const trains = d.trains
  if (trains.length === 0) throw new CuratorError('BAD_DATA', `The session in ${dir} has no fitted iteration to draw yet`)
  const target = resolve(file)
  const inSession = existsSync(join(dirname(target), LOG_FILE))
  if (inSession && extname(target).toLowerCase() !== '.gif') {
    throw new CuratorError(
      'FORBIDDEN',
      `${target} is inside a session folder: only a .gif is written there, never over the session's own files`,
      { path: target }
    )
  }
  if ((await stat(target).catch(() => null))?.isDirectory())
    throw new CuratorError('BAD_ARGUMENT', `${target} is a folder; give a file name for the GIF`)
  const { negative, positive } = d.start.config.task
  const scale = frameScale(trains, [negative.name, positive.name])
  const random = new Map(baseline.map((b) => [b.labels, b.testAccuracy]))
  const bytes = encodeGif(trains.map((t) => renderFrame({ ...t, baseline: random.get(t.labels) ?? null }, scale)))
  const replace = force && !inSession ? 'always' : async (p: string) => isCuratorGif(p)
  await writeFileAtomic(target, bytes, {
    replace,
    ours: inSession ? 'a GIF Curator wrote (it is in a session folder: choose another name)' : 'a GIF Curator wrote (--force replaces it)'
  })
  return { file: target, frames: trains.length }
}
