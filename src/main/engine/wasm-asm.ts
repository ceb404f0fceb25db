// The few pieces of WebAssembly's binary format that Curator's hand-written kernels (the pool's
// logits, the histogram) are assembled from: one function, one imported memory. Written here
// because each kernel is a few dozen instructions, and a toolchain (or a text-format assembler
// from npm) would be a build step and a dependency for that; the bytes are checked by
// WebAssembly.validate before use, and each kernel is tested against its JS twin.

/** What Curator uses of WebAssembly (the Node typings here do not declare it). */
interface Wasm {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBufferLike }
  Module: new (bytes: Uint8Array) => object
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> }
  validate(bytes: Uint8Array): boolean
}
const wasm = (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly
export type Memory = InstanceType<Wasm['Memory']>

/** Unsigned LEB128. */
export const uleb = (n: number): number[] => {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
/** Signed LEB128 (for i32.const). */
export const sleb = (n: number): number[] => {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b]
    out.push(b | 0x80)
  }
}
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]))
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]

export const [I32, F64, V128] = [0x7f, 0x7c, 0x7b]
export const get = (i: number) => [0x20, i]
export const set = (i: number) => [0x21, i]
export const tee = (i: number) => [0x22, i]
export const i32 = (n: number) => [0x41, ...sleb(n)]
/** A SIMD instruction (prefix 0xfd) with its immediates. */
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm]

/** Pages of 64 KiB a memory may have (4 GiB): a shared memory's import must give its maximum. */
const MAX_PAGES = 65536

/**
 * A module of one function `exported` (params and results as value types; body = locals and
 * code) using memory e.m; `shared`: a memory threads share (WebAssembly threads).
 */
export function moduleOf(exported: string, params: number[], results: number[], body: number[], shared = false): Uint8Array {
  const limits = shared ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, 0x01]
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))]])),
    ...section(2, vec([[...name('e'), ...name('m'), 0x02, ...limits]])),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...name(exported), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(body.length), ...body]]))
  ])
}

/** Each module's bytes validated and compiled once (null: not valid here). */
const compiled = new WeakMap<Uint8Array, object | null>()

/**
 * The module's function over a new memory of at least `bytes` (shared between threads where the
 * module was made `shared`); null where WebAssembly, the module's instructions or the memory are
 * not to be had.
 */
export function instantiate<F>(module: Uint8Array, exported: string, bytes: number, shared = false): { memory: Memory; run: F } | null {
  if (!wasm || bytes > 2 ** 32 || !compiledOf(module)) return null
  let memory: Memory
  try {
    const pages = Math.ceil(bytes / 65536)
    memory = new wasm.Memory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages })
  } catch {
    return null
  }
  const run = runOn<F>(module, exported, memory)
  return run && { memory, run }
}

/** The module's function over an existing memory (another thread's shared one); null where the module is not valid here. */
export function runOn<F>(module: Uint8Array, exported: string, memory: Memory): F | null {
  const made = compiledOf(module)
  return made ? (new wasm!.Instance(made, { e: { m: memory } }).exports[exported] as F) : null
}

function compiledOf(module: Uint8Array): object | null {
  if (!wasm) return null
  if (!compiled.has(module)) compiled.set(module, wasm.validate(module) ? new wasm.Module(module) : null)
  return compiled.get(module)!
}
