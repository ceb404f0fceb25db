// Which engine computes the frozen features. On WebAssembly, ONNX Runtime's native CPU kernels
// (onnxruntime-node, the base exported to ONNX by onnx/convert.ts) run the convolutions about
// twice as fast as TF.js's 128-bit wasm SIMD, with the same results to ~1e-6. With native
// TensorFlow (tfjs-node) TF.js itself is native, so it stays. Features are cached and recorded
// per featurizer, so a session always replays on the features it was recorded with.
import { createRequire } from 'node:module'
import type * as Ort from 'onnxruntime-node'
import { blockProbeGraph } from '../onnx/train-graph'

export type FeaturizerName = 'tfjs' | 'onnxruntime'

let ortLoads: boolean | undefined

/** onnxruntime-node, required on first use: its native binding loads only where it runs. */
export function requireOrt(): typeof Ort {
  return nodeRequire()('onnxruntime-node') as typeof Ort
}

/**
 * An ONNX Runtime session on the calling thread alone (one intra-op thread): our threads are one
 * per core already, and a run stays synchronous on its thread (see threads.ts on ending one).
 */
export function ortSession(model: Uint8Array): Promise<Ort.InferenceSession> {
  return requireOrt().InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  })
}

let block: Promise<number> | undefined

/** ONNX Runtime's NCHWc block size on this CPU (8 with AVX2, 16 with AVX-512), or 1 where it has no blocked kernels. */
export function nchwcBlockSize(): Promise<number> {
  block ??= (async () => {
    try {
      const ort = requireOrt()
      const probe = await ortSession(blockProbeGraph())
      const { y } = await probe.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) })
      await probe.release()
      return y.dims[1]
    } catch {
      return 1
    }
  })()
  return block
}

/** Whether onnxruntime-node's native binding loads in this process. */
export function onnxRuntimeLoads(): boolean {
  if (ortLoads === undefined) {
    try {
      requireOrt()
      ortLoads = true
    } catch {
      ortLoads = false
    }
  }
  return ortLoads
}

/** CURATOR_FEATURIZER when set; else ONNX Runtime unless TF.js runs natively or ORT does not load. */
export function defaultFeaturizer(backend: string): FeaturizerName {
  const asked = process.env.CURATOR_FEATURIZER
  if (asked === 'tfjs' || asked === 'onnxruntime') return asked
  return backend !== 'tensorflow' && onnxRuntimeLoads() ? 'onnxruntime' : 'tfjs'
}

/** The feature cache's split key: TF.js's features keep the plain layer name (caches made before stay valid). */
export function featureSplitKey(layer: string, featurizer: FeaturizerName): string {
  return featurizer === 'tfjs' ? layer : `${layer}.ort`
}

function nodeRequire(): (id: string) => unknown {
  return typeof module !== 'undefined' && typeof module.require === 'function'
    ? module.require.bind(module)
    : createRequire(import.meta.url)
}
