// Small grey images of objects that are not digits, for tests and benchmarks of other bases:
// circles, squares, triangles and crosses of random size, position, rotation and grey levels, on
// a shaded, noisy background. Seeded, rendered by sharp (librsvg) from SVG, one subfolder per class.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { Rng } from '../../src/main/util/rng'

export const SHAPES = ['circle', 'cross', 'square', 'triangle'] as const

function shapeSvg(kind: (typeof SHAPES)[number], size: number, rng: Rng): string {
  const r = size * (0.18 + 0.17 * rng.next())
  const cx = r + 2 + rng.next() * (size - 2 * r - 4)
  const cy = r + 2 + rng.next() * (size - 2 * r - 4)
  const angle = rng.next() * 360
  const bgA = Math.round(40 + rng.next() * 170)
  const bgB = Math.max(0, Math.min(255, bgA + Math.round((rng.next() - 0.5) * 60)))
  // The object is clearly lighter or darker than its background.
  const fill = bgA > 128 ? Math.round(rng.next() * (bgA - 70)) : Math.round(bgA + 70 + rng.next() * (185 - bgA))
  const grey = (v: number) => `rgb(${v},${v},${v})`
  const body =
    kind === 'circle'
      ? `<circle cx="0" cy="0" r="${r}"/>`
      : kind === 'square'
        ? `<rect x="${-r * 0.85}" y="${-r * 0.85}" width="${r * 1.7}" height="${r * 1.7}"/>`
        : kind === 'triangle'
          ? `<polygon points="0,${-r} ${r * 0.95},${r * 0.7} ${-r * 0.95},${r * 0.7}"/>`
          : `<path d="M${-r},${-r * 0.3}H${-r * 0.3}V${-r}H${r * 0.3}V${-r * 0.3}H${r}V${r * 0.3}H${r * 0.3}V${r}H${-r * 0.3}V${r * 0.3}H${-r}Z"/>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${grey(bgA)}"/><stop offset="1" stop-color="${grey(bgB)}"/></linearGradient></defs>
<rect width="${size}" height="${size}" fill="url(#g)"/>
<g transform="translate(${cx} ${cy}) rotate(${angle})" fill="${grey(fill)}">${body}</g></svg>`
}

/** Writes perClass images of every shape (size x size grey PNGs) under root/<shape>/; returns root. */
export async function writeShapeFolder(root: string, perClass: number, size = 64, seed = 1): Promise<string> {
  const rng = new Rng(seed)
  for (const kind of SHAPES) {
    mkdirSync(join(root, kind), { recursive: true })
    for (let k = 0; k < perClass; k++) {
      const raw = await sharp(Buffer.from(shapeSvg(kind, size, rng)))
        .greyscale()
        .raw()
        .toBuffer()
      // Sensor-like noise, so no two images are clean copies.
      for (let p = 0; p < raw.length; p++) raw[p] = Math.max(0, Math.min(255, raw[p] + Math.round((rng.next() - 0.5) * 24)))
      writeFileSync(
        join(root, kind, `${kind}-${String(k).padStart(4, '0')}.png`),
        await sharp(raw, { raw: { width: size, height: size, channels: 1 } })
          .png()
          .toBuffer()
      )
    }
  }
  return root
}
