// Folder datasets: a generated folder of PNG/JPEG images (several sizes, grey/RGB/RGBA, bad
// files, a symlink loop, awkward names) through the loader, the caches and the whole
// simulate loop with a small base.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { loadDataset } from '../../../src/main/data/load'
import { decodeFolderFile, folderCachePath, loadFolderDataset, scanFolder } from '../../../src/main/data/folder'
import { Dataset, imagePixels, ImageSet, uniformImageSet } from '../../../src/main/data/dataset'
import { decodeImage, fitSize, sniffImage, THUMB_SIDE } from '../../../src/main/data/decode'
import { parseSpecOptions } from '../../../src/main/data/spec'
import { stratifiedSplit } from '../../../src/main/data/split'
import { initBackend } from '../../../src/main/engine/backend'
import { disposePrepared, prepare } from '../../../src/main/engine/setup'
import { featurizeAll } from '../../../src/main/engine/features'
import { readModelFiles } from '../../../src/main/engine/model-io'
import { simulate } from '../../../src/main/engine/simulate'
import type { IterationRecord } from '../../../src/main/engine/loop'
import { DEFAULT_CONFIG, SessionConfig } from '../../../src/shared/contract'
import { configFor, resolvePositive, simulateCommand, taskFor } from '../../../src/main/cli/simulate'
import { expectCuratorError, expectCuratorErrorAsync } from '../../helpers/errors'
import { testBaseModel } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { CLASSES, ImageFolder, writeImageFolder } from './image-folder'

const tmp = tempDir('curator-folder-')
let f: ImageFolder
const spec = () => `folder:${f.root}`

beforeAll(async () => {
  f = await writeImageFolder(tmp.dir)
})
afterAll(() => tmp.remove())

const names = (s: ImageSet | null) => s?.names ?? []
const sizeOf = (s: ImageSet, i: number) => `${s.widths[i]}x${s.heights[i]}`
const indexOf = (ds: Dataset, name: string): [ImageSet, number] => {
  for (const s of [ds.pool, ds.test]) {
    const i = names(s).indexOf(name)
    if (s && i >= 0) return [s, i]
  }
  throw new Error(`no image ${name}`)
}

