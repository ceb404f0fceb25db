// A small GIF reader for the tests: walks the block structure (so frames are counted by
// their image descriptors, not by guessing at 0x2C bytes) and LZW-decodes frames.

export interface GifFrame {
  /** Delay in centiseconds from the frame's graphic control extension. */
  delay: number
  width: number
  height: number
  /** Palette indices, width * height. */
  indices: Uint8Array
  localPalette: Uint8Array | null
}

export interface Gif {
  signature: string
  width: number
  height: number
  globalPalette: Uint8Array | null
  /** Loop count from the NETSCAPE2.0 extension (0 = forever), null when absent. */
  loop: number | null
  frames: GifFrame[]
}

export function readGif(bytes: Uint8Array): Gif {
  let o = 0
  const u8 = () => bytes[o++]
  const u16 = () => {
    const v = bytes[o] | (bytes[o + 1] << 8)
    o += 2
    return v
  }
  const subBlocks = (): Uint8Array => {
    const parts: number[] = []
    for (let n = u8(); n !== 0; n = u8()) {
      for (let i = 0; i < n; i++) parts.push(bytes[o + i])
      o += n
    }
    return Uint8Array.from(parts)
  }
  const signature = String.fromCharCode(...bytes.subarray(0, 6))
  o = 6
  const width = u16()
  const height = u16()
  const packed = u8()
  o += 2 // background color index, aspect ratio
  let globalPalette: Uint8Array | null = null
  if (packed & 0x80) {
    const n = 3 * (1 << ((packed & 7) + 1))
    globalPalette = bytes.slice(o, o + n)
    o += n
  }
  const frames: GifFrame[] = []
  let loop: number | null = null
  let delay = 0
  for (;;) {
    if (o >= bytes.length) throw new Error('GIF ends without a trailer')
    const block = u8()
    if (block === 0x3b) break
    if (block === 0x21) {
      const label = u8()
      const data = subBlocks()
      if (label === 0xf9) delay = data[1] | (data[2] << 8)
      if (label === 0xff && String.fromCharCode(...data.subarray(0, 11)) === 'NETSCAPE2.0') loop = data[12] | (data[13] << 8)
      continue
    }
    if (block !== 0x2c) throw new Error(`unexpected block 0x${block.toString(16)} at byte ${o - 1}`)
    o += 4 // left, top
    const w = u16()
    const h = u16()
    const p = u8()
    let localPalette: Uint8Array | null = null
    if (p & 0x80) {
      const n = 3 * (1 << ((p & 7) + 1))
      localPalette = bytes.slice(o, o + n)
      o += n
    }
    const minCodeSize = u8()
    frames.push({ delay, width: w, height: h, indices: lzwDecode(subBlocks(), minCodeSize, w * h), localPalette })
    delay = 0
  }
  return { signature, width, height, globalPalette, loop, frames }
}

function lzwDecode(data: Uint8Array, minCodeSize: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels)
  const clear = 1 << minCodeSize
  const end = clear + 1
  let size = minCodeSize + 1
  let dict: number[][] = []
  const reset = () => {
    dict = Array.from({ length: clear + 2 }, (_, i) => (i < clear ? [i] : []))
    size = minCodeSize + 1
  }
  reset()
  let prev: number[] | null = null
  let n = 0
  let bit = 0
  const total = data.length * 8
  while (bit + size <= total) {
    let code = 0
    for (let i = 0; i < size; i++, bit++) if (data[bit >> 3] & (1 << (bit & 7))) code |= 1 << i
    if (code === clear) {
      reset()
      prev = null
      continue
    }
    if (code === end) break
    let entry: number[]
    if (code < dict.length) entry = dict[code]
    else if (code === dict.length && prev) entry = [...prev, prev[0]]
    else throw new Error(`bad LZW code ${code}`)
    for (const v of entry) if (n < pixels) out[n++] = v
    if (prev && dict.length < 4096) dict.push([...prev, entry[0]])
    if (dict.length === 1 << size && size < 12) size++
    prev = entry
  }
  if (n !== pixels) throw new Error(`LZW data gave ${n} pixels, expected ${pixels}`)
  return out
}
