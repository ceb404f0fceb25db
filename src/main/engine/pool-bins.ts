// The histogram of the pool pass (bins of P by logit, by truth) counted in WebAssembly: the same
// cells as binOfLogit() in head.ts gives, integer for integer. Each logit's cell of BIN_CELLS is
// clamped without a branch and read from the table; the rows whose cell lies at a bin edge (the
// table says -1: P must be computed) are listed for the caller, which counts them with
// binOfLogit. Four sets of counts, by row mod 4, so one count does not wait on the last. It also
// lists the rows whose |logit| is below a bar: the only ones uncertainty's scan may take.
import { BIN_CELLS, BINS } from './head'
import { F64, get, I32, i32, instantiate, moduleOf, set, uleb, vec } from './wasm-asm'

/** Rows counted a call: the logits and truth of one stretch are copied in. */
export const BIN_ROWS = 4096
const CELLS_OF_HISTOGRAM = BINS * 3
// Memory: the table, four sets of counts, a stretch's logits, truth and edge rows.
const TABLE_AT = 0
const COUNTS_AT = 4096
const Z_AT = COUNTS_AT + 4 * CELLS_OF_HISTOGRAM * 4
const TRUTH_AT = Z_AT + BIN_ROWS * 8
const EDGE_AT = TRUTH_AT + BIN_ROWS
const NEAR_AT = EDGE_AT + BIN_ROWS * 4
const BYTES = NEAR_AT + BIN_ROWS * 4

/** The histogram's cells (BINS * 3: by bin, unknown / negative / positive) counted a stretch of logits at a time. */
export class PoolBins {
  private readonly z: Float64Array
  private readonly truth: Int8Array
  private readonly edge: Int32Array
  private readonly near: Int32Array
  private readonly counts: Int32Array

  private constructor(
    buffer: ArrayBufferLike,
    private readonly run: (n: number, bar: number) => number
  ) {
    this.z = new Float64Array(buffer, Z_AT, BIN_ROWS)
    this.truth = new Int8Array(buffer, TRUTH_AT, BIN_ROWS)
    this.edge = new Int32Array(buffer, EDGE_AT, BIN_ROWS)
    this.near = new Int32Array(buffer, NEAR_AT, BIN_ROWS)
    this.counts = new Int32Array(buffer, COUNTS_AT, 4 * CELLS_OF_HISTOGRAM)
    new Int8Array(buffer, TABLE_AT, BIN_CELLS.table.length).set(BIN_CELLS.table)
  }

  /** Null where WebAssembly (with saturating truncation) is not to be had: countBins then does it in JS. */
  static make(): PoolBins | null {
    type Count = (n: number, low: number, per: number, cells: number, bar: number) => number
    const made = BIN_CELLS.table.length > COUNTS_AT ? null : instantiate<Count>(MODULE, 'count', BYTES)
    if (!made) return null
    const { memory, run: count } = made
    return new PoolBins(memory.buffer, (n, bar) => count(n, BIN_CELLS.low, BIN_CELLS.perCell, BIN_CELLS.cells, bar))
  }

  /** Starts a pass: no counts. */
  clear(): void {
    this.counts.fill(0)
  }

  /**
   * Counts rows from..to-1 (at most BIN_ROWS) of z by truth (null: unknown). Returns the rows at a
   * bin edge, which it has not counted, and those whose |z| is not at least `bar` (each as its
   * place from `from`, ascending; views that the next call overwrites).
   */
  count(z: Float64Array, from: number, to: number, truth: Int8Array | null, bar = Infinity): { edge: Int32Array; near: Int32Array } {
    const n = to - from
    if (n > BIN_ROWS || n < 0) throw new Error(`PoolBins: rows ${from}..${to}, at most ${BIN_ROWS} a call`)
    this.z.set(z.subarray(from, to))
    if (truth) this.truth.set(truth.subarray(from, to))
    else this.truth.fill(-1, 0, n)
    const listed = this.run(n, bar)
    return { edge: this.edge.subarray(0, listed & 0xffff), near: this.near.subarray(0, listed >>> 16) }
  }

