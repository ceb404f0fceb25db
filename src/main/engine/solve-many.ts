// L L^T X = B for one Cholesky factor L and many right-hand sides at once (the leave-one-out
// screens of a wide head: every screen's step solves with the same factor), in WebAssembly SIMD:
// the same numbers as solveCholeskyInto in head.ts for each column, bit for bit. B is n x m, row i
// holding entry i of every right-hand side, so each row of L read is used by all columns and two
// columns share a vector; each entry's terms are taken in the same order as one solve alone
// (k ascending), a subtraction of a product each, then the division by L's diagonal.
import { get, I32, i32, instantiate, type Memory, moduleOf, set, simd, tee, V128, vec } from './wasm-asm'

/** The module's function: solves in place for B at byte b (n rows of m2 float64 pairs) with L at byte l (L^T too where `back`). */
type Run = (l: number, b: number, n: number, m2: number, back: number) => void

/** A factor in WebAssembly memory, with room for up to n right-hand sides. */
export class SolveMany {
  private readonly memory: Memory | null
  private readonly run: Run | null
  private readonly bAt: number

  /** L (n x n, lower) as cholesky() gives it; up to `most` right-hand sides a call. */
  constructor(
    private readonly l: Float64Array,
    private readonly n: number,
    most: number
  ) {
    this.bAt = Math.ceil((n * n * 8) / 16) * 16
    const made = n > 0 ? instantiate<Run>(MODULE, 'solve', this.bAt + n * (most + 1) * 8) : null
    this.memory = made?.memory ?? null
    this.run = made?.run ?? null
    if (this.memory) new Float64Array(this.memory.buffer, 0, n * n).set(l)
  }

  /**
   * Solves L L^T X = B in place (only L Z = B without `back`): b is n x m, row i entry i of each
   * of the m right-hand sides.
   */
  solve(b: Float64Array, m: number, back = true): void {
    const { n, l, memory, run } = this
    if (memory && run) {
      // An even number of columns: a last column of zeros stays zeros.
      const width = 2 * Math.ceil(m / 2)
      const block = new Float64Array(memory.buffer, this.bAt, n * width)
      if (width === m) block.set(b.subarray(0, n * m))
      else
        for (let i = 0; i < n; i++) {
          block.set(b.subarray(i * m, i * m + m), i * width)
          block[i * width + m] = 0
        }
      run(0, this.bAt, n, width / 2, back ? 1 : 0)
      if (width === m) b.set(block)
      else for (let i = 0; i < n; i++) b.set(block.subarray(i * width, i * width + m), i * m)
      return
    }
    for (let i = 0; i < n; i++) {
      const row = i * m
      for (let p = 0; p < i; p++) {
        const lip = l[i * n + p]
        for (let j = 0, prow = p * m; j < m; j++) b[row + j] -= lip * b[prow + j]
      }
      for (let j = 0; j < m; j++) b[row + j] /= l[i * n + i]
    }
    if (!back) return
    for (let i = n - 1; i >= 0; i--) {
      const row = i * m
      for (let p = i + 1; p < n; p++) {
        const lpi = l[p * n + i]
        for (let j = 0, prow = p * m; j < m; j++) b[row + j] -= lpi * b[prow + j]
      }
      for (let j = 0; j < m; j++) b[row + j] /= l[i * n + i]
    }
  }

  /** Whether this one runs in WebAssembly (for the tests). */
  get inWasm(): boolean {
    return this.run !== null
  }
}

// ---- the module, assembled here --------------------------------------------------------------