describe('scanning and decoding a folder', () => {
  it('finds the classes (sorted subfolder names), every readable image and nothing else', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null })
    expect(ds.classNames).toEqual(CLASSES)
    const all = [...names(ds.pool), ...names(ds.test)]
    expect(all).toHaveLength(CLASSES.length * f.perClass + f.unlabelled)
    expect(new Set(all).size).toBe(all.length)
    // The awkward names work, in folder and file names.
    expect(all).toContain('seven/ünïcode digit 7.png')
    expect(all.filter((n) => n.startsWith('zéro et un/'))).toHaveLength(f.perClass)
    // Class per image: the first-level subfolder; images in the root have none (-1), in the pool.
    for (const s of [ds.pool, ds.test!]) {
      for (let i = 0; i < s.count; i++) {
        const folder = s.names![i].includes('/') ? s.names![i].split('/')[0] : null
        expect(s.classes![i]).toBe(folder === null ? -1 : CLASSES.indexOf(folder))
      }
    }
    expect(names(ds.pool).filter((n) => n.startsWith('unlabelled'))).toHaveLength(2)
    expect(names(ds.test).filter((n) => !n.includes('/'))).toHaveLength(0)
  })

  it('skips and lists corrupt, empty, too small and non-image files, broken links and the symlink loop', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null })
    const skipped = ds.skipped!
    expect(skipped.map((s) => s.path).sort()).toEqual(Object.keys(f.bad).sort())
    for (const s of skipped) expect(s.reason, s.path).toMatch(f.bad[s.path])
    // Hidden files are ignored, not listed.
    expect(skipped.some((s) => s.path.includes('.hidden'))).toBe(false)
  })

  it('decodes grey, RGB and RGBA PNG and JPEG into 1 or 3 channels and downscales the large ones', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null })
    expect(ds.maxSide).toBe(256)
    expect(ds.folder!.decode).toEqual({ maxSide: 256, resize: null })
    // The set holds thumbnails: the images at their own size, at most THUMB_SIDE a side.
    const seen = new Set<string>()
    for (const s of [ds.pool, ds.test!]) for (let i = 0; i < s.count; i++) seen.add(sizeOf(s, i))
    expect([...seen].sort()).toEqual(['28x28', '40x32', '64x64', `${THUMB_SIDE}x85`].sort())
    // The model's input is decoded apart, at most maxSide a side.
    const inputs = new Set<string>()
    for (const key of ds.pool.names!) {
      const d = await decodeFolderFile(join(f.root, key), ds.folder!.decode, { input: true })
      if (d.ok) inputs.add(`${d.input!.width}x${d.input!.height}`)
    }
    expect([...inputs].sort()).toEqual([...f.sizes].sort())
    // 28x28 grey PNG and grey JPEG: 1 channel. RGB PNG: 3 channels.
    const [g, gi] = indexOf(ds, 'one/one-000.png')
    expect([sizeOf(g, gi), g.channels[gi]]).toEqual(['28x28', 1])
    const [j, ji] = indexOf(ds, 'one/one-003.jpg')
    expect([sizeOf(j, ji), j.channels[ji]]).toEqual(['28x28', 1])
    const [c, ci] = indexOf(ds, 'one/one-001.png')
    expect([sizeOf(c, ci), c.channels[ci]]).toEqual(['40x32', 3])
    // RGBA: 3 channels, the transparent border flattened onto white.
    const [a, ai] = indexOf(ds, 'one/one-002.png')
    expect([sizeOf(a, ai), a.channels[ai]]).toEqual(['64x64', 3])
    expect(Array.from(imagePixels(a, ai).subarray(0, 3))).toEqual([255, 255, 255])
    // The middle is the digit as written (MNIST: white strokes on black), not white everywhere.
    expect(Math.min(...imagePixels(a, ai).subarray(3 * (32 * 64 + 4), 3 * (32 * 64 + 10)))).toBeLessThan(100)
    // 300x200 -> a 128x85 thumbnail, aspect kept; the awkward name is one of them.
    const [b, bi] = indexOf(ds, 'seven/ünïcode digit 7.png')
    expect([sizeOf(b, bi), b.channels[bi]]).toEqual(['128x85', 3])
    // The grey pixels are MNIST's own digit, byte for byte.
    const file = join(f.root, 'one/one-000.png')
    expect((await sharp(file).metadata()).channels).toBe(1)
    const src = await sharp(file).toColorspace('b-w').raw().toBuffer()
    expect(src.length).toBe(28 * 28)
    expect(Buffer.from(imagePixels(g, gi)).equals(src)).toBe(true)
  })

  it('honours maxSide from the limits and from the spec, and records it in the id', async () => {
    const small = await loadDataset(spec(), { cacheDir: null, maxSide: 48 })
    expect(small.maxSide).toBe(48)
    expect(small.id).toBe(`folder:${f.root}?maxSide=48&testFraction=0.2&splitSeed=1`)
    // maxSide shapes the model's input (the thumbnails stay as they are).
    const input = async (key: string) => {
      const d = await decodeFolderFile(join(f.root, key), small.folder!.decode, { input: true })
      return d.ok ? `${d.input!.width}x${d.input!.height}` : d.reason
    }
    expect(small.folder!.decode.maxSide).toBe(48)
    expect(await input('seven/ünïcode digit 7.png')).toBe('48x32')
    expect(await input('one/one-002.png')).toBe('48x48')
    expect(await input('one/one-001.png')).toBe('40x32')
    expect(small.hash).not.toBe((await loadDataset(spec(), { cacheDir: null })).hash)
    const viaSpec = await loadDataset(`${spec()}?maxSide=48`, { cacheDir: null, maxSide: 100 })
    expect(viaSpec.hash).toBe(small.hash)
    // At maxSide 24 the 40x32 and 300x200 images would be 24x19 and 24x16: below 20x20, skipped and listed.
    const tiny = await loadDataset(`${spec()}?maxSide=24`, { cacheDir: null })
    const narrow = tiny.skipped!.filter((s) => /too narrow/.test(s.reason))
    expect(narrow.map((s) => s.reason.replace(/^too narrow: (\S+) would be (\S+) .*/, '$1 -> $2')).sort()).toEqual([
      ...Array(6).fill('300x200 -> 24x16'),
      ...Array(6).fill('40x32 -> 24x19')
    ])
  })

  it('the id is a spec that loads the same data again', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null, seed: 4 })
    expect(ds.id).toBe(`folder:${f.root}?maxSide=256&testFraction=0.2&splitSeed=4`)
    expect((await loadDataset(ds.id, { cacheDir: null, seed: 99 })).hash).toBe(ds.hash)
  })
})

