// Draws a session's TensorBoard files as our own decoder reads them (TensorBoard's .proto
// files, every CRC checked): the scalars and the P(positive) histograms, as a PNG for the README.
// Usage: node --import tsx scripts/tensorboard-figure.mts <tensorboard dir> <out.png>
import { writeFileSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { byTag, decodeFile, DecodedValue, eventFiles } from '../test/main/tensorboard/decode'

const [dir, out] = process.argv.slice(2)
if (!dir || !out) throw new Error('usage: tensorboard-figure.mts <tensorboard dir> <out.png>')
const tags = byTag(eventFiles(dir).flatMap(decodeFile))
const series = (tag: string) =>
  [...(tags.get(tag) ?? new Map<number, DecodedValue>())].map(([step, v]) => [step, v.simple_value as number] as const)

const W = 300
const H = 170
const pad = { l: 38, r: 10, t: 24, b: 26 }
function line(title: string, lines: { tag: string; color: string }[], yMax?: number): string {
  const all = lines.flatMap((l) => series(l.tag))
  const xMax = Math.max(1, ...all.map(([x]) => x))
  const top = yMax ?? Math.max(...all.map(([, y]) => y)) * 1.1
  const x = (v: number) => pad.l + (v / xMax) * (W - pad.l - pad.r)
  const y = (v: number) => H - pad.b - (v / top) * (H - pad.t - pad.b)
  const paths = lines
    .map(
      (l) =>
        `<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${series(l.tag)
          .map(([a, b]) => `${x(a)},${y(b)}`)
          .join(' ')}"/>` +
        `<text x="${W - pad.r}" y="${H - pad.b - 8 - 12 * lines.indexOf(l)}" text-anchor="end" fill="${l.color}">${l.tag}</text>`
    )
    .join('')
  const ticks = [0, 0.5, 1]
    .map((f) => `<text x="${pad.l - 4}" y="${y(top * f) + 4}" text-anchor="end">${(top * f).toFixed(top > 2 ? 0 : 2)}</text>`)
    .join('')
  return `<svg width="${W}" height="${H}"><text x="${pad.l}" y="14" font-weight="600">${title}</text>
    <line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#999"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#999"/>
    ${ticks}<text x="${(W + pad.l) / 2}" y="${H - 6}" text-anchor="middle">step (iteration)</text>${paths}</svg>`
}

// TensorBoard's "offset" histogram view: one ridge per step, later steps lower and darker.
function ridges(tag: string, title: string): string {
  const steps = [...(tags.get(tag) ?? new Map<number, DecodedValue>())]
  const rowH = 14
  const h = pad.t + steps.length * rowH + 60
  const x = (v: number) => pad.l + v * (W - pad.l - pad.r)
  const rows = steps
    .map(([step, v], k) => {
      const hi = v.histo!
      const max = Math.max(...hi.bucket)
      const base = pad.t + 50 + k * rowH
      const pts = hi.bucket.map(
        (c, i) => `${x(((i === 0 ? 0 : hi.bucket_limit[i - 1]) + hi.bucket_limit[i]) / 2)},${base - (c / max) * 48}`
      )
      const shade = Math.round(200 - (150 * k) / Math.max(1, steps.length - 1))
      return (
        `<polygon fill="rgba(255,127,14,0.18)" stroke="rgb(${shade},${Math.round(shade / 2)},20)" points="${x(0)},${base} ${pts.join(' ')} ${x(1)},${base}"/>` +
        (k % 2 === 0 ? `<text x="${pad.l - 4}" y="${base}" text-anchor="end">${step}</text>` : '')
      )
    })
    .join('')
  return `<svg width="${W}" height="${h}"><text x="${pad.l}" y="14" font-weight="600">${title}</text>${rows}
    <text x="${x(0)}" y="${h - 6}">P = 0</text><text x="${x(1)}" y="${h - 6}" text-anchor="end">P = 1</text></svg>`
}

const asked = [...(tags.get('asked') ?? new Map<number, DecodedValue>())]
const lastAsked = [asked.at(-1)![0], asked.at(-1)![1].image!] as const
const html = `<!doctype html><body style="margin:0;font:11px sans-serif;background:#fff;color:#333">
  <div style="display:flex;gap:10px;padding:10px;align-items:flex-start">
    <div>${line(
      'accuracy',
      [
        { tag: 'accuracy/held_out', color: '#2563eb' },
        { tag: 'accuracy/labelled', color: '#7c3aed' }
      ],
      1
    )}
    ${line('loss/labelled', [{ tag: 'loss/labelled', color: '#dc2626' }])}</div>
    <div>${ridges('pool/p_positive', 'pool/p_positive (histogram, by step)')}
      <div style="font-weight:600;margin:6px 0 4px">asked, step ${lastAsked[0]} (image summary)</div>
      <img style="image-rendering:pixelated;width:${lastAsked[1].width * 2}px" src="data:image/png;base64,${Buffer.from(lastAsked[1].encoded_image_string).toString('base64')}"></div>
  </div></body>`
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] })
const page = await browser.newPage({ viewport: { width: 640, height: 400 }, deviceScaleFactor: 1 })
await page.setContent(html)
const body = await page.locator('body > div').boundingBox()
writeFileSync(out, await page.screenshot({ clip: { x: 0, y: 0, width: Math.ceil(body!.width), height: Math.ceil(body!.height) } }))
await browser.close()
console.log(`wrote ${out}: ${[...tags.keys()].join(', ')}`)
