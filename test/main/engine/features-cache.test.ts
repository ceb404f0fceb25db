import { describe, it, expect, afterAll } from 'vitest'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { crc32 } from 'node:zlib'
import { buf as crc32c } from 'crc-32/crc32c'
import {
  cachedFeatures as cachedParts,
  featureCachePath,
  readFeatureCache,
  readFeatureCacheRows,
  writeFeatureCache,
  FeatureMatrix
} from '../../../src/main/engine/features'
import type { ImageSet } from '../../../src/main/data/dataset'
import { tempDir } from '../../helpers/tmp'
import { dirname, join } from 'node:path'

const tmp = tempDir()
afterAll(() => tmp.remove())

const matrix = (count: number, dim: number, seed = 1): FeatureMatrix => ({
  count,
  dim,
  data: Float32Array.from({ length: count * dim }, (_, i) => Math.sin(i * 0.37 + seed) * 1e3)
})

const key = { baseHash: 'b0b0b0b0b0b0b0b0', datasetHash: 'd1d1d1d1d1d1d1d1', split: 'classes', part: 'pool' }

/** One part through the multi-part cache (the compute function gets the missing sets). */
async function cachedFeatures(dir: string, k: typeof key, compute: () => Promise<FeatureMatrix>) {
  const m = await peek(compute)
  const { part, ...rest } = k
  const r = await cachedParts(dir, rest, { [part]: { count: m.count } as ImageSet }, async () => [await compute()])
  return { cached: r.cached, features: r.features[part] }
}
/** The matrix a counter would return, without counting the call. */
const peeked = new WeakMap<object, FeatureMatrix>()
async function peek(fn: () => Promise<FeatureMatrix>): Promise<FeatureMatrix> {
  return peeked.get(fn)!
}

/** A compute function that counts its calls. */
function counter(m: FeatureMatrix) {
  const c = { calls: 0, fn: async () => (c.calls++, m) }
  peeked.set(c.fn, m)
  return c
}