describe('the held-out split', () => {
  it('holds out a seeded, stratified ~20% of each class; unlabelled images stay in the pool', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null, seed: 1 })
    expect(ds.split).toEqual({ testFraction: 0.2, seed: 1 })
    const perClass = (s: ImageSet) => CLASSES.map((_, c) => [...s.classes!].filter((x) => x === c).length)
    const held = Math.round(f.perClass * 0.2)
    expect(perClass(ds.test!)).toEqual(CLASSES.map(() => held))
    expect(perClass(ds.pool)).toEqual(CLASSES.map(() => f.perClass - held))
    expect(ds.pool.count + ds.test!.count).toBe(CLASSES.length * f.perClass + f.unlabelled)
  })

  it('is the same for the same seed and another for another seed', async () => {
    const a = await loadDataset(spec(), { cacheDir: null, seed: 1 })
    const b = await loadDataset(spec(), { cacheDir: null, seed: 1 })
    const c = await loadDataset(spec(), { cacheDir: null, seed: 2 })
    expect(names(b.test)).toEqual(names(a.test))
    expect(b.hash).toBe(a.hash)
    expect(names(c.test)).not.toEqual(names(a.test))
    expect(c.hash).not.toBe(a.hash)
    // Both splits are rows of one set: the features cache is keyed by it, whatever the seed.
    expect(c.source!.hash).toBe(a.source!.hash)
    expect(a.source!.count).toBe(a.pool.count + a.test!.count)
  })

  it('stratifiedSplit: rounds per class, keeps one image of every class in the pool, ignores -1', () => {
    const classes = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, -1, -1, 3, 3])
    const { pool, test } = stratifiedSplit(classes, 0.2, 7)
    const count = (idx: Int32Array, c: number) => [...idx].filter((i) => classes[i] === c).length
    expect([0, 1, 2, 3].map((c) => count(test, c))).toEqual([2, 1, 0, 0])
    expect([...test].every((i) => classes[i] >= 0)).toBe(true)
    expect([...pool, ...test].sort((x, y) => x - y)).toEqual(Array.from(classes, (_, i) => i))
    expect([...pool]).toEqual([...pool].sort((x, y) => x - y))
    expect(stratifiedSplit(classes, 0.2, 7)).toEqual({ pool, test })
  })

  it('stratifiedSplit with file names: adding or removing files moves at most one other file between the splits', () => {
    const names = Array.from({ length: 200 }, (_, i) => `c${i % 2}/img-${i}.png`)
    const classesOf = (list: string[]) => Int32Array.from(list, (n) => Number(n[1]))
    const testSet = (list: string[], seed: number) =>
      new Set([...stratifiedSplit(classesOf(list), 0.2, seed, list).test].map((i) => list[i]))
    const before = testSet(names, 3)
    expect(before.size).toBe(40)
    const changed = [...names.filter((_, i) => i !== 10 && i !== 11), 'c0/new a.png', 'c1/new b.png', 'c1/new c.png'].sort()
    const after = testSet(changed, 3)
    const moved = [...before].filter((n) => names.indexOf(n) !== 10 && names.indexOf(n) !== 11 && !after.has(n))
    const movedIn = [...after].filter((n) => !n.includes('new') && !before.has(n))
    expect(moved.length + movedIn.length).toBeLessThanOrEqual(2)
    expect(testSet(names, 4)).not.toEqual(before)
  })

  it('testFraction=0 gives no test split, and says so in the id', async () => {
    const ds = await loadDataset(`${spec()}?testFraction=0`, { cacheDir: null })
    expect(ds.test).toBeNull()
    expect(ds.pool.count).toBe(CLASSES.length * f.perClass + f.unlabelled)
    expect(ds.id).toBe(`folder:${f.root}?maxSide=256&testFraction=0`)
  })

  it('applies pool and test limits after the split', async () => {
    const ds = await loadDataset(spec(), { cacheDir: null, pool: 5, test: 3 })
    expect(ds.pool.count).toBe(5)
    expect(ds.test!.count).toBe(3)
    expect(ds.source).toBeUndefined()
    const full = await loadDataset(spec(), { cacheDir: null })
    expect(names(ds.pool)).toEqual(names(full.pool).slice(0, 5))
    expect(names(ds.test)).toEqual(names(full.test).slice(0, 3))
  })
})

