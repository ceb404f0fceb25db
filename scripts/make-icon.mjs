// Draws Curator's app icon and writes every file the installers and the window use:
//   build/icon.svg            the drawing, full frame (Windows, Linux)
//   build/icon-mac.svg        the drawing on the macOS icon grid
//   build/icon.png            1024 px, full frame (electron-builder's fallback icon)
//   build/icons/NxN.png       the Linux icon set (AppImage, deb)
//   build/icon.ico            Windows (nsis installer and the .exe)
//   build/icon.icns           macOS (dmg and the .app)
//   resources/icon.png        512 px, the window icon on Linux at run time
// Run: node scripts/make-icon.mjs   (needs sharp, a dependency of the app)
//
// The mark: a rounded blue square holding a 2x2 grid of image tiles; one tile is picked
// out in the app's orange with a tick, the one image the model asks about next.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BLUE_TOP = '#2f7fd6'
const BLUE_BOTTOM = '#1b4f93'
const ORANGE = '#dd4e24' // --positive in the renderer
const TILE = '#ffffff'
const TILE_MARK = '#bcd4ef'

/** A tile with a small landscape (hill and sun): "an image". */
function imageTile(x, y, s) {
  const r = s * 0.16
  const hill = `M ${x + s * 0.14} ${y + s * 0.8} L ${x + s * 0.4} ${y + s * 0.46} L ${x + s * 0.58} ${y + s * 0.66} L ${x + s * 0.7} ${y + s * 0.54} L ${x + s * 0.86} ${y + s * 0.8} Z`
  return [
    `<rect x="${x}" y="${y}" width="${s}" height="${s}" rx="${r}" fill="${TILE}" fill-opacity="0.95"/>`,
    `<circle cx="${x + s * 0.7}" cy="${y + s * 0.3}" r="${s * 0.09}" fill="${TILE_MARK}"/>`,
    `<path d="${hill}" fill="${TILE_MARK}" stroke="${TILE_MARK}" stroke-width="${s * 0.04}" stroke-linejoin="round"/>`
  ].join('\n    ')
}

/** The highlighted tile: orange with a white tick. */
function pickedTile(x, y, s) {
  const r = s * 0.16
  const tick = `M ${x + s * 0.27} ${y + s * 0.53} L ${x + s * 0.44} ${y + s * 0.7} L ${x + s * 0.75} ${y + s * 0.34}`
  return [
    `<rect x="${x}" y="${y}" width="${s}" height="${s}" rx="${r}" fill="${ORANGE}"/>`,
    `<path d="${tick}" fill="none" stroke="#ffffff" stroke-width="${s * 0.11}" stroke-linecap="round" stroke-linejoin="round"/>`
  ].join('\n    ')
}

/**
 * The icon as SVG, 1024 px. `frame: 'mac'` follows the macOS icon grid (an 824 px body with
 * room for the system's shadow); `frame: 'full'` nearly fills the canvas, as Windows and
 * Linux icons do, which keeps the small sizes legible.
 */
