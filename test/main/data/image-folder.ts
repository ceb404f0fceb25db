// A folder of images written by the tests: MNIST digits as PNG and JPEG files of several sizes,
// grey, RGB and RGBA, in one subfolder per class, plus files that must be skipped.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { imagePixels } from '../../../src/main/data/dataset'
import { loadMnist } from '../../../src/main/data/mnist'

/** The class subfolders, in sorted order (their indices are the class indices). */
export const CLASSES = ['one', 'seven', 'zéro et un']
const DIGIT: Record<string, number> = { one: 1, seven: 7, 'zéro et un': 0 }

/** How the images of each class are written, in turn: size, channels and format. */
export const VARIANTS = [
  { w: 28, h: 28, kind: 'grey-png' },
  { w: 40, h: 32, kind: 'rgb-png' },
  { w: 64, h: 64, kind: 'rgba-png' },
  { w: 28, h: 28, kind: 'grey-jpeg' },
  { w: 64, h: 64, kind: 'rgb-jpeg' },
  { w: 300, h: 200, kind: 'rgb-png' }
] as const

export interface ImageFolder {
  root: string
  /** Readable images per class (the file name with spaces and non-ASCII characters included). */
  perClass: number
  /** Readable images directly in the root (no class). */
  unlabelled: number
  /** The relative paths that must be skipped, with a word of their reason. */
  bad: Record<string, RegExp>
  /** Sizes a readable image can have after decoding (300x200 is downscaled to 256x171). */
  sizes: string[]
}

/** One MNIST digit (white on black) as width x height pixels with the given channels. */
async function digitImage(src: Uint8Array, w: number, h: number, channels: 1 | 3 | 4, tint: number): Promise<Buffer> {
  const grey = await sharp(src, { raw: { width: 28, height: 28, channels: 1 } })
    .resize(w, h, { fit: 'fill' })
    .toColorspace('b-w')
    .raw()
    .toBuffer()
  if (channels === 1) return grey
  const out = Buffer.alloc(w * h * channels)
  for (let p = 0; p < w * h; p++) {
    out[p * channels] = grey[p]
    out[p * channels + 1] = Math.round(grey[p] * (0.5 + 0.5 * tint))
    out[p * channels + 2] = Math.round(grey[p] * (1 - 0.5 * tint))
    // RGBA: the border is transparent (flattened onto white), the middle opaque.
    if (channels === 4) {
      const x = p % w
      const y = Math.floor(p / w)
      out[p * channels + 3] = x < 4 || y < 4 ? 0 : 255
    }
  }
  return out
}

/**
 * Writes the folder under `parent` (named with a space and non-ASCII characters) and returns
 * what the loader must find. perClass images per class, cycling through VARIANTS.
 */
export async function writeImageFolder(parent: string, perClass = 12): Promise<ImageFolder> {
  const root = join(parent, 'my imägës')
  const mnist = loadMnist({ pool: 2000 })
  const byDigit = new Map<number, number[]>()
  for (let i = 0; i < mnist.pool.count; i++) {
    const d = mnist.pool.classes![i]
    if (!byDigit.has(d)) byDigit.set(d, [])
    byDigit.get(d)!.push(i)
  }
  for (const cls of CLASSES) {
    const dir = join(root, cls)
    mkdirSync(dir, { recursive: true })
    const digits = byDigit.get(DIGIT[cls])!
    for (let k = 0; k < perClass; k++) {
      const v = VARIANTS[k % VARIANTS.length]
      const src = imagePixels(mnist.pool, digits[k])
      const channels = v.kind.startsWith('grey') ? 1 : v.kind.startsWith('rgba') ? 4 : 3
      const raw = await digitImage(src, v.w, v.h, channels, k / perClass)
      // Grey images are written as grey files (1 channel), not as RGB with equal channels.
      const img =
        channels === 1
          ? sharp(raw, { raw: { width: v.w, height: v.h, channels } }).toColorspace('b-w')
          : sharp(raw, { raw: { width: v.w, height: v.h, channels } })
      const jpeg = v.kind.endsWith('jpeg')
      // The last image of 'seven' has the awkward name: spaces and non-ASCII characters.
      const name = cls === 'seven' && k === perClass - 1 ? 'ünïcode digit 7' : `${cls}-${String(k).padStart(3, '0')}`
      writeFileSync(join(dir, `${name}.${jpeg ? 'jpg' : 'png'}`), await (jpeg ? img.jpeg({ quality: 95 }) : img.png()).toBuffer())
    }
  }
  // Two images without a class, directly in the root.
  for (let k = 0; k < 2; k++) {
    const src = imagePixels(mnist.pool, byDigit.get(3)![k])
    writeFileSync(
      join(root, `unlabelled ${k}.png`),
      await sharp(src, { raw: { width: 28, height: 28, channels: 1 } })
        .toColorspace('b-w')
        .png()
        .toBuffer()
    )
  }
  // Files to skip.
  const good = await sharp(Buffer.alloc(28 * 28 * 3, 128), { raw: { width: 28, height: 28, channels: 3 } })
    .png()
    .toBuffer()
  writeFileSync(join(root, 'seven', 'corrupt.png'), Buffer.concat([good.subarray(0, 33), Buffer.alloc(300, 0x5a)]))
  writeFileSync(join(root, 'one', 'truncated.png'), good.subarray(0, good.length - 20))
  writeFileSync(join(root, 'notes.txt'), 'not an image\n')
  writeFileSync(join(root, 'one', 'empty.png'), Buffer.alloc(0))
  writeFileSync(join(root, 'zéro et un', 'text.jpg'), 'this is text with a .jpg name\n')
  writeFileSync(
    join(root, 'one', 'tiny.png'),
    await sharp(Buffer.alloc(100, 200), { raw: { width: 10, height: 10, channels: 1 } })
      .png()
      .toBuffer()
  )
  writeFileSync(join(root, '.hidden.png'), good) // hidden: ignored, not listed
  symlinkSync('..', join(root, 'one', 'loop')) // a symlink loop back to the root
  symlinkSync(join(root, 'does-not-exist.png'), join(root, 'broken link.png'))
  return {
    root,
    perClass,
    unlabelled: 2,
    bad: {
      'seven/corrupt.png': /corrupt or unreadable PNG/,
      'one/truncated.png': /corrupt or unreadable PNG/,
      'notes.txt': /not a PNG or JPEG file/,
      'one/empty.png': /empty file/,
      'zéro et un/text.jpg': /not a PNG or JPEG image/,
      'one/tiny.png': /too small: 10x10/,
      'one/loop': /already scanned/,
      'broken link.png': /broken symbolic link/
    },
    sizes: ['28x28', '40x32', '64x64', '256x171']
  }
}
