// One training step's arithmetic as an ONNX graph, for ONNX Runtime's native kernels: the forward
// pass of a chain of layers, Keras's sparse categorical cross-entropy on a softmax output (or
// TF.js's sigmoid cross-entropy on a one-unit sigmoid output: a head), and every weight's gradient
// written out by hand (ONNX Runtime's npm package has no autodiff). Weights come in and gradients
// go out in TF.js's layouts (HWIO kernels), so a TF.js model trains on it. The input is images or
// a layer's activations (NHWC, or flat); inside, NCHW. Spatial sizes are fixed per graph; the batch
// size is free. No gradient is computed for the input: the layers below it are frozen.
//
// Given ONNX Runtime's NCHWc block size (8 with AVX2, 16 with AVX-512), a chain whose convolutions
// have filters in multiples of it keeps its activations in the blocked layout of ONNX Runtime's own
// optimized kernels (com.microsoft.nchwc: [N, C/B, H, W, B] in memory): the forward convolutions,
// the input gradients (a convolution of the output gradient with the flipped kernel) and max pooling
// run on them, about twice the plain Conv and ConvTranspose kernels. ONNX Runtime picks those
// kernels itself only for constant weights; here the weights are inputs, reordered in the graph.
import { onnx } from 'onnx-proto'
import { Graph, IR_VERSION, ONNX_OPSET } from './convert'

export type TrainLayer =
  | { kind: 'conv'; kernel: [number, number]; filters: number; same: boolean; relu: boolean; bias: boolean }
  | { kind: 'maxpool'; pool: [number, number] }
  | { kind: 'globalmax' }
  | { kind: 'dense'; units: number; activation: 'relu' | 'tanh' | 'linear' | 'softmax' | 'sigmoid'; bias: boolean }

/** Keras clips probabilities to [EPSILON, 1 - EPSILON] in its cross-entropy; no gradient flows where it clipped. */
const EPSILON = 1e-7

/** Graph inputs: the images (NHWC) or activations, the targets (one-hot labels; for a sigmoid output the 0/1 answers, [N, 1]), then w0, w1, ... in the model's trainable-weight order. */
export const IMAGE = 'image'
export const ONEHOT = 'onehot'
/** Graph outputs: g0, g1, ... (gradients of the mean loss, shaped like the weights), the mean loss and the hits. */
export const LOSS = 'loss'
export const CORRECT = 'correct'

/** Operators of ONNX Runtime's blocked-layout kernels (contrib ops of its CPU provider). */
const NCHWC = 'com.microsoft.nchwc'

/** The NCHWc block size probe: ReorderInput pads 4 channels (the least it takes) to a whole block. */
export function blockProbeGraph(): Uint8Array {
  const g = new Graph(new Map())
  g.node('ReorderInput', ['x'], {}, ['y'])
  g.nodes[0].domain = NCHWC
  const float = { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } }
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [
        { domain: '', version: ONNX_OPSET },
        { domain: NCHWC, version: 1 }
      ],
      graph: { name: 'probe', node: g.nodes, input: [{ name: 'x', type: float }], output: [{ name: 'y', type: float }] }
    })
  ).finish()
}

/** Whether the blocked layout takes this chain: images of fewer channels than a block into a convolution, every convolution's filters a multiple of the block. */
function blockedFits(layers: TrainLayer[], inputShape: number[], block: number): boolean {
  if (block <= 1 || inputShape.length !== 3 || inputShape[2] >= block || layers[0].kind !== 'conv') return false
  return layers.every((l) => l.kind !== 'conv' || l.filters % block === 0)
}

/** What one layer needs kept from the forward pass for its gradient. */
interface Step {
  layer: TrainLayer
  x: string
  y: string
  /** Conv and dense: the kernel as the op takes it (conv: OIHW) and the weight inputs' indices. */
  kernel?: string
  weights?: number[]
  inShape: [number, number, number]
  /** Conv: explicit pads [top, left, bottom, right]. */
  pads?: number[]
  /** Max pool: the flat index of each window's maximum. */
  indices?: string
  /** Blocked layout: x is blocked (else it is the NCHW image under the first convolution). */
  blocked?: boolean
}

