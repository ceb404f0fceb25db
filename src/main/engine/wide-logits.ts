// The head's logits over a wide feature matrix (a MobileNet's 1,280 per image), every fit, in
// WebAssembly SIMD: the same numbers as logits() in head.ts, bit for bit. Each row's products are
// added in feature order in float64 as there; two rows share a vector, one a lane. The features
// are copied once into the module's memory, sixteen rows interleaved feature by feature, so one
// load brings two rows' next feature each to four vectors.
//
// A big job (a 20,000-photo pool) is scored on two threads: the memory is shared with a helper
// thread (logits-worker.ts), and both claim chunks of rows from a counter in it until none is
// left. Each row is still scored whole by one thread, so the numbers do not depend on who did it.
import type { Worker } from 'node:worker_threads'
import type { FeatureMatrix } from './features'
import type { HeadParams } from './head'
import { startWorker } from './threads'
import { F64, get, I32, i32, instantiate, type Memory, moduleOf, runOn, set, simd, tee, uleb, V128, vec } from './wasm-asm'

/** Rows scored together (eight float64x2 sums). */
const ROWS = 16

/** The module's function: logits of `blocks` blocks of ROWS rows from byte x, weights at byte w, into byte out. */
type Run = (x: number, w: number, out: number, blocks: number, dim: number, bias: number) => void

/** Products (rows x features) from which a job is shared with the helper thread: below, a message costs more than it saves. */
export const SHARED_PRODUCTS = 4_000_000
/** Blocks of rows a claim takes: 512 rows, about a third of a millisecond at 1,280 features. */
const CHUNK_BLOCKS = 32
/** How long a job waits for the helper's last chunk before scoring the job alone (a helper that stopped). */
const HELPER_TIMEOUT_MS = 2000
/** The control words after the logits (Int32): CLAIM = job << 16 | the next chunk to claim; DONE = chunks scored. */
const [CLAIM, DONE] = [0, 1]

/** Where a matrix's parts lie in its memory (bytes), as both threads need to know. */
interface Layout {
  dim: number
  wAt: number
  outAt: number
  ctlAt: number
}
/** What the helper is told: a matrix's memory once, then each job (its chunks are claimed in the memory). */
export type HelperMessage = { id: number; memory: Memory; layout: Layout } | { id: number; job: Job } | { id: number; drop: true }
/** Blocks first..first+blocks-1 with this bias, in chunks of chunkBlocks; `job` tells it from the ones before. */
interface Job {
  job: number
  first: number
  blocks: number
  chunkBlocks: number
  bias: number
}

/** A matrix's rows interleaved in WebAssembly memory, and the function that scores them. */
export class WideLogits {
  private job = 0
  /** Chunks the helper thread scored of the last job shared with it (the rest were scored here). */
  helped = 0
  /** The control words (see CLAIM, DONE). */
  private readonly ctl: Int32Array
  private constructor(
    private readonly memory: Memory,
    private readonly run: Run,
    private readonly layout: Layout,
    private readonly count: number,
    /** This matrix at the helper thread (null: none, scored here alone). */
    private readonly id: number | null
  ) {
    this.ctl = controlOf(memory, layout)
  }

  /** Null where WebAssembly SIMD or the memory for a copy of the matrix is not to be had (logits() then does it). */
  static of(m: FeatureMatrix): WideLogits | null {
    const { dim, count, data } = m
    const blocks = Math.ceil(count / ROWS)
    const xBytes = blocks * ROWS * dim * 4
    const wAt = xBytes
    const outAt = wAt + Math.ceil((dim * 8) / 16) * 16
    const ctlAt = outAt + blocks * ROWS * 8
    const made = count === 0 || dim === 0 ? null : instantiate<Run>(MODULE, 'logits', ctlAt + 8, true)
    if (!made) return null
    const { memory, run } = made
    const xs = new Float32Array(memory.buffer, 0, xBytes / 4)
    for (let row = 0; row < count; row++) {
      const to = Math.floor(row / ROWS) * ROWS * dim + (row % ROWS)
      for (let j = 0, from = row * dim; j < dim; j++) xs[to + j * ROWS] = data[from + j]
    }
    const layout = { dim, wAt, outAt, ctlAt }
    const id = count * dim >= SHARED_PRODUCTS ? shareWithHelper(memory, layout) : null
    const wide = new WideLogits(memory, run, layout, count, id)
    if (id !== null) dropped.register(wide, id)
    return wide
  }

  /** logits(head, rows from..to-1) into out[from..to-1]; `from` a multiple of 16. */
  logits(head: HeadParams, from: number, to: number, out: Float64Array): void {
    const { memory, layout } = this
    const { dim, wAt, outAt } = layout
    if (from % ROWS !== 0 || to > this.count || from > to) throw new Error(`WideLogits: rows ${from}..${to} of ${this.count}`)
    new Float64Array(memory.buffer, wAt, dim).set(head.weights)
    const first = from / ROWS
    const blocks = Math.ceil(to / ROWS) - first
    if (this.shares(to - from)) this.together(first, blocks, head.bias)
    else scoreBlocks(layout, this.run, first, blocks, head.bias)
    out.set(new Float64Array(memory.buffer, outAt + from * 8, to - from), from)
  }

