// The dual fit's products K a with its n x n kernel (every Newton step, line-search trial and
// screening step of a wide head), in WebAssembly SIMD: the same numbers as the plain loop, bit for
// bit. K is symmetric, so rows i and i + 1 at column j are K[j][i], K[j][i + 1]: one load of row j
// gives both lanes, and each lane adds its products in column order from 0, as the loop does. The
// matrix lives in the module's memory from the start (kernelMatrix), so nothing of order n^2 is
// copied for a product.
import { get, I32, i32, instantiate, type Memory, moduleOf, set, simd, tee, uleb, V128, vec } from './wasm-asm'

/** Rows summed together (four float64x2 sums). */
const ROWS = 8

/** The module's function: K a for the first `blocks` * ROWS rows; K at byte k, a at byte a, into byte out. */
type Run = (k: number, a: number, out: number, n: number, blocks: number) => void

interface Product {
  memory: Memory
  run: Run
  aAt: number
  outAt: number
}

const products = new WeakMap<Float64Array, Product>()

/** A zeroed n x n matrix for kernelTimes: in WebAssembly memory where it can be (then its products run there). */
export function kernelMatrix(n: number): Float64Array {
  const kBytes = n * n * 8
  const aAt = Math.ceil(kBytes / 16) * 16
  const outAt = aAt + Math.ceil((n * 8) / 16) * 16
  const made = n >= ROWS ? instantiate<Run>(MODULE, 'times', outAt + n * 8) : null
  if (!made) return new Float64Array(n * n)
  const k = new Float64Array(made.memory.buffer, 0, n * n)
  products.set(k, { ...made, aAt, outAt })
  return k
}

/** out = K a for an n x n symmetric K: each row's sum in column order (K from kernelMatrix: in WebAssembly, the same numbers). */
export function kernelTimes(k: Float64Array, n: number, a: Float64Array, out: Float64Array): void {
  const product = products.get(k)
  let i = 0
  if (product) {
    const { memory, run, aAt, outAt } = product
    const blocks = Math.floor(n / ROWS)
    new Float64Array(memory.buffer, aAt, n).set(a.subarray(0, n))
    run(0, aAt, outAt, n, blocks)
    i = blocks * ROWS
    out.set(new Float64Array(memory.buffer, outAt, i))
  } else
    for (; i + 3 < n; i += 4) {
      // Four rows at a time: each row's sum in order (the same numbers as one row alone).
      const [r0, r1, r2, r3] = [i * n, (i + 1) * n, (i + 2) * n, (i + 3) * n]
      let [s0, s1, s2, s3] = [0, 0, 0, 0]
      for (let j = 0; j < n; j++) {
        const aj = a[j]
        s0 += k[r0 + j] * aj
        s1 += k[r1 + j] * aj
        s2 += k[r2 + j] * aj
        s3 += k[r3 + j] * aj
      }
      out[i] = s0
      out[i + 1] = s1
      out[i + 2] = s2
      out[i + 3] = s3
    }
  for (; i < n; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += k[i * n + j] * a[j]
    out[i] = s
  }
}

// ---- the module, assembled here --------------------------------------------------------------

const addConst = (local: number, n: number) => [...get(local), ...i32(n), 0x6a, ...set(local)]
const addLocal = (local: number, other: number) => [...get(local), ...get(other), 0x6a, ...set(local)]
/** local -= 1, and loop again while it is not 0. */
const countDown = (local: number) => [...get(local), ...i32(1), 0x6b, ...tee(local), 0x0d, 0]
const [LOAD, LOAD64_SPLAT, STORE, F64X2_SPLAT, F64X2_ADD, F64X2_MUL] = [0, 10, 11, 20, 240, 242]

// times(k, a, out, n, blocks): locals 5 j, 6 p (K's row j at this block), 7 a's pointer, 8 this block's
// start in row 0, 9 the stride of a row in bytes, 10..13 the sums, 14 a[j] twice.
const [K, A, OUT, N, BLOCKS, J, P, AP, ROW, STRIDE, SUM, AJ] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14]
const sums = Array.from({ length: ROWS / 2 }, (_, r) => SUM + r)
const body = [
  ...vec([
    [5, I32],
    [ROWS / 2 + 1, V128]
  ]),
  [0x02, 0x40], // block
  [...get(BLOCKS), 0x45, 0x0d, 0], // nothing to do
  [...get(N), ...i32(3), 0x74, ...set(STRIDE), ...get(K), ...set(ROW)],
  [0x03, 0x40], // loop over the blocks of ROWS rows
  [0x44, ...new Array(8).fill(0), ...simd(F64X2_SPLAT), ...sums.slice(0, -1).flatMap(tee), ...set(sums.at(-1)!)],
  [...get(ROW), ...set(P), ...get(A), ...set(AP), ...get(N), ...set(J)],
  [0x03, 0x40], // loop over the columns
  [...get(AP), ...simd(LOAD64_SPLAT, 3, 0), ...set(AJ)],
  // sum_r += K[j][i + 2r, i + 2r + 1] * a[j]
  sums.flatMap((s, r) => [
    ...get(s),
    ...get(P),
    ...simd(LOAD, 3, ...uleb(16 * r)),
    ...get(AJ),
    ...simd(F64X2_MUL),
    ...simd(F64X2_ADD),
    ...set(s)
  ]),
  [...addLocal(P, STRIDE), ...addConst(AP, 8), ...countDown(J)],
  [0x0b],
  sums.flatMap((s, r) => [...get(OUT), ...get(s), ...simd(STORE, 3, ...uleb(16 * r))]),
  [...addConst(OUT, ROWS * 8), ...addConst(ROW, ROWS * 8), ...countDown(BLOCKS)],
  [0x0b, 0x0b, 0x0b] // loop, block, function
].flat()

const MODULE = moduleOf('times', [I32, I32, I32, I32, I32], [], body)

/** Whether this WebAssembly runs the module (for the tests). */
export const kernelTimesInWasm = (): boolean => products.has(kernelMatrix(ROWS))