export function iconSvg(frame = 'mac') {
  const body = frame === 'mac' ? 824 : 960
  const inset = (1024 - body) / 2
  const k = body / 824
  const tile = Math.round(268 * k)
  const gap = Math.round(56 * k)
  const grid = tile * 2 + gap
  const g0 = (1024 - grid) / 2
  const at = (i) => g0 + i * (tile + gap)
  const radius = Math.round(186 * k)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024" viewBox="0 0 1024 1024">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="${BLUE_TOP}"/>
      <stop offset="1" stop-color="${BLUE_BOTTOM}"/>
    </linearGradient>
  </defs>
  <rect x="${inset}" y="${inset}" width="${body}" height="${body}" rx="${radius}" fill="url(#bg)"/>
  <g>
    ${imageTile(at(0), at(0), tile)}
    ${pickedTile(at(1), at(0), tile)}
    ${imageTile(at(0), at(1), tile)}
    ${imageTile(at(1), at(1), tile)}
  </g>
</svg>
`
}

// The SVG is 1024 px at sharp's default 72 dpi; smaller sizes are downsampled from that.
const png = (svg, size) => sharp(Buffer.from(svg)).resize(size, size).png({ compressionLevel: 9 }).toBuffer()

/** A Windows .ico: 32-bit BMP entries below 256 px (every reader takes those), PNG at 256. */
async function ico(svg, sizes) {
  const images = []
  for (const s of sizes) {
    if (s >= 256) {
      images.push({ size: s, data: await png(svg, s) })
      continue
    }
    const { data } = await sharp(Buffer.from(svg)).resize(s, s).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    const header = Buffer.alloc(40)
    header.writeUInt32LE(40, 0) // BITMAPINFOHEADER
    header.writeInt32LE(s, 4)
    header.writeInt32LE(s * 2, 8) // color rows + mask rows
    header.writeUInt16LE(1, 12)
    header.writeUInt16LE(32, 14)
    header.writeUInt32LE(0, 16) // BI_RGB
    const pixels = Buffer.alloc(s * s * 4)
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const src = ((s - 1 - y) * s + x) * 4 // bottom-up
        const dst = (y * s + x) * 4
        pixels[dst] = data[src + 2]
        pixels[dst + 1] = data[src + 1]
        pixels[dst + 2] = data[src]
        pixels[dst + 3] = data[src + 3]
      }
    }
    const maskRow = Math.ceil(s / 32) * 4
    const mask = Buffer.alloc(maskRow * s) // all zero: alpha decides
    header.writeUInt32LE(pixels.length + mask.length, 20)
    images.push({ size: s, data: Buffer.concat([header, pixels, mask]) })
  }
  const dir = Buffer.alloc(6)
  dir.writeUInt16LE(0, 0)
  dir.writeUInt16LE(1, 2) // icon
  dir.writeUInt16LE(images.length, 4)
  const entries = []
  let offset = 6 + 16 * images.length
  for (const im of images) {
    const e = Buffer.alloc(16)
    e.writeUInt8(im.size >= 256 ? 0 : im.size, 0)
    e.writeUInt8(im.size >= 256 ? 0 : im.size, 1)
    e.writeUInt8(0, 2)
    e.writeUInt8(0, 3)
    e.writeUInt16LE(1, 4)
    e.writeUInt16LE(32, 6)
    e.writeUInt32LE(im.data.length, 8)
    e.writeUInt32LE(offset, 12)
    offset += im.data.length
    entries.push(e)
  }
  return Buffer.concat([dir, ...entries, ...images.map((i) => i.data)])
}

/** A macOS .icns of PNG entries (what iconutil writes). */
async function icns(svg) {
  const types = [
    ['icp4', 16],
    ['icp5', 32],
    ['icp6', 64],
    ['ic07', 128],
    ['ic08', 256],
    ['ic09', 512],
    ['ic10', 1024],
    ['ic11', 32],
    ['ic12', 64],
    ['ic13', 256],
    ['ic14', 512]
  ]
  const chunks = []
  for (const [type, size] of types) {
    const data = await png(svg, size)
    const head = Buffer.alloc(8)
    head.write(type, 0, 'latin1')
    head.writeUInt32BE(8 + data.length, 4)
    chunks.push(head, data)
  }
  const body = Buffer.concat(chunks)
  const head = Buffer.alloc(8)
  head.write('icns', 0, 'latin1')
  head.writeUInt32BE(8 + body.length, 4)
  return Buffer.concat([head, body])
}

async function main() {
  const mac = iconSvg('mac')
  const full = iconSvg('full')
  const out = (rel, data) => {
    const file = join(root, rel)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, data)
    console.log(`wrote ${rel} (${data.length} bytes)`)
  }
  out('build/icon.svg', full)
  out('build/icon-mac.svg', mac)
  out('build/icon.png', await png(full, 1024))
  out('resources/icon.png', await png(full, 512))
  for (const s of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) out(`build/icons/${s}x${s}.png`, await png(full, s))
  out('build/icon.ico', await ico(full, [16, 24, 32, 48, 64, 128, 256]))
  out('build/icon.icns', await icns(mac))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