  /** Whether `rows` rows are scored on two threads: one call for them all is then best (one message, one wait). */
  shares(rows: number): boolean {
    return this.id !== null && helper !== null && rows * this.layout.dim >= SHARED_PRODUCTS
  }

  /** Scores the blocks here and on the helper thread, each claiming chunks until none is left, and waits for the helper's last. */
  private together(first: number, blocks: number, bias: number): void {
    const { ctl } = this
    const job: Job = {
      job: (this.job = (this.job + 1) & 0x7fff),
      first,
      blocks,
      chunkBlocks: Math.max(CHUNK_BLOCKS, Math.ceil(blocks / 0xffff)),
      bias
    }
    const chunks = chunksOf(job)
    Atomics.store(ctl, DONE, 0)
    Atomics.store(ctl, CLAIM, job.job << 16)
    helper?.postMessage({ id: this.id!, job } satisfies HelperMessage)
    this.helped = chunks - scoreChunks(ctl, job, this.layout, this.run)
    for (let done; (done = Atomics.load(ctl, DONE)) < chunks;) {
      if (Atomics.wait(ctl, DONE, done, HELPER_TIMEOUT_MS) !== 'timed-out') continue
      // The helper took a chunk and did not finish it: it is stopped, and the job scored here.
      stopHelper()
      this.helped = 0
      return scoreBlocks(this.layout, this.run, first, blocks, bias)
    }
  }
}

/**
 * Claims the job's chunks one by one (compare-and-exchange on CLAIM: a chunk goes to one thread;
 * a job that is over, or newer, stops a thread that comes late) and scores each; how many it scored. Both threads run it.
 */
function scoreChunks(ctl: Int32Array, t: Job, layout: Layout, run: Run): number {
  const chunks = chunksOf(t)
  let scored = 0
  for (let seen = Atomics.load(ctl, CLAIM); seen >>> 16 === t.job && (seen & 0xffff) < chunks;) {
    const was = Atomics.compareExchange(ctl, CLAIM, seen, seen + 1)
    if (was !== seen) {
      seen = was
      continue
    }
    const b = t.first + (seen & 0xffff) * t.chunkBlocks
    scoreBlocks(layout, run, b, Math.min(t.chunkBlocks, t.first + t.blocks - b), t.bias)
    Atomics.add(ctl, DONE, 1)
    Atomics.notify(ctl, DONE)
    scored++
    seen = Atomics.load(ctl, CLAIM)
  }
  return scored
}

/** Blocks first..first+blocks-1 scored on this thread. */
function scoreBlocks({ dim, wAt, outAt }: Layout, run: Run, first: number, blocks: number, bias: number): void {
  run(first * ROWS * dim * 4, wAt, outAt + first * ROWS * 8, blocks, dim, bias)
}

const chunksOf = (t: Job) => Math.ceil(t.blocks / t.chunkBlocks)
const controlOf = (memory: Memory, layout: Layout) => new Int32Array(memory.buffer, layout.ctlAt, 2)

// ---- the helper thread: started with the first big matrix, one per thread that scores ---------

/** The helper (undefined: not started yet; null: none to be had, or stopped). */
let helper: Worker | null | undefined
let nextId = 0
/** A matrix no longer used is dropped at the helper too (its memory freed there). */
const dropped = new FinalizationRegistry<number>((id) => helper?.postMessage({ id, drop: true } satisfies HelperMessage))

function shareWithHelper(memory: Memory, layout: Layout): number | null {
  if (helper === undefined) {
    try {
      helper = startWorker('logits-worker')
      helper.unref()
      helper.once('exit', () => (helper = null))
    } catch {
      helper = null
    }
  }
  if (!helper) return null
  const id = nextId++
  helper.postMessage({ id, memory, layout } satisfies HelperMessage)
  return id
}

function stopHelper(): void {
  void helper?.terminate()
  helper = null
}

/** In the helper thread: what it does with each message of the thread it helps. */
export function helpWith(): (m: HelperMessage) => void {
  const matrices = new Map<number, { ctl: Int32Array; layout: Layout; run: Run }>()
  return (m) => {
    if ('memory' in m) {
      const run = runOn<Run>(MODULE, 'logits', m.memory)
      if (run) matrices.set(m.id, { ctl: controlOf(m.memory, m.layout), layout: m.layout, run })
    } else if ('drop' in m) matrices.delete(m.id)
    else {
      const it = matrices.get(m.id)
      if (it) void scoreChunks(it.ctl, m.job, it.layout, it.run)
    }
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

const MODULE = moduleOf('logits', [I32, I32, I32, I32, I32, F64], [], body, true)
