// Chooses the fastest TF.js backend that loads here and patches the one gap of the wasm backend.
import * as tf from '@tensorflow/tfjs'
import { createRequire } from 'node:module'
import { dirname, sep } from 'node:path'
import util from 'node:util'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'

let chosen: Promise<BackendName> | undefined
let notice: string | null = null

/** Loads tfjs-node if installed, else wasm, else plain CPU. Idempotent. */
export function initBackend(prefer?: BackendName): Promise<BackendName> {
  chosen ??= pick(prefer ?? (process.env.CURATOR_BACKEND as BackendName | undefined))
  return chosen
}

/**
 * Why this thread is not on native TensorFlow, e.g. "tfjs-node not installed; using
 * WebAssembly", for the UI and the CLI to show. Null until a backend is chosen, when
 * tfjs-node loaded, and when a backend was asked for by name (CURATOR_BACKEND).
 * Per thread: the engine worker's notice is the one the app runs on.
 */
export function backendNotice(): string | null {
  return notice
}

async function pick(prefer?: BackendName): Promise<BackendName> {
  const order: BackendName[] = prefer ? [prefer] : ['tensorflow', 'wasm', 'cpu']
  const failures: string[] = []
  let nativeFailure: unknown = null
  let wasmFailure: string | null = null
  for (const name of order) {
    try {
      if (name === 'tensorflow') loadTfjsNode()
      if (name === 'wasm') {
        const wasm = await import('@tensorflow/tfjs-backend-wasm')
        // The binaries by path, not by the bundle's own location: in a packaged app they sit
        // outside the asar (asarUnpack), where a file path is always readable.
        wasm.setWasmPaths(wasmBinaryDir())
        registerWasmConv2DGradient()
      }
      if (await tf.setBackend(name)) {
        await tf.ready()
        if (name !== 'tensorflow' && nativeFailure !== null) notice = fallbackNotice(nativeFailure, name)
        // Never a silent drop to plain JavaScript: say why WebAssembly did not load.
        if (name === 'cpu' && wasmFailure !== null) notice = wasmFailedNotice(notice, wasmFailure)
        return name
      }
      failures.push(`${name}: setBackend refused`)
      if (name === 'tensorflow') nativeFailure = new Error('tfjs-node loaded but TF.js refused its backend')
      if (name === 'wasm') wasmFailure = 'TF.js refused its backend'
    } catch (err) {
      const message = (err as Error).message.split('\n')[0]
      failures.push(`${name}: ${message}`)
      if (name === 'tensorflow') nativeFailure = err
      if (name === 'wasm') wasmFailure = message
    }
  }
  throw new Error(`No TF.js backend could be loaded (${failures.join('; ')})`)
}

const TFJS_NODE = '@tensorflow/tfjs-node'

/** The notice for falling back from tfjs-node (which failed with `err`) to `used`. */
export function fallbackNotice(err: unknown, used: BackendName): string {
  const using = used === 'wasm' ? 'using WebAssembly' : used === 'cpu' ? 'using plain JavaScript (slow)' : `using ${used}`
  const e = err as { code?: unknown; message?: unknown } | null
  const message = String(e?.message ?? err).split('\n')[0]
  // Only the package itself missing counts as "not installed"; a missing dependency of it is a broken install.
  if (e?.code === 'MODULE_NOT_FOUND' && message.includes(`'${TFJS_NODE}'`)) return `tfjs-node not installed; ${using}`
  return `tfjs-node failed to load (${message}); ${using}`
}

/** The notice when WebAssembly failed (`reason`) and plain JavaScript runs: after tfjs-node's, if any. */
export function wasmFailedNotice(prior: string | null, reason: string): string {
  return `${prior ?? 'using plain JavaScript (slow)'}: WebAssembly failed to load (${reason})`
}

/**
 * tfjs-node 4.22 still calls util.isNullOrUndefined, which Node >= 23 (and so the Node in
 * current Electron) removed. Puts it back on the shared `util` object; idempotent.
 */
export function shimNodeUtil(u: object = util): void {
  const target = u as Record<string, unknown>
  if (typeof target.isNullOrUndefined !== 'function') target.isNullOrUndefined = (v: unknown) => v === null || v === undefined
}