describe('hash and cache', () => {
  it('the hash is stable across loads and the cache, and follows pixels and classes', async () => {
    const dir = join(tmp.dir, 'hash-copy')
    cpSync(f.root, dir, { recursive: true, verbatimSymlinks: true })
    const cache = join(tmp.dir, 'hash-cache')
    const cold = await loadDataset(`folder:${dir}`, { cacheDir: null })
    const cachedFirst = await loadDataset(`folder:${dir}`, { cacheDir: cache })
    const cachedAgain = await loadDataset(`folder:${dir}`, { cacheDir: cache })
    expect(cachedFirst.hash).toBe(cold.hash)
    expect(cachedAgain.hash).toBe(cold.hash)
    // (libvips' wording of a decoding error can vary between runs: compare the files.)
    expect(cachedAgain.skipped!.map((x) => x.path)).toEqual(cold.skipped!.map((x) => x.path))
    expect(cachedAgain.pool.names).toEqual(cold.pool.names)
    // Thumbnails in memory (no cache) and read from the cache's file: the same bytes.
    expect(cold.pool.file).toBeUndefined()
    expect(cachedAgain.pool.file).toMatch(/\.thumbs$/)
    for (let i = 0; i < cold.pool.count; i++)
      expect(Buffer.from(imagePixels(cachedAgain.pool, i)).equals(Buffer.from(imagePixels(cold.pool, i)))).toBe(true)
    // Other pixels: another hash.
    const file = join(dir, 'one/one-000.png')
    writeFileSync(
      file,
      await sharp(Buffer.alloc(28 * 28, 77), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toBuffer()
    )
    const repainted = await loadDataset(`folder:${dir}`, { cacheDir: cache })
    expect(repainted.hash).not.toBe(cold.hash)
    // Other classes for the same pixels (a folder renamed past another): another hash.
    renameSync(join(dir, 'one'), join(dir, 'uno'))
    const renamed = await loadDataset(`folder:${dir}`, { cacheDir: cache })
    expect(renamed.classNames).toEqual(['seven', 'uno', 'zéro et un'])
    expect(renamed.hash).not.toBe(repainted.hash)
  })

  it('a second open reads the decoded folder from the cache: no decoding, same data, fast', async () => {
    const dir = join(tmp.dir, 'cache-copy')
    cpSync(f.root, dir, { recursive: true, verbatimSymlinks: true })
    const cache = join(tmp.dir, 'cache-cache')
    const progress: number[] = []
    const first = await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress.length).toBeGreaterThan(0)
    const entries = readdirSync(join(cache, 'datasets')).sort()
    expect(entries).toHaveLength(2)
    expect(entries[0]).toMatch(/^[0-9a-f]{32}\.index$/)
    expect(entries[1]).toBe(entries[0].replace(/index$/, 'thumbs'))
    progress.length = 0
    const t0 = performance.now()
    const second = await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(progress).toEqual([]) // nothing decoded
    expect(second.hash).toBe(first.hash)
    expect(second.skipped).toEqual(first.skipped) // read back from the cache, word for word

    // A changed file (mtime) misses the cache and is decoded again.
    utimesSync(join(dir, 'seven/seven-000.png'), new Date(), new Date(Date.now() - 86400_000))
    await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress.length).toBeGreaterThan(0)
    expect(readdirSync(join(cache, 'datasets'))).toHaveLength(4)

    // A damaged entry is ignored and rewritten.
    const scan = await scanFolder(dir)
    const path = folderCachePath(cache, scan, 256)
    expect(existsSync(path)).toBe(true)
    truncateSync(path, 100)
    progress.length = 0
    const repaired = await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress.length).toBeGreaterThan(0)
    expect(repaired.hash).toBe((await loadDataset(`folder:${dir}`, { cacheDir: null })).hash)
    progress.length = 0
    await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress).toEqual([])
    // So are thumbnails cut short.
    truncateSync(path.replace(/index$/, 'thumbs'), 100)
    await loadDataset(`folder:${dir}`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress.length).toBeGreaterThan(0)
    progress.length = 0
    // maxSide is part of the key.
    await loadDataset(`folder:${dir}?maxSide=64`, { cacheDir: cache, onProgress: (p) => progress.push(p.done) })
    expect(progress.length).toBeGreaterThan(0)
  })
})

describe('progress and cancelling', () => {
  it('reports task "scan" with done/total, rate and ETA, ending at total', async () => {
    const seen: { task: string; done: number; total: number; rate: number; etaSeconds: number | null }[] = []
    await loadFolderDataset(f.root, { cacheDir: null, onProgress: (p) => seen.push(p) })
    const images = CLASSES.length * f.perClass + f.unlabelled
    // Files with an image extension: the readable ones, and corrupt/truncated/empty/text.jpg/tiny.
    const total = images + 5
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((p) => p.task === 'scan' && p.total === total)).toBe(true)
    expect(seen.at(-1)!.done).toBe(total)
    expect(seen.at(-1)!.rate).toBeGreaterThan(0)
    expect(seen.at(-1)!.etaSeconds).toBe(0)
    expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((a, b) => a - b))
  })

  it('shouldStop cancels with CANCELLED, during the scan and during decoding', async () => {
    await expectCuratorErrorAsync(() => loadDataset(spec(), { cacheDir: null, shouldStop: () => true }), 'CANCELLED', /cancelled/)
    let calls = 0
    await expectCuratorErrorAsync(() => loadDataset(spec(), { cacheDir: null, shouldStop: () => ++calls > 10 }), 'CANCELLED', /cancelled/)
  })
})

