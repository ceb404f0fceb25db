// Model folders built to hurt: weight paths that leave the folder, symlinks out of it, FIFOs,
// devices, sizes that disagree with the manifest, huge shapes, NaN weights. Each must be one
// clear CuratorError (the CLI: one line, exit 2) before anything large is read or allocated,
// and never hang. Every folder is a copy of a real base model with one thing broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { initBackend } from '../../../src/main/engine/backend'
import { readModelFiles } from '../../../src/main/engine/model-io'
import { EXPORT_FORMAT } from '../../../src/main/export/model-folder'
import { loadExportedModel, predictImages } from '../../../src/main/export/predict'
import { PREPROCESSING } from '../../../src/main/engine/pretrain'
import { CuratorError } from '../../../src/shared/errors'
import { testBaseModel } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { cliEnv, runCli } from './cli'

let tmp: { dir: string; remove: () => void }
let base: string
let weightBytes: number
let n = 0
const isRoot = process.getuid?.() === 0

/** A working export-shaped folder (model.json, weights.bin, metadata.json); `edit` breaks it. */
function modelFolder(edit: (dir: string, modelJson: Record<string, any>) => void = () => {}): string {
  const dir = join(tmp.dir, `m${++n}`)
  mkdirSync(dir)
  copyFileSync(join(base, 'weights.bin'), join(dir, 'weights.bin'))
  const mj = JSON.parse(readFileSync(join(base, 'model.json'), 'utf8'))
  writeFileSync(
    join(dir, 'metadata.json'),
    JSON.stringify({ format: EXPORT_FORMAT, task: { labels: ['even', 'odd'] }, input: { preprocessing: PREPROCESSING } })
  )
  edit(dir, mj)
  try {
    writeFileSync(join(dir, 'model.json'), JSON.stringify(mj), { flag: 'wx' })
  } catch {
    // The edit put something else at model.json.
  }
  return dir
}

const paths = (mj: Record<string, any>, p: string[]) => (mj.weightsManifest[0].paths = p)

beforeAll(async () => {
  await initBackend()
  base = await testBaseModel()
  weightBytes = readFileSync(join(base, 'weights.bin')).length
  tmp = tempDir('curator-hostile-model-')
  // An outside file of exactly the weights' size: read, it would load silently as garbage.
  writeFileSync(join(tmp.dir, 'outside.bin'), Buffer.alloc(weightBytes, 0x41))
})
afterAll(() => tmp?.remove())

const HOSTILE: [string, () => string, RegExp][] = [
  ['a weights path ../../../etc/passwd', () => modelFolder((_d, mj) => paths(mj, ['../../../etc/passwd'])), /leaves the folder/],
  ['an absolute weights path /etc/passwd', () => modelFolder((_d, mj) => paths(mj, ['/etc/passwd'])), /absolute path/],
  ['a weights path to a same-size file outside', () => modelFolder((_d, mj) => paths(mj, ['../outside.bin'])), /leaves the folder/],
  [
    'a weights path hidden in a subfolder (sub/../../outside.bin)',
    () => modelFolder((d, mj) => (mkdirSync(join(d, 'sub')), paths(mj, ['sub/../../outside.bin']))),
    /leaves the folder/
  ],
  [
    'weights.bin a symlink to /etc/shadow',
    () => modelFolder((d) => (rmSync(join(d, 'weights.bin')), symlinkSync('/etc/shadow', join(d, 'weights.bin')))),
    /outside the folder/
  ],
  [
    'weights.bin a symlink to a same-size file outside',
    () => modelFolder((d) => (rmSync(join(d, 'weights.bin')), symlinkSync(join(tmp.dir, 'outside.bin'), join(d, 'weights.bin')))),
    /outside the folder/
  ],
  [
    'weights.bin a symlink to /dev/zero',
    () => modelFolder((d) => (rmSync(join(d, 'weights.bin')), symlinkSync('/dev/zero', join(d, 'weights.bin')))),
    /outside the folder/
  ],
  [
    'a symlinked subfolder that leads outside',
    () => modelFolder((d, mj) => (symlinkSync(tmp.dir, join(d, 'up')), paths(mj, ['up/outside.bin']))),
    /outside the folder/
  ],
  [
    'weights.bin a FIFO',
    () => modelFolder((d) => (rmSync(join(d, 'weights.bin')), execFileSync('mkfifo', [join(d, 'weights.bin')]))),
    /FIFO/
  ],
  ['model.json a FIFO', () => modelFolder((d) => execFileSync('mkfifo', [join(d, 'model.json')])), /FIFO/],
  [
    'metadata.json a FIFO',
    () => modelFolder((d) => (rmSync(join(d, 'metadata.json')), execFileSync('mkfifo', [join(d, 'metadata.json')]))),
    /FIFO/
  ],
  [
    'weights.bin a folder',
    () => modelFolder((d) => (rmSync(join(d, 'weights.bin')), mkdirSync(join(d, 'weights.bin')))),
    /a folder, not a regular file/
  ],
  [
    'weights.bin a sparse 8 GiB file',
    () => modelFolder((d) => truncateSync(join(d, 'weights.bin'), 8 * 2 ** 30)),
    /hold 8589934592 bytes; the manifest declares/
  ],
  ['weights.bin one byte short', () => modelFolder((d) => truncateSync(join(d, 'weights.bin'), weightBytes - 1)), /the manifest declares/],
  [
    'a weight shape of 2^20 x 2^20 x 2^20',
    () => modelFolder((_d, mj) => (mj.weightsManifest[0].weights[0].shape = [2 ** 20, 2 ** 20, 2 ** 20])),
    /over 536870912 bytes/
  ],
  [
    'a negative or fractional dimension',
    () => modelFolder((_d, mj) => (mj.weightsManifest[0].weights[0].shape = [-1, 2.5])),
    /whole dimensions/
  ],
  ['an unknown dtype', () => modelFolder((_d, mj) => (mj.weightsManifest[0].weights[0].dtype = 'complex64')), /unknown dtype/],
  [
    'a dense layer of 10^9 units in the topology',
    () => modelFolder((_d, mj) => (JSON.stringify(mj).includes('"units"') ? setUnits(mj.modelTopology, 1e9) : null)),
    /units of 1000000000/
  ],
  [
    'model.json not UTF-8 JSON',
    () => modelFolder((d) => writeFileSync(join(d, 'model.json'), Buffer.from([0xff, 0xfe, 0x7b, 0x00]))),
    /not JSON/
  ],
  [
    'a weightsManifest that is not a list',
    () => modelFolder((_d, mj) => (mj.weightsManifest = { paths: ['weights.bin'] })),
    /no weightsManifest list/
  ]
]