/** Requires tfjs-node with the shim already in place. `load` is the require to use (tests pass their own). */
export function loadTfjsNode(load: (id: string) => unknown = nodeRequire()): void {
  shimNodeUtil()
  load(TFJS_NODE)
}

/** `dir` with a packaged app's app.asar replaced by app.asar.unpacked, where asarUnpack puts native and wasm files. */
export function unpackedPath(dir: string): string {
  return dir.replace(/([\\/])app\.asar(?=[\\/]|$)/, '$1app.asar.unpacked')
}

/** The folder holding the wasm backend's binaries (with a trailing separator, as setWasmPaths wants). */
export function wasmBinaryDir(resolve: (id: string) => string = createRequire(import.meta.url).resolve): string {
  return unpackedPath(dirname(resolve('@tensorflow/tfjs-backend-wasm'))) + sep
}

function nodeRequire(): (id: string) => unknown {
  // A plain require keeps bundlers from resolving the optional native package.
  return typeof module !== 'undefined' && typeof module.require === 'function'
    ? module.require.bind(module)
    : createRequire(import.meta.url)
}

/**
 * The wasm backend has no Conv2DBackpropFilter kernel, so training a CNN on it fails.
 * The filter gradient of a stride-1 convolution is itself a convolution: treat the input's
 * channels as the batch and the output gradient as the filter.
 *   dW[kh,kw,ci,co] = sum_{n,i,j} x[n, i+kh, j+kw, ci] * dy[n,i,j,co]
 */
export function conv2dFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], pad: 'valid' | 'same' | number): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape
    let xp = x
    if (pad !== 'valid') {
      const [top, left] = pad === 'same' ? [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)] : [pad, pad]
      const [bottom, right] = pad === 'same' ? [kh - 1 - top, kw - 1 - left] : [pad, pad]
      xp = tf.pad(x, [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0]
      ])
    }
    const input = tf.transpose(xp, [3, 1, 2, 0]) // [Cin, H, W, N]
    const filter = tf.transpose(dy, [1, 2, 0, 3]) // [Ho, Wo, N, Cout]
    const out = tf.conv2d(input, filter, 1, 'valid') // [Cin, kh, kw, Cout]
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D
  })
}

/**
 * wasm's own Conv2DBackpropInput is a naive loop (about 4x slower than the whole forward pass).
 * The input gradient of a stride-1 convolution is a forward convolution of the padded output
 * gradient with the filter rotated by 180 degrees and its in/out channels swapped, which runs
 * on the fast (XNNPACK) Conv2D kernel.
 */
export function conv2dInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, pad: 'valid' | 'same' | number): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape
    const [top, left] = pad === 'valid' ? [0, 0] : pad === 'same' ? [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)] : [pad, pad]
    const [bottom, right] = pad === 'valid' ? [0, 0] : pad === 'same' ? [kh - 1 - top, kw - 1 - left] : [pad, pad]
    const padded = tf.pad(dy, [
      [0, 0],
      [kh - 1 - top, kh - 1 - bottom],
      [kw - 1 - left, kw - 1 - right],
      [0, 0]
    ])
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2])
    return tf.conv2d(padded, flipped as tf.Tensor4D, 1, 'valid')
  })
}

let gradientRegistered = false
function registerWasmConv2DGradient(): void {
  if (gradientRegistered) return
  gradientRegistered = true
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D]
      const { strides, pad, dataFormat, dilations } = attrs as unknown as {
        strides: [number, number] | number
        pad: 'valid' | 'same' | number
        dataFormat: 'NHWC' | 'NCHW'
        dilations: number | number[]
      }
      const ones = (v: number | number[]) => (Array.isArray(v) ? v.every((s) => s === 1) : v === 1)
      if (!ones(strides) || !ones(dilations) || dataFormat !== 'NHWC') {
        throw new Error('Curator on wasm trains only stride-1, undilated NHWC convolutions')
      }
      return {
        x: () => conv2dInputGradient(dy as tf.Tensor4D, filter, pad),
        filter: () => conv2dFilterGradient(x, dy as tf.Tensor4D, filter.shape, pad)
      }
    }
  })
}

export function backendName(): string {
  return tf.getBackend()
}