/**
 * The training graph for inputs of `inputShape` ([height, width, channels], or [width] for flat
 * activations); the last layer must be dense with softmax, or one unit with sigmoid. Softmax may
 * also come before the last layer (a base's classifier under a head).
 */
export function trainGraph(layers: TrainLayer[], inputShape: number[], block = 1): Uint8Array {
  const g = new Graph(new Map())
  const B = blockedFits(layers, inputShape, block) ? block : 0
  const nc = (op: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}) => {
    const out = g.node(op, inputs, attrs)
    g.nodes[g.nodes.length - 1].domain = NCHWC
    return out
  }
  const last = layers.at(-1)
  const sigmoid = last?.kind === 'dense' && last.activation === 'sigmoid' && last.units === 1
  if (last?.kind !== 'dense' || (last.activation !== 'softmax' && !sigmoid))
    throw new Error('the last layer must be dense with softmax, or one unit with sigmoid')
  if (layers.some((l) => l !== last && l.kind === 'dense' && l.activation === 'sigmoid')) throw new Error('sigmoid before the last layer')
  let w = 0
  const weightInput = () => `w${w++}`
  const steps: Step[] = []
  const flatInput = inputShape.length === 1
  let flat = flatInput
  // Blocked from the first convolution's output on (its input, the image, is NCHW).
  let blocked = false
  let x = flat ? IMAGE : g.node('Transpose', [IMAGE], { perm: [0, 3, 1, 2] })
  // C, H, W (rank 2 after global pooling or for flat input: [C, 1, 1]).
  let shape: [number, number, number] = flat ? [inputShape[0], 1, 1] : [inputShape[2], inputShape[0], inputShape[1]]
  const int64 = (hint: string, v: number[]) => g.constant(hint, [v.length], v, 'int64')
  // A blocked tensor ([N, C, H, W] to the blocked kernels) as what its memory holds, [N, C/B, H, W, B], and back.
  const unblock = (v: string, [c, h, wd]: number[]) => g.node('Reshape', [v, int64('blocks', [0, c / B, h, wd, B])])
  const reblock = (v: string, [c, h, wd]: number[]) => g.node('Reshape', [v, int64('nchw', [0, c, h, wd])])

  for (const layer of layers) {
    const step: Step = { layer, x, y: '', inShape: shape }
    const [c, h, wd] = shape
    if (layer.kind === 'conv') {
      if (flat) throw new Error('a convolution after the features were flattened')
      const [kh, kw] = layer.kernel
      step.weights = layer.bias ? [w, w + 1] : [w]
      const kernel = weightInput()
      const bias = layer.bias ? weightInput() : null
      // TF's 'same' puts the odd pixel of padding at the bottom and right.
      const [pt, pl] = layer.same ? [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)] : [0, 0]
      step.pads = layer.same ? [pt, pl, kh - 1 - pt, kw - 1 - pl] : [0, 0, 0, 0]
      if (B) {
        step.blocked = blocked
        step.kernel = kernel
        const o = layer.filters
        // HWIO -> the blocked kernels' filter layout: [O/B, I/B, kh, kw, Bi, Bo], or [O/B, I, kh, kw, Bo] for the NCHW image.
        const reordered = blocked
          ? g.node('Transpose', [g.node('Reshape', [kernel, int64('hwio_blocks', [kh, kw, c / B, B, o / B, B])])], {
              perm: [4, 2, 0, 1, 3, 5]
            })
          : g.node('Transpose', [g.node('Reshape', [kernel, int64('hwio_blocks', [kh, kw, c, o / B, B])])], { perm: [3, 2, 0, 1, 4] })
        const filter = g.node('Reshape', [reordered, int64('oihw', [o, c, kh, kw])])
        const attrs = { kernel_shape: [kh, kw], pads: step.pads, ...(layer.relu ? { activation: 'Relu' } : {}) }
        step.y = nc('Conv', bias ? [x, filter, bias] : [x, filter], attrs)
        blocked = true
      } else {
        step.kernel = g.node('Transpose', [kernel], { perm: [3, 2, 0, 1] }) // HWIO -> OIHW
        const z = g.node('Conv', bias ? [x, step.kernel, bias] : [x, step.kernel], { kernel_shape: [kh, kw], pads: step.pads })
        step.y = layer.relu ? g.node('Relu', [z]) : z
      }
      shape = layer.same ? [layer.filters, h, wd] : [layer.filters, h - kh + 1, wd - kw + 1]
    } else if (layer.kind === 'maxpool') {
      const [ph, pw] = layer.pool
      const [ho, wo] = [Math.floor(h / ph), Math.floor(wd / pw)]
      if (B) step.y = nc('MaxPool', [x], { kernel_shape: [ph, pw], strides: [ph, pw] })
      else {
        // Indices: where each window's maximum is (the first one, as TF.js's gradient takes, when pixels tie).
        step.indices = g.fresh('argmax')
        step.y = g.node('MaxPool', [x], { kernel_shape: [ph, pw], strides: [ph, pw] }, [g.fresh('MaxPool'), step.indices])
      }
      shape = [c, ho, wo]
    } else if (layer.kind === 'globalmax') {
      if (B) {
        // [N, C/B, 1, 1, B]: one pixel per channel, so its memory is in plain channel order.
        step.x = unblock(x, shape)
        step.y = g.node('ReduceMax', [step.x], { axes: [2, 3], keepdims: 1 })
        blocked = false
      } else step.y = g.node('ReduceMax', [x], { axes: [2, 3], keepdims: 1 }) // [N, C, 1, 1]
      steps.push(step)
      x = g.node('Flatten', [step.y], { axis: 1 })
      flat = true
      shape = [c, 1, 1]
      continue
    } else {
      if (!flat) throw new Error('a dense layer on unflattened features')
      step.weights = layer.bias ? [w, w + 1] : [w]
      const kernel = weightInput()
      const bias = layer.bias ? weightInput() : null
      step.kernel = kernel
      const z = g.node('Gemm', bias ? [x, kernel, bias] : [x, kernel])
      const hidden = layer !== last
      const activation = { relu: 'Relu', tanh: 'Tanh', softmax: hidden ? 'Softmax' : null, linear: null, sigmoid: null }[layer.activation]
      step.y = activation ? g.node(activation, [z], activation === 'Softmax' ? { axis: 1 } : {}) : z
      shape = [layer.units, 1, 1]
    }
    steps.push(step)
    x = step.y
  }
  const weightCount = w

  const logits = x
  const n = g.node('Cast', [g.node('Gather', [g.node('Shape', [IMAGE]), int64('zero', [0])], { axis: 0 })], {
    to: onnx.TensorProto.DataType.FLOAT
  })
  const meanOf = (sum: string) => g.node('Div', [sum, g.node('Reshape', [n, int64('scalar', [])])])
  let d: string // d loss / d logits
  if (sigmoid) {
    // TF.js's sigmoidCrossEntropy: mean of max(z, 0) - z y + log(1 + exp(-|z|)); its gradient (sigmoid(z) - y) / N.
    const z = logits
    const perRow = g.node('Add', [
      g.node('Sub', [g.node('Relu', [z]), g.node('Mul', [z, ONEHOT])]),
      g.node('Log', [g.node('Add', [g.constant('one_l', [], [1]), g.node('Exp', [g.node('Neg', [g.node('Abs', [z])])])])])
    ])
    g.node('Identity', [meanOf(g.node('ReduceSum', [perRow], { keepdims: 0 }))], {}, [LOSS])
    const hits = g.node('Equal', [
      g.node('GreaterOrEqual', [z, g.constant('zero_l', [], [0])]),
      g.node('Greater', [ONEHOT, g.constant('half', [], [0.5])])
    ])
    g.node('ReduceSum', [g.node('Cast', [hits], { to: onnx.TensorProto.DataType.FLOAT })], { keepdims: 0 }, [CORRECT])
    d = g.node('Div', [g.node('Sub', [g.node('Sigmoid', [z]), ONEHOT]), n])
  } else {
    // -mean log(clip(p[label])), and the gradient of the logits (p - onehot) / N where p[label] was not clipped.
    const p = g.node('Softmax', [logits], { axis: 1 })
    const picked = g.node('ReduceSum', [g.node('Mul', [p, ONEHOT]), int64('axis1', [1])], { keepdims: 1 }) // [N, 1]
    const eps = g.constant('eps', [], [EPSILON])
    const oneMinusEps = g.constant('one_minus_eps', [], [1 - EPSILON])
    const logP = g.node('Log', [g.node('Clip', [picked, eps, oneMinusEps])])
    g.node('Identity', [meanOf(g.node('Neg', [g.node('ReduceSum', [logP], { keepdims: 0 })]))], {}, [LOSS])
    const hits = g.node('Equal', [g.node('ArgMax', [logits], { axis: 1 }), g.node('ArgMax', [ONEHOT], { axis: 1 })])
    g.node('ReduceSum', [g.node('Cast', [hits], { to: onnx.TensorProto.DataType.FLOAT })], { keepdims: 0 }, [CORRECT])
    const unclipped = g.node('Cast', [g.node('And', [g.node('Greater', [picked, eps]), g.node('Less', [picked, oneMinusEps])])], {
      to: onnx.TensorProto.DataType.FLOAT
    })
    d = g.node('Div', [g.node('Mul', [g.node('Sub', [p, ONEHOT]), unclipped]), n])
  }

  // Made when first used: ONNX Runtime warns on stderr about an initializer no node reads.
  let zeroF: string | undefined
  // Through a ReLU: dy where y > 0 (in ONNX Runtime's profile faster than Sign(y) or Where).
  const reluSlope = (y: string, dy: string) =>
    g.node('Mul', [dy, g.node('Cast', [g.node('Greater', [y, (zeroF ??= g.constant('zero_f', [], [0]))])], { to: 1 })])
  const grads: string[] = new Array(weightCount)
  for (let k = steps.length - 1; k >= 0; k--) {
    const s = steps[k]
    const first = k === 0
    const { layer } = s
    if (layer.kind === 'dense') {
      // d is the gradient of the layer's output; through the activation first (the last layer's is already in d).
      let dz = d
      if (layer.activation === 'tanh') dz = g.node('Mul', [d, g.node('Sub', [g.constant('one', [], [1]), g.node('Mul', [s.y, s.y])])])
      if (layer.activation === 'relu') dz = reluSlope(s.y, d)
      // Through a softmax under the last layer: y (d - sum(d y)), row by row.
      if (layer.activation === 'softmax' && layer !== last)
        dz = g.node('Mul', [s.y, g.node('Sub', [d, g.node('ReduceSum', [g.node('Mul', [d, s.y]), int64('axis1', [1])], { keepdims: 1 })])])
      grads[s.weights![0]] = g.node('Gemm', [s.x, dz], { transA: 1 })
      if (layer.bias) grads[s.weights![1]] = g.node('ReduceSum', [dz, int64('axis0', [0])], { keepdims: 0 })
      if (!first) d = g.node('Gemm', [dz, s.kernel!], { transB: 1 })
    } else if (first && layer.kind !== 'conv') {
      // Pooling at the bottom: nothing below it to pass a gradient to.
    } else if (layer.kind === 'globalmax') {
      // To every position that held the maximum, as TF.js's Max gradient does.
      const mask = g.node('Cast', [g.node('Equal', [s.x, s.y])], { to: 1 })
      if (B) {
        const [c, h, wd] = s.inShape
        d = reblock(g.node('Mul', [mask, g.node('Reshape', [d, int64('blocks', [0, c / B, 1, 1, B])])]), [c, h, wd])
      } else d = g.node('Mul', [mask, g.node('Unsqueeze', [d, int64('axes23', [2, 3])])])
    } else if (layer.kind === 'maxpool' && B) {
      // Each window's gradient to its first maximum (row by row, as TF.js): a pixel holding its window's
      // maximum scores its place's priority (the first place highest), and the window's best score wins.
      // Only whole-tensor ops: element-wise ones broadcasting across the blocked axes are slow.
      const [c, h, wd] = s.inShape
      const [ph, pw] = layer.pool
      const [ho, wo] = [Math.floor(h / ph), Math.floor(wd / pw)]
      const pool = { kernel_shape: [ph, pw], strides: [ph, pw] }
      // Back to the input's size: each window's value on its pixels, and `pad` on pixels no window covers.
      const spread = (v: string, pad: number) => {
        const up = nc('Upsample', [v], { scales: [1, 1, ph, pw] })
        if (ho * ph === h && wo * pw === wd) return up
        const padded = g.node('Pad', [
          unblock(up, [c, ho * ph, wo * pw]),
          int64('pads', [0, 0, 0, 0, 0, 0, 0, h - ho * ph, wd - wo * pw, 0]),
          g.constant('pad', [], [pad])
        ])
        return reblock(padded, s.inShape)
      }
      // The priorities in the blocked layout ([1, C/B, H, W, B]), 0 where no window covers.
      const priority = new Float32Array(c * h * wd)
      for (let k = 0, cb = 0; cb < c / B; cb++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < wd; x++, k += B) if (y < ho * ph && x < wo * pw) priority.fill(ph * pw - ((y % ph) * pw + (x % pw)), k, k + B)
      const score = g.node('Mul', [
        g.node('Cast', [g.node('Equal', [s.x, spread(s.y, 0)])], { to: 1 }),
        g.constant('priority', [1, c, h, wd], priority)
      ])
      const firstMax = g.node('Cast', [g.node('Equal', [score, spread(nc('MaxPool', [score], pool), -1)])], { to: 1 })
      d = g.node('Mul', [firstMax, spread(d, 0)])
    } else if (layer.kind === 'maxpool') {
      // Each window's gradient to its maximum's pixel; windows do not overlap, so no index repeats.
      const everyPixel = int64('every_pixel', [-1])
      const zeros = g.node('ConstantOfShape', [g.node('Shape', [g.node('Reshape', [s.x, everyPixel])])])
      const scattered = g.node(
        'ScatterElements',
        [zeros, g.node('Reshape', [s.indices!, everyPixel]), g.node('Reshape', [d, everyPixel])],
        {
          axis: 0
        }
      )
      d = g.node('Reshape', [scattered, g.node('Shape', [s.x])])
    } else {
      const [kh, kw] = layer.kernel
      const dz = layer.relu ? reluSlope(s.y, d) : d
      const [pt, pl, pb, pr] = s.pads!
      const [ho, wo] = [s.inShape[1] + pt + pb - kh + 1, s.inShape[2] + pl + pr - kw + 1]
      const ci = s.inShape[0]
      const co = layer.filters
      // dW[o,i,a,b] = sum over n, y, x of x[n,i,y+a,x+b] dz[n,o,y,x]: one product per kernel tap, the
      // output gradient's rows [O, N Ho Wo] against the shifted input (as one convolution with a
      // Ho x Wo kernel it ran 1.7x slower in ONNX Runtime).
      let dzRows: string
      let shifted: (a: number, b: number) => string
      // Blocked, under a convolution: x to NHWC, where a tap's rows are [N Ho Wo, I]; else x channel
      // first, [I, N Ho Wo], taken transposed by the product.
      const nhwc = B > 0 && s.blocked
      if (B) {
        // Out of the blocked layout with ONNX Runtime's reorders (a Transpose moving the block's axis is slow).
        dzRows = g.node('Reshape', [
          g.node('Transpose', [nc('ReorderOutput', [dz], { channels: co })], { perm: [1, 0, 2, 3] }),
          int64('rows', [co, -1])
        ])
        if (layer.bias) grads[s.weights![1]] = g.node('ReduceSum', [dzRows, int64('axis1', [1])], { keepdims: 0 })
      } else {
        if (layer.bias) grads[s.weights![1]] = g.node('ReduceSum', [dz, int64('axes023', [0, 2, 3])], { keepdims: 0 })
        dzRows = g.node('Reshape', [g.node('Transpose', [dz], { perm: [1, 0, 2, 3] }), int64('rows', [co, -1])]) // [O, N Ho Wo]
      }
      if (nhwc) {
        const x = nc('ReorderOutput', [s.x], { channels: ci, channels_last: 1 })
        const padded = pt + pl + pb + pr ? g.node('Pad', [x, int64('pads', [0, pt, pl, 0, 0, pb, pr, 0])]) : x
        shifted = (a, b) =>
          g.node('Reshape', [
            g.node('Slice', [padded, int64('start', [a, b]), int64('end', [a + ho, b + wo]), int64('axes', [1, 2])]),
            int64('rows', [-1, ci])
          ])
      } else {
        const byChannel = g.node('Transpose', [s.x], { perm: [1, 0, 2, 3] }) // [I, N, H, W]
        const padded = pt + pl + pb + pr ? g.node('Pad', [byChannel, int64('pads', [0, 0, pt, pl, 0, 0, pb, pr])]) : byChannel
        shifted = (a, b) =>
          g.node('Reshape', [
            g.node('Slice', [padded, int64('start', [a, b]), int64('end', [a + ho, b + wo]), int64('axes', [2, 3])]),
            int64('rows', [ci, -1])
          ])
      }
      const taps: string[] = []
      for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) taps.push(shifted(a, b))
      if (B && !nhwc) {
        // The image's few channels: all taps' rows at once, [kh kw I, N Ho Wo], against the gradient's rows: HWIO.
        grads[s.weights![0]] = g.node('Reshape', [
          g.node('Gemm', [g.node('Concat', taps, { axis: 0 }), dzRows], { transB: 1 }),
          int64('hwio', [kh, kw, ci, co])
        ])
      } else {
        const products = taps.map((t) => g.node('Gemm', [dzRows, t], nhwc ? {} : { transB: 1 })) // [O, I]
        const dw = g.node('Reshape', [g.node('Concat', products, { axis: 1 }), int64('oabi', [co, kh, kw, ci])])
        grads[s.weights![0]] = g.node('Transpose', [dw], { perm: [1, 2, 3, 0] }) // [O, H, W, I] -> HWIO
      }
      if (first) continue
      if (B) {
        // The input gradient as a blocked convolution: the output gradient, padded to a full correlation,
        // with the kernel flipped and its channels swapped (HWIO [a, b, i, o] -> flipped [I/B, O/B, kh, kw, Bo, Bi]).
        const flipped = g.node('Slice', [
          s.kernel!,
          int64('start', [kh - 1, kw - 1]),
          int64('end', [-kh - 1, -kw - 1]),
          int64('axes', [0, 1]),
          int64('steps', [-1, -1])
        ])
        const reordered = g.node('Transpose', [g.node('Reshape', [flipped, int64('hwio_blocks', [kh, kw, ci / B, B, co / B, B])])], {
          perm: [2, 4, 0, 1, 5, 3]
        })
        const filter = g.node('Reshape', [reordered, int64('oihw', [ci, co, kh, kw])])
        d = nc('Conv', [dz, filter], { kernel_shape: [kh, kw], pads: [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr] })
      } else d = g.node('ConvTranspose', [dz, s.kernel!], { kernel_shape: [kh, kw], pads: s.pads! })
    }
  }
  grads.forEach((gr, k) => g.node('Identity', [gr], {}, [`g${k}`]))

  const float = (dims: (number | string)[]) => ({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) }
    }
  })
  const classes = last.units
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }, ...(B ? [{ domain: NCHWC, version: 1 }] : [])],
    producerName: 'Curator',
    graph: {
      name: 'train_step',
      node: g.nodes,
      initializer: g.inits,
      input: [
        { name: IMAGE, type: float(['batch', ...(flatInput ? [inputShape[0]] : inputShape)]) },
        { name: ONEHOT, type: float(['batch', classes]) },
        ...Array.from({ length: weightCount }, (_, k) => ({
          name: `w${k}`,
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } }
        }))
      ],
      output: [
        ...Array.from({ length: weightCount }, (_, k) => ({
          name: `g${k}`,
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } }
        })),
        { name: LOSS, type: float([]) },
        { name: CORRECT, type: float([]) }
      ]
    }
  })
  return onnx.ModelProto.encode(model).finish()
}