describe('bad folders', () => {
  const dir = (name: string) => {
    const d = join(tmp.dir, 'bad', name)
    mkdirSync(d, { recursive: true })
    return d
  }
  const png = (w = 28, h = 28) =>
    sharp(Buffer.alloc(w * h, 90), { raw: { width: w, height: h, channels: 1 } })
      .png()
      .toBuffer()

  it('a missing folder is NOT_FOUND, a file is BAD_ARGUMENT', async () => {
    await expectCuratorErrorAsync(
      () => loadDataset(`folder:${join(tmp.dir, 'nope')}`),
      'NOT_FOUND',
      /^folder:.*nope: there is no such folder; folder:PATH takes a folder of PNG\/JPEG images$/
    )
    const file = join(dir('file'), 'a.png')
    writeFileSync(file, await png())
    await expectCuratorErrorAsync(() => loadDataset(`folder:${file}`), 'BAD_ARGUMENT', /is not a folder/)
  })

  it('an empty folder (hidden files only) is BAD_DATA', async () => {
    const d = dir('empty')
    writeFileSync(join(d, '.DS_Store'), 'x')
    mkdirSync(join(d, 'cats'))
    await expectCuratorErrorAsync(
      () => loadDataset(`folder:${d}`, { cacheDir: null }),
      'BAD_DATA',
      /is empty: put PNG or JPEG images in it/
    )
  })

  it('a folder without image files is BAD_DATA and names what it found', async () => {
    const d = dir('text-only')
    writeFileSync(join(d, 'readme.txt'), 'x')
    writeFileSync(join(d, 'data.csv'), 'x')
    await expectCuratorErrorAsync(
      () => loadDataset(`folder:${d}`, { cacheDir: null }),
      'BAD_DATA',
      /No PNG or JPEG images in .*2 other files skipped \(data\.csv: not a PNG or JPEG file \(\.csv\)/
    )
  })

  it('zero readable images is BAD_DATA with the reasons', async () => {
    const d = dir('unreadable')
    mkdirSync(join(d, 'a'))
    mkdirSync(join(d, 'b'))
    writeFileSync(join(d, 'a', 'x.png'), Buffer.from('not a png'))
    writeFileSync(join(d, 'b', 'y.jpg'), Buffer.alloc(0))
    writeFileSync(join(d, 'b', 'z.png'), await png(12, 40))
    await expectCuratorErrorAsync(
      () => loadDataset(`folder:${d}`, { cacheDir: null }),
      'BAD_DATA',
      /None of the 3 image files .* could be read \(a\/x\.png: not a PNG or JPEG image.*b\/y\.jpg: empty file.*b\/z\.png: too small: 12x40/
    )
  })

  it('one class only is BAD_DATA, also with unlabelled images beside it', async () => {
    const d = dir('single')
    mkdirSync(join(d, 'cats'))
    for (let i = 0; i < 3; i++) writeFileSync(join(d, 'cats', `${i}.png`), await png())
    // A second subfolder with nothing readable is not a class.
    mkdirSync(join(d, 'dogs'))
    writeFileSync(join(d, 'dogs', 'bad.png'), 'x')
    await expectCuratorErrorAsync(
      () => loadDataset(`folder:${d}`, { cacheDir: null }),
      'BAD_DATA',
      /one subfolder \("cats"\): ground truth needs at least two classes/
    )
    writeFileSync(join(d, 'loose.png'), await png())
    await expectCuratorErrorAsync(() => loadDataset(`folder:${d}`, { cacheDir: null }), 'BAD_DATA', /one subfolder \("cats"\)/)
  })

  it('images only in the root: no ground truth, no classes, no test split', async () => {
    const d = dir('flat')
    for (let i = 0; i < 4; i++) writeFileSync(join(d, `img ${i}.png`), await png(30 + i, 30))
    const ds = await loadDataset(`folder:${d}`, { cacheDir: null })
    expect(ds.classNames).toBeNull()
    expect(ds.pool.classes).toBeNull()
    expect(ds.test).toBeNull()
    expect(ds.split).toBeUndefined()
    expect(ds.pool.count).toBe(4)
    expect(ds.id).toBe(`folder:${d}?maxSide=256`)
  })

  it('symlink loops end: a link to an ancestor, links between siblings, a self link', async () => {
    const d = dir('loops')
    mkdirSync(join(d, 'a', 'deep'), { recursive: true })
    mkdirSync(join(d, 'b'))
    writeFileSync(join(d, 'a', 'deep', '1.png'), await png())
    writeFileSync(join(d, 'b', '2.png'), await png())
    symlinkSync('../..', join(d, 'a', 'deep', 'up')) // -> the root
    symlinkSync('../a', join(d, 'b', 'to-a')) // a folder scanned (or to be scanned) elsewhere
    symlinkSync('.', join(d, 'b', 'self'))
    symlinkSync('b', join(d, 'c-link-to-b'))
    const scan = await scanFolder(d)
    expect(scan.files.map((x) => x.path)).toEqual(['a/deep/1.png', 'b/2.png'])
    expect(scan.skipped.map((s) => s.path).sort()).toEqual(['a/deep/up', 'b/self', 'b/to-a', 'c-link-to-b'])
    // A link out of the dataset folder is not followed (a link to / would scan the machine).
    const outside = dir('outside')
    writeFileSync(join(outside, '3.png'), await png())
    symlinkSync(outside, join(d, 'linked'))
    const ds = await loadDataset(`folder:${d}`, { cacheDir: null })
    expect(ds.classNames).toEqual(['a', 'b'])
    expect(ds.skipped?.find((s) => s.path === 'linked')?.reason).toBe('a symbolic link out of the dataset folder (not followed)')
  })

  it('bad spec options are BAD_ARGUMENT; a "?" that is part of a real path stays in it', async () => {
    await expectCuratorErrorAsync(
      () => loadDataset(`${spec()}?maxSize=64`),
      'BAD_ARGUMENT',
      /Unknown folder dataset option "maxSize": use maxSide, testFraction, splitSeed/
    )
    await expectCuratorErrorAsync(() => loadDataset(`${spec()}?maxSide=5`), 'BAD_ARGUMENT', /maxSide must be a whole number from 20/)
    await expectCuratorErrorAsync(() => loadDataset(`${spec()}?testFraction=1`), 'BAD_ARGUMENT', /testFraction must be a number from 0/)
    await expectCuratorErrorAsync(() => loadDataset(`${spec()}?splitSeed=-1`), 'BAD_ARGUMENT', /splitSeed must be a whole number/)
    const odd = dir('what?maxSide=30')
    expect(parseSpecOptions(odd, 'folder')).toEqual({ path: odd, options: {} })
    expect(parseSpecOptions('/x/y?maxSide=30&splitSeed=2', 'folder')).toEqual({ path: '/x/y', options: { maxSide: 30, splitSeed: 2 } })
  })
})

describe('decodeImage', () => {
  it('sniffs PNG and JPEG by their first bytes', async () => {
    expect(
      sniffImage(
        await sharp({ create: { width: 20, height: 20, channels: 3, background: 'red' } })
          .png()
          .toBuffer()
      )
    ).toBe('png')
    expect(
      sniffImage(
        await sharp({ create: { width: 20, height: 20, channels: 3, background: 'red' } })
          .jpeg()
          .toBuffer()
      )
    ).toBe('jpeg')
    expect(
      sniffImage(
        await sharp({ create: { width: 20, height: 20, channels: 3, background: 'red' } })
          .webp()
          .toBuffer()
      )
    ).toBeNull()
    expect(sniffImage(new Uint8Array([0x89, 0x50]))).toBeNull()
  })

  it('keeps grey-looking RGB as 1 channel, 16-bit as 8-bit, and applies EXIF orientation', async () => {
    const rgbGrey = await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .png()
      .toBuffer()
    const a = await decodeImage(rgbGrey, 256)
    expect(a.ok && [a.width, a.height, a.channels, a.pixels[0]]).toEqual([30, 20, 1, 90])
    const sixteen = await sharp(Buffer.alloc(30 * 30, 200), { raw: { width: 30, height: 30, channels: 1 } })
      .toColorspace('grey16')
      .png()
      .toBuffer()
    const b = await decodeImage(sixteen, 256)
    expect(b.ok && [b.channels, b.pixels[0]]).toEqual([1, 200])
    // Orientation 6 (rotate 90 degrees clockwise): stored 40x20, shown 20x40.
    const rotated = await sharp({ create: { width: 40, height: 20, channels: 3, background: 'blue' } })
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer()
    const c = await decodeImage(rotated, 256)
    expect(c.ok && [c.width, c.height, c.channels]).toEqual([20, 40, 3])
  })

  it('fitSize keeps the aspect ratio and never enlarges', () => {
    expect(fitSize(300, 200, 256)).toEqual([256, 171])
    expect(fitSize(200, 300, 256)).toEqual([171, 256])
    expect(fitSize(100, 50, 256)).toEqual([100, 50])
    expect(fitSize(1000, 1000, 256)).toEqual([256, 256])
  })
})

describe('the folder through the whole loop', () => {
  let base: string
  const loopCache = join(tmp.dir, 'loop-cache')
  const config = (over: Partial<SessionConfig> = {}): SessionConfig => ({
    ...DEFAULT_CONFIG,
    dataset: spec(),
    task: {
      question: 'Is it a seven?',
      negative: { name: 'other', key: 'o' },
      positive: { name: 'seven', key: 'v' },
      positiveClasses: ['seven']
    },
    strategy: 'uncertainty',
    ...over
  })
  beforeAll(async () => {
    base = await testBaseModel()
    await initBackend()
  })

  it('prepare + simulate with unfreeze 0: mixed sizes featurized per size, evaluated on the split', async () => {
    const p = await prepare(config(), { backend: 'wasm', baseDir: base, cacheDir: loopCache })
    try {
      expect(p.featuresCached).toBe(false)
      expect(p.poolFeatures.count).toBe(p.dataset.pool.count)
      expect(p.testFeatures!.count).toBe(p.dataset.test!.count)
      expect(Array.from(p.poolFeatures.data).every(Number.isFinite)).toBe(true)
      // Truth: seven positive, other classes negative, the unlabelled images unknown.
      const truth = [...p.poolTruth!]
      expect(truth.filter((t) => t === 1).length).toBe(f.perClass - Math.round(f.perClass * 0.2))
      expect(truth.filter((t) => t === -1).length).toBe(f.unlabelled)
      const records: IterationRecord[] = []
      const summary = await simulate(p, { strategy: 'uncertainty', batchSize: 4, budget: 16, onIteration: (r) => void records.push(r) })
      expect(summary.labels).toBeGreaterThan(0)
      expect(records.length).toBe(summary.iterations + 1)
      expect(records.every((r) => r.testAccuracy !== null && r.testAccuracy >= 0 && r.testAccuracy <= 1)).toBe(true)
      // Every asked image is a pool image; the unlabelled ones are skipped, not answered.
      for (const r of records) for (const id of r.next.ids) expect(id).toBeLessThan(p.dataset.pool.count)
    } finally {
      disposePrepared(p)
    }
  })

  it('another split seed reuses the cached features of the whole folder', async () => {
    const p = await prepare(config({ seed: 3 }), { backend: 'wasm', baseDir: base, cacheDir: loopCache })
    try {
      expect(p.featuresCached).toBe(true)
      expect(p.dataset.split!.seed).toBe(3)
      // The cached rows are those of a fresh featurization of this split.
      const fresh = await prepare(config({ seed: 3 }), { backend: 'wasm', baseDir: base, cacheDir: join(tmp.dir, 'loop-cache-2') })
      expect(fresh.featuresCached).toBe(false)
      for (let i = 0; i < p.poolFeatures.data.length; i++) expect(p.poolFeatures.data[i]).toBeCloseTo(fresh.poolFeatures.data[i], 4)
      for (let i = 0; i < p.testFeatures!.data.length; i++) expect(p.testFeatures!.data[i]).toBeCloseTo(fresh.testFeatures!.data[i], 4)
      disposePrepared(fresh)
    } finally {
      disposePrepared(p)
    }
  })

  it("features are of the files decoded at the base's input, the same whether made while indexing or from the files later", async () => {
    const cache = join(tmp.dir, 'features-from-files')
    const cold = await prepare(config(), { backend: 'wasm', baseDir: base, cacheDir: cache })
    disposePrepared(cold)
    // The index and thumbnails stay cached, the features go: they are made from the files again.
    rmSync(join(cache, 'features'), { recursive: true })
    const again = await prepare(config(), { backend: 'wasm', baseDir: base, cacheDir: cache })
    disposePrepared(again)
    expect(again.featuresCached).toBe(false)
    expect(again.dataset.hash).toBe(cold.dataset.hash)
    expect(Buffer.from(again.poolFeatures.data.buffer).equals(Buffer.from(cold.poolFeatures.data.buffer))).toBe(true)
    // Against images decoded here at the base's 28x28 and featurized from memory (not the thumbnails).
    const { decode } = cold.dataset.folder!
    expect(decode.resize).toEqual({ size: [28, 28], fit: 'pad' })
    const keys = cold.dataset.pool.names!.slice(0, 12)
    const inputs = await Promise.all(keys.map((k) => decodeFolderFile(join(f.root, k), decode, { input: true })))
    const pixels = Buffer.concat(inputs.map((d) => (d.ok && d.input!.channels === 1 ? d.input!.pixels : Buffer.alloc(0))))
    const grey = inputs.map((d) => d.ok && d.input!.channels === 1)
    const set = uniformImageSet(pixels.length / 784, 28, 28, 1, new Uint8Array(pixels), null)
    const [mem] = await featurizeAll(readModelFiles(base), 0, [set], {
      backend: 'wasm',
      featurizer: cold.featurizer,
      cut: { featureLayer: cold.base.featureLayer, input: cold.base.input }
    })
    const dim = mem.dim
    let k = 0
    grey.forEach((g, i) => {
      if (!g) return
      for (let t = 0; t < dim; t++) expect(cold.poolFeatures.data[i * dim + t]).toBeCloseTo(mem.data[k * dim + t], 5)
      k++
    })
    expect(k).toBeGreaterThan(3)
  })

  it('unfreeze 1 also trains on mixed sizes', async () => {
    const p = await prepare(config({ unfreeze: 1 }), { backend: 'wasm', baseDir: base, cacheDir: loopCache })
    try {
      const summary = await simulate(p, { strategy: 'random', batchSize: 4, budget: 8 })
      expect(summary.labels).toBe(8)
      expect(summary.finalTestAccuracy).not.toBeNull()
    } finally {
      disposePrepared(p)
    }
  })

  it('`curator simulate --dataset folder:PATH --positive 1 --labels no,yes` runs and answers from the folder classes', async () => {
    const saved = { base: process.env.CURATOR_BASE_MODEL, cache: process.env.CURATOR_CACHE_DIR }
    process.env.CURATOR_BASE_MODEL = base
    process.env.CURATOR_CACHE_DIR = loopCache
    const out: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s))
    const err = vi.spyOn(console, 'error').mockImplementation(() => {})
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await simulateCommand({
        strategies: ['diverse'],
        seeds: [1],
        batch: 4,
        budget: 8,
        unfreeze: 0,
        json: true,
        dataset: spec(),
        positive: ['1'],
        labels: ['no', 'yes']
      })
    } finally {
      log.mockRestore()
      err.mockRestore()
      write.mockRestore()
      process.env.CURATOR_BASE_MODEL = saved.base
      if (saved.cache === undefined) delete process.env.CURATOR_CACHE_DIR
      else process.env.CURATOR_CACHE_DIR = saved.cache
    }
    const lines = out.map((l) => JSON.parse(l))
    const summary = lines.find((l) => l.summary)!.summary
    expect(summary.labels).toBe(8)
    expect(summary.finalTestAccuracy).not.toBeNull()
    expect(lines.filter((l) => l.iteration !== undefined).length).toBe(summary.iterations + 1)
  })
})

