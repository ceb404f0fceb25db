// Every input is read within bounds: a gzip bomb stops at the size its IDX header declares, a
// sparse 1 GiB ".png" is refused after its first bytes (both measured in a child process, by
// peak RSS against a small control input); a symlink to / in a dataset folder is not followed;
// the scan has an entry limit; FIFOs never hang a reader; 0 images and non-UTF-8 names get
// their own messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, openSync, closeSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import sharp from 'sharp'
import { readIdx, parseIdx } from '../../../src/main/data/idx'
import { loadDataset } from '../../../src/main/data/load'
import { scanFolder } from '../../../src/main/data/folder'
import { decodeImageFile } from '../../../src/main/export/predict'
import { readSessionLog } from '../../../src/main/session/log'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { writePhotos } from '../../../src/main/cli/bench-folder'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'
import { idxBytes, imagesIdx, labelsIdx } from '../../helpers/idx'
import { startTestStudio } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'

const here = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(here, '../../..')
const CHILD = join(here, 'rss-child.ts')
const MiB = 1 << 20

let tmp: { dir: string; remove: () => void }
beforeAll(() => {
  tmp = tempDir('curator-bounded-')
})
afterAll(() => tmp?.remove())

const png = (side = 28) =>
  sharp({ create: { width: side, height: side, channels: 3, background: '#808080' } })
    .png()
    .toBuffer()

function inChild(
  mode: 'idx' | 'folder' | 'open',
  ...args: string[]
): Promise<{ error: string | null; detail: unknown; maxRssMiB: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  return new Promise((ok, fail) =>
    child.once('close', (code) => (code === 0 ? ok(JSON.parse(out)) : fail(new Error(`child exited ${code}: ${err}`))))
  )
}

/**
 * A gzipped IDX that says 10 images of 28x28 (7,856 bytes) and inflates to `mib` MiB: concatenated
 * gzip members (one valid gzip stream to every reader), so it is cheap to build.
 */
function gzipBomb(file: string, mib: number): void {
  const zeros = gzipSync(Buffer.alloc(MiB), { level: 9 })
  const fd = openSync(file, 'w')
  writeSync(fd, gzipSync(Buffer.concat([Buffer.from(idxBytes([10, 28, 28], [])), Buffer.alloc(MiB)])))
  for (let i = 1; i < mib; i++) writeSync(fd, zeros)
  closeSync(fd)
}