  /** Adds the pass's counts to cells. */
  addTo(cells: Int32Array): void {
    const c = this.counts
    const m = CELLS_OF_HISTOGRAM
    for (let k = 0; k < m; k++) cells[k] += c[k] + c[m + k] + c[2 * m + k] + c[3 * m + k]
  }
}

// ---- the module, assembled here (a few dozen instructions; no toolchain) ----------------------

const [ADD, MUL, AND, SHL] = [0x6a, 0x6c, 0x71, 0x74]
const [LT_S, GT_S] = [0x48, 0x4a]
const SELECT = 0x1b
const [F64_SUB, F64_MUL, F64_ABS, F64_GE] = [0xa1, 0xa2, 0x99, 0x66]
const TRUNC_SAT_F64_S = [0xfc, 0x02]
const load8s = (offset: number) => [0x2c, 0, ...uleb(offset)]
const load32 = (offset: number) => [0x28, 2, ...uleb(offset)]
const store32 = (offset: number) => [0x36, 2, ...uleb(offset)]
const loadF64 = (offset: number) => [0x2b, 3, ...uleb(offset)]

// count(n, low, per, cells, bar) -> edge rows | near rows << 16: params 0 n, 1 low, 2 per, 3 cells,
// 4 bar; locals 5 i, 6 c, 7 bin, 8 at, 9 edges, 10 near, 11 z.
const [N, LOW, PER, CELLS, BAR, I, C, BIN, AT, EDGES, NEAR, Z] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
const body = [
  ...vec([
    [6, I32],
    [1, F64]
  ]),
  [0x02, 0x40, ...get(N), 0x45, 0x0d, 0], // block; nothing to do: out
  [0x03, 0x40], // loop over the rows
  // c = clamp(trunc_sat((z[i] - low) * per), -1, cells) + 1
  [...get(I), ...i32(3), SHL, ...loadF64(Z_AT), ...set(Z)],
  [...get(Z), ...get(LOW), F64_SUB, ...get(PER), F64_MUL, ...TRUNC_SAT_F64_S, ...set(C)],
  // if !(|z| >= bar): list the row for the scan
  [...get(Z), F64_ABS, ...get(BAR), F64_GE, 0x45, 0x04, 0x40],
  [...get(NEAR), ...i32(2), SHL, ...get(I), ...store32(NEAR_AT), ...get(NEAR), ...i32(1), ADD, ...set(NEAR), 0x0b],
  [...get(C), ...i32(-1), ...get(C), ...i32(-1), GT_S, SELECT, ...set(C)],
  [...get(C), ...get(CELLS), ...get(C), ...get(CELLS), LT_S, SELECT, ...i32(1), ADD, ...set(C)],
  [...get(C), ...load8s(TABLE_AT), ...set(BIN)],
  [...get(BIN), ...i32(0), LT_S, 0x04, 0x40], // if at an edge: list the row
  [...get(EDGES), ...i32(2), SHL, ...get(I), ...store32(EDGE_AT), ...get(EDGES), ...i32(1), ADD, ...set(EDGES)],
  [0x05], // else: counts[(i & 3) * cells of histogram + bin * 3 + truth + 1]++
  [...get(I), ...i32(3), AND, ...i32(CELLS_OF_HISTOGRAM), MUL, ...get(BIN), ...i32(3), MUL, ADD],
  [...get(I), ...load8s(TRUTH_AT), ADD, ...i32(1), ADD, ...i32(2), SHL, ...set(AT)],
  [...get(AT), ...get(AT), ...load32(COUNTS_AT), ...i32(1), ADD, ...store32(COUNTS_AT)],
  [0x0b], // end if
  [...get(I), ...i32(1), ADD, ...set(I), ...get(I), ...get(N), LT_S, 0x0d, 0], // next row, while i < n
  [0x0b, 0x0b], // loop, block
  [...get(EDGES), ...get(NEAR), ...i32(16), SHL, 0x72, 0x0b] // edges | near << 16; end of the function
].flat()

const MODULE = moduleOf('count', [I32, F64, F64, I32, F64], [I32], body)