const [LOAD, LOAD64_SPLAT, STORE, F64X2_SUB, F64X2_MUL, F64X2_DIV] = [0, 10, 11, 241, 242, 243]
const [ADD, SUB, MUL] = [0x6a, 0x6b, 0x6c]
// solve(l, b, n, m2, back): locals 5 i, 6 p (terms left), 7 L's pointer, 8 the term's row of B, 9 row i of B,
// 10 and 11 the pointers along the rows, 12 pairs left, 13 a row of B's bytes, 14 a row of L's, 15 L's entry twice.
const [L, B, N, M2, BACK, I, P, LP, PROW, ROWI, Q, R, J, STRIDE, NB, LV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
const add = (local: number, other: number[]) => [...get(local), ...other, ADD, ...set(local)]
/** local -= 1, and loop again while it is not 0. */
const countDown = (local: number) => [...get(local), ...i32(1), SUB, ...tee(local), 0x0d, 0]
/** Row i of B -= LV * the row at PROW, pair by pair. */
const subtractRow = [
  [...get(ROWI), ...set(Q), ...get(PROW), ...set(R), ...get(M2), ...set(J)],
  [0x03, 0x40],
  [...get(Q), ...get(Q), ...simd(LOAD, 3, 0), ...get(LV), ...get(R), ...simd(LOAD, 3, 0), ...simd(F64X2_MUL), ...simd(F64X2_SUB)],
  [...simd(STORE, 3, 0), ...add(Q, i32(16)), ...add(R, i32(16)), ...countDown(J)],
  [0x0b]
].flat()
/** Row i of B /= L[i][i] (at byte LP), pair by pair. */
const divideRow = [
  [...get(LP), ...simd(LOAD64_SPLAT, 3, 0), ...set(LV), ...get(ROWI), ...set(Q), ...get(M2), ...set(J)],
  [0x03, 0x40],
  [...get(Q), ...get(Q), ...simd(LOAD, 3, 0), ...get(LV), ...simd(F64X2_DIV), ...simd(STORE, 3, 0)],
  [...add(Q, i32(16)), ...countDown(J)],
  [0x0b]
].flat()
/** For P terms: LV = L at LP, subtractRow, LP += step, PROW += STRIDE (nothing where P is 0). */
const terms = (lpStep: number[]) =>
  [
    [0x02, 0x40, ...get(P), 0x45, 0x0d, 0],
    [0x03, 0x40, ...get(LP), ...simd(LOAD64_SPLAT, 3, 0), ...set(LV)],
    subtractRow,
    [...add(LP, lpStep), ...add(PROW, get(STRIDE)), ...countDown(P)],
    [0x0b, 0x0b]
  ].flat()
const body = [
  ...vec([
    [10, I32],
    [1, V128]
  ]),
  [0x02, 0x40, ...get(N), 0x45, 0x0d, 0, ...get(M2), 0x45, 0x0d, 0], // block; nothing to do
  [...get(M2), ...i32(4), 0x74, ...set(STRIDE), ...get(N), ...i32(3), 0x74, ...set(NB)],
  // Forward: row i -= L[i][p] * row p for p = 0 .. i - 1, then /= L[i][i].
  [...i32(0), ...set(I), ...get(B), ...set(ROWI)],
  [0x03, 0x40],
  [...get(L), ...get(I), ...get(NB), MUL, ADD, ...set(LP), ...get(B), ...set(PROW), ...get(I), ...set(P)],
  terms(i32(8)),
  divideRow,
  [...add(ROWI, get(STRIDE)), ...get(I), ...i32(1), ADD, ...tee(I), ...get(N), 0x49, 0x0d, 0],
  [0x0b],
  // Backward, i = n - 1 .. 0: row i -= L[p][i] * row p for p = i + 1 .. n - 1, then /= L[i][i].
  [...get(BACK), 0x45, 0x0d, 0, ...get(N), ...set(I)],
  [0x03, 0x40],
  [...get(I), ...i32(1), SUB, ...set(I), ...get(B), ...get(I), ...get(STRIDE), MUL, ADD, ...set(ROWI)],
  [...get(N), ...i32(1), SUB, ...get(I), SUB, ...set(P), ...get(ROWI), ...get(STRIDE), ADD, ...set(PROW)],
  [...get(L), ...get(I), ...get(NB), MUL, ADD, ...get(NB), ADD, ...get(I), ...i32(3), 0x74, ADD, ...set(LP)],
  terms(get(NB)),
  [...get(L), ...get(I), ...get(NB), MUL, ADD, ...get(I), ...i32(3), 0x74, ADD, ...set(LP)],
  divideRow,
  [...get(I), 0x0d, 0],
  [0x0b],
  [0x0b, 0x0b] // block, function
].flat()

const MODULE = moduleOf('solve', [I32, I32, I32, I32, I32], [], body)