function setUnits(x: any, units: number): void {
  if (Array.isArray(x)) return x.forEach((y) => setUnits(y, units))
  if (x && typeof x === 'object')
    for (const k of Object.keys(x)) {
      if (k === 'units') x[k] = units
      else setUnits(x[k], units)
    }
}

describe('loading a hostile model folder', () => {
  it.each(HOSTILE)('%s is refused with one clear error', async (_what, make, message) => {
    const dir = make()
    const before = process.memoryUsage().rss
    const err = await Promise.race([
      loadExportedModel(dir).then(
        () => null,
        (e: unknown) => e
      ),
      new Promise((ok) => setTimeout(() => ok('hung for 10 s'), 10_000))
    ])
    expect(err).toBeInstanceOf(CuratorError)
    expect((err as CuratorError).code).toMatch(/^(BAD_DATA|NOT_FOUND)$/)
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toContain('\n')
    // Refused before reading or allocating: no large growth of this process.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20)
  })

  it('a device node inside the folder is refused (root only: mknod)', async (ctx) => {
    if (!isRoot) return ctx.skip()
    const dir = modelFolder((d) => (rmSync(join(d, 'weights.bin')), execFileSync('mknod', [join(d, 'weights.bin'), 'c', '1', '5'])))
    await expect(loadExportedModel(dir)).rejects.toThrow(/is a device, not a regular file/)
  })

  it('a symlink that stays inside the folder, and the untouched copy, still load', async () => {
    const dir = modelFolder(
      (d, mj) => (
        mkdirSync(join(d, 'w')),
        copyFileSync(join(d, 'weights.bin'), join(d, 'w', 'real.bin')),
        rmSync(join(d, 'weights.bin')),
        symlinkSync('w/real.bin', join(d, 'weights.bin')),
        paths(mj, ['weights.bin'])
      )
    )
    expect(readModelFiles(dir).weights.length).toBe(weightBytes)
    const m = await loadExportedModel(modelFolder())
    m.model.dispose()
  })

  it('NaN weights of the right size are an error when predicting, never a label', async () => {
    const dir = modelFolder((d) => writeFileSync(join(d, 'weights.bin'), Buffer.from(new Float32Array(weightBytes / 4).fill(NaN).buffer)))
    const m = await loadExportedModel(dir)
    try {
      const img = { name: 'x.png', source: 'x.png', width: 28, height: 28, channels: 1 as const, pixels: new Uint8Array(784) }
      expect(() => predictImages(m, [img])).toThrow(/gives NaN for x\.png, not a probability/)
    } finally {
      m.model.dispose()
    }
  })
})

describe('curator predict with a hostile model folder', () => {
  it('prints one line and exits 2 for a path out of the folder, a FIFO, and NaN weights', async () => {
    const env = cliEnv(base, join(tmp.dir, 'cache'))
    const png = join(tmp.dir, 'digit.png')
    await sharp({ create: { width: 28, height: 28, channels: 3, background: '#000' } })
      .png()
      .toFile(png)
    const cases: [string, RegExp][] = [
      [modelFolder((_d, mj) => paths(mj, ['../../../etc/passwd'])), /leaves the folder/],
      [modelFolder((d) => (rmSync(join(d, 'weights.bin')), execFileSync('mkfifo', [join(d, 'weights.bin')]))), /FIFO/],
      [
        modelFolder((d) => writeFileSync(join(d, 'weights.bin'), Buffer.from(new Float32Array(weightBytes / 4).fill(NaN).buffer))),
        /not a probability/
      ]
    ]
    for (const [dir, message] of cases) {
      const r = await runCli(['predict', '--model', dir, png], env)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stdout).toBe('')
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('curator predict:'))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(message)
    }
  })
})
