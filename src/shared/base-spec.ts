// What a base model needs of its images, as declared in `curator-base.json` beside its
// model.json (or entered on the start screen and saved there). Shared by the engine, the
// studio's argument checks and the start screen.
import * as v from 'valibot'

export const BASE_SPEC_FILE = 'curator-base.json'

/**
 * How an image is brought to the base's input size: `pad` keeps the aspect ratio and fills the
 * rest with the image's background color (its border's median), `crop` keeps the aspect ratio
 * and cuts the centre, `fill` stretches, `none` feeds images at their own size (a base trained
 * at variable size opts out; large images are still scaled down to the dataset's maxSide).
 */
export const INPUT_FITS = ['pad', 'crop', 'fill', 'none'] as const
export type InputFit = (typeof INPUT_FITS)[number]

const side = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4096))
const perChannel = v.pipe(v.array(v.pipe(v.number(), v.finite())), v.minLength(1), v.maxLength(3))

export const InputSpecSchema = v.strictObject({
  /** [height, width] the base was trained at; null: any size. */
  size: v.optional(v.nullable(v.tuple([side, side]))),
  /** Channels the base takes: 3 (grey images repeated into RGB) or 1 (color turned grey). */
  channels: v.optional(v.picklist([1, 3])),
  fit: v.optional(v.picklist(INPUT_FITS)),
  /** Pixel values 0..255 are mapped linearly onto [low, high] ... */
  range: v.optional(v.tuple([v.pipe(v.number(), v.finite()), v.pipe(v.number(), v.finite())])),
  /** ... then (x - mean) / std per channel (one value: every channel). */
  mean: v.optional(perChannel),
  std: v.optional(
    v.pipe(
      perChannel,
      v.check((a) => a.every((s) => s > 0), 'std must be > 0')
    )
  )
})

export const BaseSpecSchema = v.strictObject({
  /** A short name for the base (shown on the start screen and recorded in sessions). */
  name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  /** The layer whose output the head sits on (default: the layer before the classifier). */
  featureLayer: v.optional(v.pipe(v.string(), v.minLength(1))),
  input: v.optional(InputSpecSchema),
  /** Names of the feature layer's units, when it is a classifier's output (the head-weight bars). */
  classNames: v.optional(v.array(v.string()))
})

export type InputSpecFile = v.InferOutput<typeof InputSpecSchema>
export type BaseSpecFile = v.InferOutput<typeof BaseSpecSchema>

/** The input preprocessing with every field decided. */
export interface InputSpec {
  size: [number, number] | null
  channels: 1 | 3
  fit: InputFit
  range: [number, number]
  mean: number[]
  std: number[]
}

/** Every field of an input spec, defaults filled in (size from the model's own input shape). */
export function resolveInput(spec: InputSpecFile | undefined, modelSize: [number, number] | null): InputSpec {
  const size = spec?.size === undefined ? modelSize : spec.size
  const fit = size === null ? 'none' : (spec?.fit ?? 'pad')
  return {
    size: fit === 'none' ? null : size,
    channels: spec?.channels ?? 3,
    fit,
    range: spec?.range ?? [0, 1],
    mean: spec?.mean ?? [0],
    std: spec?.std ?? [1]
  }
}

/** One line saying what the input spec does: for metadata, READMEs and the start screen. */
export function describeInput(s: InputSpec): string {
  const size = s.size
    ? `${s.size[1]}x${s.size[0]} (${s.fit === 'pad' ? 'aspect kept, padded with the background color' : s.fit === 'crop' ? 'aspect kept, centre-cropped' : 'stretched'})`
    : 'any size'
  const norm = s.mean.some((m) => m !== 0) || s.std.some((d) => d !== 1) ? `, then (x - [${s.mean}]) / [${s.std}]` : ''
  return `${size}, ${s.channels === 3 ? 'RGB (grey repeated)' : 'grey'}, pixels 0..255 mapped to ${s.range[0]}..${s.range[1]}${norm}`
}