describe('reading within bounds, under a memory ceiling (peak RSS of a child process)', () => {
  it('a gzip bomb (a 1 MB .gz of 768 MiB) stops at the size its header declares', async () => {
    const control = join(tmp.dir, 'control-idx')
    writeFileSync(control, gzipSync(imagesIdx(10, 28, 28).bytes))
    const bomb = join(tmp.dir, 'bomb-idx.gz')
    gzipBomb(bomb, 768)
    const base = await inChild('idx', control)
    expect(base.error).toBeNull()
    const r = await inChild('idx', bomb)
    expect(r.error).toMatch(/inflates to more than the 7856 bytes its header declares/)
    console.log(`[bounded] gzip bomb of 768 MiB: peak RSS ${r.maxRssMiB} MiB (control ${base.maxRssMiB} MiB)`)
    expect(r.maxRssMiB - base.maxRssMiB).toBeLessThan(128)
  })

  it('two sparse 1 GiB ".png" files (one with a PNG signature) are skipped after their first bytes', async () => {
    const control = join(tmp.dir, 'control-folder')
    const sparse = join(tmp.dir, 'sparse-folder')
    for (const d of [control, sparse]) {
      mkdirSync(join(d, 'a'), { recursive: true })
      mkdirSync(join(d, 'b'), { recursive: true })
      for (const c of ['a', 'b']) for (let i = 0; i < 3; i++) writeFileSync(join(d, c, `${i}.png`), await png())
    }
    writeFileSync(join(sparse, 'a', 'zeros.png'), '')
    truncateSync(join(sparse, 'a', 'zeros.png'), 2 ** 30)
    writeFileSync(join(sparse, 'b', 'signed.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    truncateSync(join(sparse, 'b', 'signed.png'), 2 ** 30)
    const base = await inChild('folder', control)
    expect(base.error).toBeNull()
    const r = await inChild('folder', sparse)
    expect(r.error).toBeNull()
    const skipped = r.detail as { path: string; reason: string }[]
    expect(skipped).toEqual([
      { path: 'a/zeros.png', reason: 'not a PNG or JPEG image (its first bytes are neither)' },
      { path: 'b/signed.png', reason: '1073741824 bytes, over the 256 MiB limit for one image' }
    ])
    console.log(`[bounded] two sparse 1 GiB .png files: peak RSS ${r.maxRssMiB} MiB (control ${base.maxRssMiB} MiB)`)
    expect(r.maxRssMiB - base.maxRssMiB).toBeLessThan(128)
  })

  it('a raw IDX whose size disagrees with its header is refused before its data is read', () => {
    const f = join(tmp.dir, 'sparse-idx')
    writeFileSync(f, idxBytes([10, 28, 28], []))
    truncateSync(f, 2 ** 33)
    expectCuratorError(() => readIdx(f), 'BAD_DATA', /bytes past the end of the declared data/)
    const huge = join(tmp.dir, 'huge-idx')
    writeFileSync(huge, idxBytes([100000, 1000, 1000], []))
    expectCuratorError(() => readIdx(huge), 'BAD_DATA', /declares 100000x1000x1000 = \d+ bytes, over the 1024 MiB limit/)
    expectCuratorError(() => parseIdx(gzipSync(idxBytes([100000, 1000, 1000], []))), 'BAD_DATA', /over the 1024 MiB limit/)
  })
})

describe('a folder of photos opened as a session opens it, under a memory ceiling', () => {
  it('peak memory does not grow with the folder: 750 photos of 640x480 take no more than 150 do', async () => {
    // The digit CNN at the images' own size (at most 256 px): each image's input is 256x192x3
    // bytes, so holding the folder's pixels would take 600 x 147 KiB = 86 MiB more for 600 more images.
    const base = join(tmp.dir, 'any-size-base')
    mkdirSync(base)
    for (const f of ['model.json', 'weights.bin', 'metadata.json']) copyFileSync(join(defaultBaseDir(), f), join(base, f))
    writeFileSync(join(base, 'curator-base.json'), JSON.stringify({ input: { fit: 'none' } }))
    const open = async (n: number) => {
      const folder = join(tmp.dir, `photos-${n}`)
      await writePhotos(folder, n)
      return inChild('open', folder, join(tmp.dir, `photo-cache-${n}`), base)
    }
    const small = await open(150)
    const large = await open(750)
    expect(small.error).toBeNull()
    expect(large.error).toBeNull()
    expect(large.detail).toEqual({ images: 750, features: 600, thumbnailsOnDisk: true })
    console.log(`[bounded] opening 750 photos: peak RSS ${large.maxRssMiB} MiB (150 photos: ${small.maxRssMiB} MiB)`)
    expect(large.maxRssMiB - small.maxRssMiB).toBeLessThan(48)
  }, 300_000)
})

describe('dataset folders', () => {
  it('a symlink to / inside the folder is not followed; the scan sees only the folder', async () => {
    const d = join(tmp.dir, 'rootlink')
    mkdirSync(join(d, 'a'), { recursive: true })
    mkdirSync(join(d, 'b'), { recursive: true })
    writeFileSync(join(d, 'a', '1.png'), await png())
    writeFileSync(join(d, 'b', '2.png'), await png())
    symlinkSync('/', join(d, 'everything'))
    symlinkSync('/etc/passwd', join(d, 'a', 'passwd.png'))
    const scan = await scanFolder(d)
    expect(scan.files.map((f) => f.path)).toEqual(['a/1.png', 'b/2.png'])
    expect(scan.skipped).toEqual(
      [
        { path: 'everything', reason: 'a symbolic link out of the dataset folder (not followed)' },
        { path: 'a/passwd.png', reason: 'a symbolic link out of the dataset folder (not followed)' }
      ].sort((x, y) => (x.path < y.path ? 1 : -1))
    )
  })

  it('a folder with more entries than the scan limit is one clear error', async () => {
    const d = join(tmp.dir, 'many')
    mkdirSync(d)
    for (let i = 0; i < 60; i++) writeFileSync(join(d, `${i}.txt`), '')
    await expectCuratorErrorAsync(
      () => scanFolder(d, undefined, 50),
      'BAD_DATA',
      /holds more than 50 files and folders: choose a folder with only the dataset's images/
    )
    expect((await scanFolder(d, undefined, 60)).skipped).toHaveLength(60)
  })

  it('a FIFO named like an image is skipped, and a non-UTF-8 file name has its own reason', async () => {
    const d = join(tmp.dir, 'special')
    mkdirSync(join(d, 'a'), { recursive: true })
    mkdirSync(join(d, 'b'), { recursive: true })
    for (const c of ['a', 'b']) for (let i = 0; i < 5; i++) writeFileSync(join(d, c, `${i}.png`), await png())
    execFileSync('mkfifo', [join(d, 'a', 'pipe.png')])
    writeFileSync(Buffer.from(join(d, 'b', 'latin1-\xe9.png'), 'latin1'), await png())
    const ds = await loadDataset(`folder:${d}`, { cacheDir: null })
    expect(ds.pool.count + (ds.test?.count ?? 0)).toBe(10)
    expect(ds.skipped?.find((s) => s.path === 'a/pipe.png')?.reason).toBe('not a regular file (a FIFO, socket or device)')
    expect(ds.skipped?.find((s) => s.path.startsWith('b/latin1-'))?.reason).toBe('the file name is not valid UTF-8; rename it')
  })
})

describe('FIFOs and empty sets elsewhere', () => {
  it('a FIFO as an IDX file, as a predict image or as session.jsonl is refused at once', async () => {
    const f = join(tmp.dir, 'pipe-idx')
    execFileSync('mkfifo', [f])
    expectCuratorError(() => readIdx(f), 'BAD_DATA', /is a FIFO \(named pipe\), not a regular file/)
    await expectCuratorErrorAsync(() => decodeImageFile(f), 'BAD_DATA', /is a FIFO/)
    const s = join(tmp.dir, 'pipe-session')
    mkdirSync(s)
    execFileSync('mkfifo', [join(s, 'session.jsonl')])
    await expectCuratorErrorAsync(() => readSessionLog(s), 'BAD_DATA', /is not a regular file/)
  })

  it('listSessions skips a session folder whose session.jsonl is a FIFO, and still lists the rest', async () => {
    const ts = await startTestStudio()
    try {
      const real = await ts.studio.newSession({ ...(await import('../../helpers/studio')).testConfig() })
      await ts.studio.close()
      const fake = join(ts.dataDir, 'sessions', 'pipe')
      mkdirSync(fake, { recursive: true })
      execFileSync('mkfifo', [join(fake, 'session.jsonl')])
      const listed = await ts.studio.listSessions()
      expect(listed.map((x) => x.id)).toEqual([real.id])
    } finally {
      await ts.close()
    }
  })

  it('an IDX set of 0 images has its own message', async () => {
    const d = join(tmp.dir, 'zero')
    mkdirSync(d)
    writeFileSync(join(d, 'train-images-idx3-ubyte'), idxBytes([0, 28, 28], []))
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), labelsIdx([]))
    await expectCuratorErrorAsync(() => loadDataset(`idx:${d}`), 'BAD_DATA', /the images file holds 0 images/)
  })
})
