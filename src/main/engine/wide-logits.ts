// The head's logits over a wide feature matrix (a MobileNet's 1,280 per image), every fit, in
// WebAssembly SIMD: the same numbers as logits() in head.ts, bit for bit. Each row's products are
// added in feature order in float64 as there; two rows share a vector, one a lane. The features
// are copied once into the module's memory, sixteen rows interleaved feature by feature, so one
// load brings two rows' next feature each to four vectors.
import type { FeatureMatrix } from './features'
import type { HeadParams } from './head'
import { F64, get, I32, i32, instantiate, type Memory, moduleOf, set, simd, tee, uleb, V128, vec } from './wasm-asm'

/** Rows scored together (eight float64x2 sums). */
const ROWS = 16

/** The module's function: logits of `blocks` blocks of ROWS rows from byte x, weights at byte w, into byte out. */
type Run = (x: number, w: number, out: number, blocks: number, dim: number, bias: number) => void

/** A matrix's rows interleaved in WebAssembly memory, and the function that scores them. */
export class WideLogits {
  private constructor(
    private readonly memory: Memory,
    private readonly run: Run,
    private readonly dim: number,
    private readonly count: number,
    private readonly wAt: number,
    private readonly outAt: number
  ) {}

  /** Null where WebAssembly SIMD or the memory for a copy of the matrix is not to be had (logits() then does it). */
  static of(m: FeatureMatrix): WideLogits | null {
    const { dim, count, data } = m
    const blocks = Math.ceil(count / ROWS)
    const xBytes = blocks * ROWS * dim * 4
    const wAt = xBytes
    const outAt = wAt + Math.ceil((dim * 8) / 16) * 16
    const bytes = outAt + blocks * ROWS * 8
    const made = count === 0 || dim === 0 ? null : instantiate<Run>(MODULE, 'logits', bytes)
    if (!made) return null
    const { memory, run } = made
    const xs = new Float32Array(memory.buffer, 0, xBytes / 4)
    for (let row = 0; row < count; row++) {
      const to = Math.floor(row / ROWS) * ROWS * dim + (row % ROWS)
      for (let j = 0, from = row * dim; j < dim; j++) xs[to + j * ROWS] = data[from + j]
    }
    return new WideLogits(memory, run, dim, count, wAt, outAt)
  }

  /** logits(head, rows from..to-1) into out[from..to-1]; `from` a multiple of 16. */
  logits(head: HeadParams, from: number, to: number, out: Float64Array): void {
    const { dim, memory } = this
    if (from % ROWS !== 0 || to > this.count || from > to) throw new Error(`WideLogits: rows ${from}..${to} of ${this.count}`)
    new Float64Array(memory.buffer, this.wAt, dim).set(head.weights)
    const first = from / ROWS
    const blocks = Math.ceil(to / ROWS) - first
    this.run(first * ROWS * dim * 4, this.wAt, this.outAt + first * ROWS * 8, blocks, dim, head.bias)
    out.set(new Float64Array(memory.buffer, this.outAt + from * 8, to - from), from)
  }
}

const cache = new WeakMap<FeatureMatrix, WideLogits | null>()

/** The matrix's WideLogits, made once (null: use logits()). */
export function wideLogitsOf(m: FeatureMatrix): WideLogits | null {
  if (!cache.has(m)) cache.set(m, WideLogits.of(m))
  return cache.get(m)!
}

// ---- the module, assembled here (a few dozen instructions; no toolchain) ----------------------

const addConst = (local: number, n: number) => [...get(local), ...i32(n), 0x6a, ...set(local)]
/** local -= 1, and loop again while it is not 0. */
const countDown = (local: number) => [...get(local), ...i32(1), 0x6b, ...tee(local), 0x0d, 0]
const [F64X2_SPLAT, LOAD64_SPLAT, STORE, LOAD64_ZERO, PROMOTE_LOW, F64X2_ADD, F64X2_MUL] = [20, 10, 11, 93, 95, 240, 242]

// logits(x, w, out, blocks, dim, bias): locals 6 j, 7 w's pointer, 8..15 the sums, 16 w[j] twice.
const [X, W, OUT, BLOCKS, DIM, BIAS, J, WP, SUM, WJ] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16]
const sums = Array.from({ length: ROWS / 2 }, (_, r) => SUM + r)
const body = [
  ...vec([
    [1, I32],
    [1, I32],
    [ROWS / 2 + 1, V128]
  ]),
  [0x02, 0x40], // block
  [...get(BLOCKS), 0x45, 0x0d, 0, ...get(DIM), 0x45, 0x0d, 0], // nothing to do
  [0x03, 0x40], // loop over the blocks of 16 rows
  [...get(BIAS), ...simd(F64X2_SPLAT), ...sums.slice(0, -1).flatMap(tee), ...set(sums.at(-1)!)],
  [...get(W), ...set(WP), ...get(DIM), ...set(J)],
  [0x03, 0x40], // loop over the features
  [...get(WP), ...simd(LOAD64_SPLAT, 3, 0), ...set(WJ)],
  // sum_r += float64(rows 2r, 2r + 1 at feature j) * w[j]
  sums.flatMap((s, r) => [
    ...get(s),
    ...get(X),
    ...simd(LOAD64_ZERO, 3, ...uleb(8 * r)),
    ...simd(PROMOTE_LOW),
    ...get(WJ),
    ...simd(F64X2_MUL),
    ...simd(F64X2_ADD),
    ...set(s)
  ]),
  [...addConst(X, ROWS * 4), ...addConst(WP, 8), ...countDown(J)],
  [0x0b],
  sums.flatMap((s, r) => [...get(OUT), ...get(s), ...simd(STORE, 4, ...uleb(16 * r))]),
  [...addConst(OUT, ROWS * 8), ...countDown(BLOCKS)],
  [0x0b, 0x0b, 0x0b] // loop, block, function
].flat()

const MODULE = moduleOf('logits', [I32, I32, I32, I32, I32, F64], [], body)