describe('cachedFeatures', () => {
  it('computes once, then reads the same numbers from disk', async () => {
    const dir = join(tmp.dir, 'once')
    const m = matrix(37, 10)
    const c = counter(m)
    const first = await cachedFeatures(dir, key, c.fn)
    expect(first.cached).toBe(false)
    expect(first.features).toBe(m)
    expect(c.calls).toBe(1)
    const path = featureCachePath(dir, key)
    expect(existsSync(path)).toBe(true)
    expect(statSync(path).size).toBe(24 + 37 * 10 * 4)
    const second = await cachedFeatures(dir, key, c.fn)
    expect(c.calls).toBe(1)
    expect(second.cached).toBe(true)
    expect(second.features.count).toBe(37)
    expect(second.features.dim).toBe(10)
    expect(Array.from(second.features.data)).toEqual(Array.from(m.data))
    // Written through a temporary file that is gone afterwards.
    expect(readdirSync(dirname(path))).toEqual([path.split(/[\\/]/).pop()])
  })

  it('keys the cache by base hash, dataset hash, split point and part', async () => {
    const dir = join(tmp.dir, 'keys')
    const c = counter(matrix(5, 3))
    await cachedFeatures(dir, key, c.fn)
    const variants = [{ split: 'dense' }, { split: 'global_maxpool' }, { baseHash: 'ffff' }, { datasetHash: 'eeee' }, { part: 'test' }]
    const paths = new Set([featureCachePath(dir, key)])
    for (const v of variants) {
      const k = { ...key, ...v }
      paths.add(featureCachePath(dir, k))
      const r = await cachedFeatures(dir, k, c.fn)
      expect(r.cached).toBe(false)
    }
    expect(c.calls).toBe(1 + variants.length)
    expect(paths.size).toBe(1 + variants.length)
    // The split name is in the file name, readable by a person clearing the cache.
    expect(featureCachePath(dir, { ...key, split: 'dense' })).toContain('dense')
    expect(featureCachePath(dir, key).startsWith(join(dir, 'features'))).toBe(true)
    // Every variant is now a hit.
    for (const v of variants) expect((await cachedFeatures(dir, { ...key, ...v }, c.fn)).cached).toBe(true)
    expect(c.calls).toBe(1 + variants.length)
  })

  it('ignores a torn (short) cache file and recomputes it', async () => {
    const dir = join(tmp.dir, 'torn')
    const m = matrix(20, 8)
    const c = counter(m)
    await cachedFeatures(dir, key, c.fn)
    const path = featureCachePath(dir, key)
    truncateSync(path, 24 + 20 * 8 * 4 - 4)
    expect(await readFeatureCache(path)).toBeNull()
    const r = await cachedFeatures(dir, key, c.fn)
    expect(r.cached).toBe(false)
    expect(c.calls).toBe(2)
    expect(statSync(path).size).toBe(24 + 20 * 8 * 4)
    expect((await cachedFeatures(dir, key, c.fn)).cached).toBe(true)
  })

  it('ignores a file shorter than its header, one with extra bytes, and one with another magic', async () => {
    const dir = join(tmp.dir, 'bad')
    const m = matrix(4, 2)
    const path = featureCachePath(dir, key)
    await writeFeatureCache(path, m)
    const good = readFileSync(path)
    const bad = [
      good.subarray(0, 10),
      Buffer.concat([good, Buffer.from([1, 2, 3, 4])]),
      Buffer.concat([Buffer.from('NOTFEAT1'), good.subarray(8)]),
      Buffer.alloc(0)
    ]
    for (const bytes of bad) {
      writeFileSync(path, bytes)
      expect(await readFeatureCache(path)).toBeNull()
      const c = counter(m)
      expect((await cachedFeatures(dir, key, c.fn)).cached).toBe(false)
      expect(c.calls).toBe(1)
    }
  })

  it('reads an entry of the previous format (CURFEAT2, CRC32C of the rows) and checks it; new entries are CURFEAT3 (CRC-32)', async () => {
    const dir = join(tmp.dir, 'v2')
    mkdirSync(dir, { recursive: true })
    const m = matrix(30, 6)
    const path = join(dir, 'old.f32')
    await writeFeatureCache(path, m)
    const rows = readFileSync(path).subarray(24)
    expect(readFileSync(path).toString('latin1', 0, 8)).toBe('CURFEAT3')
    expect(readFileSync(path).readUInt32LE(16)).toBe(crc32(rows))
    const header = Buffer.alloc(24)
    header.write('CURFEAT2', 0, 'latin1')
    header.writeUInt32LE(30, 8)
    header.writeUInt32LE(6, 12)
    header.writeUInt32LE(crc32c(rows) >>> 0, 16)
    writeFileSync(path, Buffer.concat([header, rows]))
    expect(Array.from((await readFeatureCache(path))!.data)).toEqual(Array.from(m.data))
    const flipped = Buffer.concat([header, rows])
    flipped[40] ^= 1
    writeFileSync(path, flipped)
    expect(await readFeatureCache(path)).toBeNull()
  })

  it('deals the rows out to parts, read in stretches and checked as they come (both formats); a damaged file or a row that is not there gives null', async () => {
    const dir = join(tmp.dir, 'parts')
    mkdirSync(dir, { recursive: true })
    const m = matrix(3000, 700) // 8 MiB: more than one stretch
    const path = join(dir, 'parts.f32')
    await writeFeatureCache(path, m)
    // Two thirds of the rows in a scrambled order, the rest backwards.
    const first = Int32Array.from({ length: 2000 }, (_, k) => (k * 7) % 3000)
    const rest = Int32Array.from(Array.from({ length: 3000 }, (_, r) => 2999 - r).filter((r) => !first.includes(r)))
    const parts = [first, rest]
    // Rows of a part that are not the file's rows at its row numbers (0: all are).
    const wrongRows = (p: FeatureMatrix, idx: Int32Array) =>
      Array.from(idx).filter((row, k) => p.data.subarray(k * 700, (k + 1) * 700).some((v, j) => v !== m.data[row * 700 + j])).length
    const check = async () => {
      const hit = (await readFeatureCacheRows(path, parts))!
      expect([hit.count, hit.dim, hit.parts.map((p) => p.count)]).toEqual([3000, 700, [2000, 1000]])
      expect(hit.parts.map((p, k) => wrongRows(p, parts[k]))).toEqual([0, 0])
    }
    await check()
    const rows = readFileSync(path).subarray(24)
    const header = Buffer.from(readFileSync(path).subarray(0, 24))
    header.write('CURFEAT2', 0, 'latin1')
    header.writeUInt32LE(crc32c(rows) >>> 0, 16)
    writeFileSync(path, Buffer.concat([header, rows]))
    await check()
    expect(await readFeatureCacheRows(path, [Int32Array.from([3000])])).toBeNull()
    await expect(readFeatureCacheRows(path, [Int32Array.from([4]), Int32Array.from([4])])).rejects.toThrow(/row 4 asked for twice/)
    const bytes = readFileSync(path)
    bytes[bytes.length - 3] ^= 4
    writeFileSync(path, bytes)
    expect(await readFeatureCacheRows(path, parts)).toBeNull()
  })

  it('a damaged entry (one flipped bit, same size) fails its checksum and is rebuilt, never used', async () => {
    const dir = join(tmp.dir, 'flipped')
    const m = matrix(20, 8)
    const path = featureCachePath(dir, key)
    await writeFeatureCache(path, m)
    for (const at of [24, 24 + 300, statSync(path).size - 1]) {
      const bytes = readFileSync(path)
      bytes[at] ^= 0x10
      writeFileSync(path, bytes)
      expect(await readFeatureCache(path)).toBeNull()
      const c = counter(m)
      const r = await cachedFeatures(dir, key, c.fn)
      expect(r.cached).toBe(false)
      expect(c.calls).toBe(1)
      expect(Array.from((await readFeatureCache(path))!.data)).toEqual(Array.from(m.data))
    }
  })

  it('an entry of another dimension than the split layer gives is rebuilt', async () => {
    const dir = join(tmp.dir, 'dim')
    const { part, ...rest } = key
    const wrong = matrix(20, 8) // the same bytes read as 20 x 8 ...
    await writeFeatureCache(featureCachePath(dir, key), wrong)
    const right = matrix(20, 10)
    let calls = 0
    const compute = async () => (calls++, [right])
    const r = await cachedParts(dir, rest, { [part]: { count: 20 } as ImageSet }, compute, undefined, 10)
    expect(r.cached).toBe(false)
    expect(calls).toBe(1)
    expect(r.features[part].dim).toBe(10)
    expect((await cachedParts(dir, rest, { [part]: { count: 20 } as ImageSet }, compute, undefined, 10)).cached).toBe(true)
  })

  it('a FIFO in place of an entry is a miss, not a hang', async () => {
    const dir = join(tmp.dir, 'fifo')
    const path = featureCachePath(dir, key)
    mkdirSync(dirname(path), { recursive: true })
    execFileSync('mkfifo', [path])
    expect(await readFeatureCache(path)).toBeNull()
  })

  it('writes only the view it is given (a subarray of a bigger buffer)', async () => {
    const big = matrix(10, 4)
    const view: FeatureMatrix = { count: 3, dim: 4, data: big.data.subarray(8, 20) }
    const path = join(tmp.dir, 'view', 'f.f32')
    await writeFeatureCache(path, view)
    const back = await readFeatureCache(path)
    expect(back).not.toBeNull()
    expect(Array.from(back!.data)).toEqual(Array.from(view.data))
  })

  it('reads an empty matrix back', async () => {
    const path = join(tmp.dir, 'empty', 'f.f32')
    await writeFeatureCache(path, { count: 0, dim: 10, data: new Float32Array(0) })
    expect(await readFeatureCache(path)).toEqual({ count: 0, dim: 10, data: new Float32Array(0) })
  })

  it('a missing file is a miss, not an error', async () => {
    expect(await readFeatureCache(join(tmp.dir, 'nothing.f32'))).toBeNull()
  })
})
