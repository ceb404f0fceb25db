// Digits of any size: the same MNIST digits written as a folder of 28-px PNGs, one of 112-px
// PNGs, one of mixed sizes (28, 42, 56, 84, 112 px in turn) and one of wider canvases (the digit
// at 40 px in a 60x40 image), each simulated for 40 labels (odd vs even) with the shipped base;
// prints the held-out accuracy of each and the gaps to the 28-px folder.
// Run: npm run build && node --import tsx scripts/bench-sizes.mts [--images 2000] [--budget 40] [--seeds 1,2,3]
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import sharp from 'sharp'
import { imagePixels } from '../src/main/data/dataset'
import { loadMnist } from '../src/main/data/mnist'

const { values } = parseArgs({ options: { images: { type: 'string' }, budget: { type: 'string' }, seeds: { type: 'string' } } })
const images = Number(values.images ?? 2000)
const budget = Number(values.budget ?? 40)
const seeds = (values.seeds ?? '1,2,3').split(',').map(Number)

/** How image k is written: a square side, or a wider canvas with the digit unstretched in it. */
const layouts = {
  '28px': () => ({ w: 28, h: 28, digit: 28 }),
  '112px': () => ({ w: 112, h: 112, digit: 112 }),
  mixed: (k: number) => {
    const side = [28, 42, 56, 84, 112][k % 5]
    return { w: side, h: side, digit: side }
  },
  'wide canvas': () => ({ w: 60, h: 40, digit: 40 })
}

const root = mkdtempSync(join(tmpdir(), 'curator-sizes-'))
const mnist = loadMnist({ test: images })
const set = mnist.test!
const results: Record<string, { seed: number; testAccuracy: number | null }[]> = {}
try {
  for (const [name, layout] of Object.entries(layouts)) {
    const dir = join(root, name)
    for (let i = 0; i < set.count; i++) {
      const { w, h, digit } = layout(i)
      const cls = join(dir, String(set.classes![i]))
      mkdirSync(cls, { recursive: true })
      const img = sharp(imagePixels(set, i), { raw: { width: 28, height: 28, channels: 1 } }).resize(digit, digit)
      const canvas =
        w === digit && h === digit
          ? img
          : sharp(await img.raw().toBuffer(), { raw: { width: digit, height: digit, channels: 1 } }).extend({
              left: (w - digit) / 2,
              right: (w - digit) / 2,
              top: (h - digit) / 2,
              bottom: (h - digit) / 2,
              background: '#000'
            })
      writeFileSync(join(cls, `${String(i).padStart(5, '0')}.png`), await canvas.toColorspace('b-w').png().toBuffer())
    }
    results[name] = []
    for (const seed of seeds) {
      const out = execFileSync(
        process.execPath,
        [
          'bin/curator.js',
          'simulate',
          '--dataset',
          `folder:${dir}`,
          '--positive',
          '1,3,5,7,9',
          '--budget',
          String(budget),
          '--seed',
          String(seed),
          '--json'
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, CURATOR_CACHE_DIR: join(root, 'cache') },
          stdio: ['ignore', 'pipe', 'ignore']
        }
      )
      const summary = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((l) => l.summary)!.summary
      results[name].push({ seed, testAccuracy: summary.finalTestAccuracy })
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
const mean = (r: { testAccuracy: number | null }[]) => r.reduce((s, x) => s + (x.testAccuracy ?? NaN), 0) / r.length
const ref = mean(results['28px'])
const rows = Object.fromEntries(
  Object.entries(results).map(([k, r]) => [
    k,
    { perSeed: r.map((x) => x.testAccuracy), mean: mean(r), gapPoints: Math.round((mean(r) - ref) * 1000) / 10 }
  ])
)
console.log(JSON.stringify({ images, budget, seeds, folders: rows }, null, 2))