describe('the task from --positive and --labels', () => {
  const classes = ['cat', 'dog', 'fox']
  it('--positive takes class names or indices (a name wins), without duplicates', () => {
    expect(resolvePositive(['dog'], classes, 'd')).toEqual(['dog'])
    expect(resolvePositive(['2', 'cat', '0'], classes, 'd')).toEqual(['fox', 'cat'])
    expect(resolvePositive(['1', '3'], ['1', '3', '5', '7'], 'd')).toEqual(['1', '3'])
  })

  it('--positive errors name the classes', () => {
    expectCuratorError(
      () => resolvePositive(['cow'], classes, 'folder:/x'),
      'BAD_ARGUMENT',
      /"cow" is neither a class name nor a class index of folder:\/x; its classes are 0=cat, 1=dog, 2=fox/
    )
    expectCuratorError(() => resolvePositive(['3'], classes, 'd'), 'BAD_ARGUMENT', /"3" is neither/)
    expectCuratorError(() => resolvePositive(['cat', 'dog', 'fox'], classes, 'd'), 'BAD_ARGUMENT', /every class of d is positive/)
    expectCuratorError(() => resolvePositive(['cat', ''], classes, 'd'), 'BAD_ARGUMENT', /empty entry/)
    expectCuratorError(() => resolvePositive(['cat'], null, 'folder:/flat'), 'BAD_ARGUMENT', /has no ground-truth classes/)
  })

  it('the default task (odd digits) needs digit classes; otherwise --positive is asked for', () => {
    const a = { dataset: 'folder:/pets' }
    expectCuratorError(
      () => taskFor(a, classes),
      'BAD_ARGUMENT',
      /Give --positive CLASSES: the default \(odd digits 1,3,5,7,9\) does not fit folder:\/pets, whose classes are 0=cat, 1=dog, 2=fox/
    )
    expectCuratorError(() => taskFor(a, null), 'BAD_ARGUMENT', /simulate answers from ground truth, and the dataset folder:\/pets has none/)
    expect(taskFor({ dataset: 'mnist' }, DEFAULT_CONFIG.task.positiveClasses!.concat(['0', '2', '4', '6', '8']))).toMatchObject({
      question: 'Is this digit odd?',
      positiveClasses: ['1', '3', '5', '7', '9']
    })
  })

  it('a task of other classes asks yes/no; --labels names the answers with distinct keys', () => {
    expect(taskFor({ dataset: 'd', positive: ['fox', 'dog'] }, classes)).toEqual({
      question: 'Is it fox or dog?',
      negative: { name: 'no', key: 'n' },
      positive: { name: 'yes', key: 'y' },
      positiveClasses: ['fox', 'dog']
    })
    const t = taskFor({ dataset: 'd', positive: ['0'], labels: ['not cat', 'cat'] }, classes)
    expect(t.negative).toEqual({ name: 'not cat', key: 'n' })
    expect(t.positive).toEqual({ name: 'cat', key: 'c' })
    // Same first letter, and a reserved key (s: skip): the keys still differ and avoid it.
    const u = taskFor({ dataset: 'd', positive: ['dog'], labels: ['small', 'smaller'] }, classes)
    expect(u.negative.key).toBe('m')
    expect(u.positive.key).toBe('a')
    expectCuratorError(
      () => taskFor({ dataset: 'd', positive: ['dog'], labels: ['same', 'same'] }, classes),
      'BAD_ARGUMENT',
      /two different names/
    )
  })

  it('configFor puts the resolved task into the session config', () => {
    const c = configFor(
      { strategies: ['diverse'], seeds: [1], batch: 4, budget: 8, unfreeze: 0, json: false, dataset: 'folder:/pets', positive: ['1'] },
      'diverse',
      5,
      classes
    )
    expect(c.task.positiveClasses).toEqual(['dog'])
    expect(c.seed).toBe(5)
    expect(c.dataset).toBe('folder:/pets')
  })
})
