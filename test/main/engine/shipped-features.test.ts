// The features shipped with the base (resources/models/mnist-cnn/features/): keyed and checked
// like a cache entry, equal bit for bit to what featurizing gives, and used by a fresh install.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'
import { initBackend } from '../../../src/main/engine/backend'
import { loadMnist } from '../../../src/main/data/mnist'
import { pickImages, type ImageSet } from '../../../src/main/data/dataset'
import { cachedFeatures, featureCachePath, featurizeAll, readFeatureCache, type FeatureMatrix } from '../../../src/main/engine/features'
import { hashModelFiles, loadModel, readModelFiles } from '../../../src/main/engine/model-io'
import { readShippedFeatures, SHIPPED_FEATURES_DIR, type ShippedEntry } from '../../../src/main/engine/shipped-features'
import { splitPoint } from '../../../src/main/engine/transfer'
import { prepare, disposePrepared } from '../../../src/main/engine/setup'
import { Rng } from '../../../src/main/util/rng'
import type { Progress } from '../../../src/shared/progress'
import { tempDir } from '../../helpers/tmp'

const baseDir = resolve(__dirname, '../../../resources/models/mnist-cnn')
const tmp = tempDir()
afterAll(() => tmp.remove())

let entries: ShippedEntry[]
let key: { baseHash: string; datasetHash: string; split: string }
let backend: string
beforeAll(async () => {
  backend = await initBackend()
  entries = JSON.parse(readFileSync(join(baseDir, SHIPPED_FEATURES_DIR, 'manifest.json'), 'utf8')).entries
  const files = readModelFiles(baseDir)
  const { layers, splitIndex } = splitPoint(await loadModel(files), 0)
  key = { baseHash: hashModelFiles(files), datasetHash: loadMnist().hash, split: layers[splitIndex].name }
})

const bits = (m: FeatureMatrix) => new Uint32Array(m.data.buffer, m.data.byteOffset, m.data.length)

describe('the shipped MNIST features', () => {
  it('are keyed by the shipped base, the embedded MNIST and the split layer of the default session', () => {
    expect(entries.map((e) => e.part).sort()).toEqual(['pool', 'test'])
    for (const e of entries) expect({ baseHash: e.baseHash, datasetHash: e.datasetHash, split: e.split }).toEqual(key)
    expect(entries.find((e) => e.part === 'pool')).toMatchObject({ count: 60000, dim: 10 })
    expect(entries.find((e) => e.part === 'test')).toMatchObject({ count: 10000, dim: 10 })
  })

  it('equal, bit for bit, what featurizing a seeded sample gives now (other batches, one thread)', async () => {
    const mnist = loadMnist()
    const rng = new Rng(7)
    const sample = (n: number, of: number) => Int32Array.from(rng.shuffle(Int32Array.from({ length: of }, (_, i) => i)).subarray(0, n))
    const poolIds = sample(300, 60000)
    const testIds = sample(200, 10000)
    const [pool, test] = await featurizeAll(
      readModelFiles(baseDir),
      0,
      [pickImages(mnist.pool, poolIds), pickImages(mnist.test!, testIds)],
      { backend, featurizer: 'tfjs', threads: 1, jobSize: 97 }
    ) // shipped features are TF.js's
    const shippedPool = (await readShippedFeatures(baseDir, { ...key, part: 'pool' }))!
    const shippedTest = (await readShippedFeatures(baseDir, { ...key, part: 'test' }))!
    const rowsOf = (m: FeatureMatrix, ids: Int32Array) =>
      Float32Array.from(Array.from(ids).flatMap((i) => Array.from(m.data.subarray(i * 10, i * 10 + 10))))
    const recorded = entries[0].backend
    for (const [fresh, shipped, ids] of [
      [pool, shippedPool, poolIds],
      [test, shippedTest, testIds]
    ] as const) {
      const want = { count: ids.length, dim: 10, data: rowsOf(shipped, ids) }
      if (backend === recorded) expect(Array.from(bits(fresh))).toEqual(Array.from(bits(want)))
      else for (let k = 0; k < fresh.data.length; k++) expect(Math.abs(fresh.data[k] - want.data[k])).toBeLessThan(1e-5)
    }
  })

  it('start a fresh install (empty cache) without featurizing, and become its cache entries', async () => {
    const cacheDir = join(tmp.dir, 'fresh-cache')
    const seen: Progress[] = []
    const p = await prepare(DEFAULT_CONFIG, { backend, cacheDir, baseDir, onProgress: (g) => seen.push(g) })
    try {
      expect(p.featuresCached).toBe(true)
      expect(seen.filter((g) => g.task === 'featurize')).toEqual([])
      for (const part of ['pool', 'test']) {
        const cached = (await readFeatureCache(featureCachePath(cacheDir, { ...key, part })))!
        const shipped = (await readShippedFeatures(baseDir, { ...key, part }))!
        expect(cached.count).toBe(part === 'pool' ? 60000 : 10000)
        expect(Buffer.from(cached.data.buffer).equals(Buffer.from(shipped.data.buffer))).toBe(true)
      }
      expect(
        Buffer.from(p.poolFeatures.data.buffer).equals(
          Buffer.from((await readShippedFeatures(baseDir, { ...key, part: 'pool' }))!.data.buffer)
        )
      ).toBe(true)
    } finally {
      disposePrepared(p)
    }
  })
})

describe('shipped features that fail their checks are not used', () => {
  /** A copy of the shipped base to damage. */
  function copyBase(name: string): string {
    const dir = join(tmp.dir, name)
    cpSync(baseDir, dir, { recursive: true })
    return dir
  }
  const manifestOf = (dir: string) => join(dir, SHIPPED_FEATURES_DIR, 'manifest.json')
  const editManifest = (dir: string, edit: (e: ShippedEntry[]) => void) => {
    const m = JSON.parse(readFileSync(manifestOf(dir), 'utf8'))
    edit(m.entries)
    writeFileSync(manifestOf(dir), JSON.stringify(m))
  }

  it('a flipped byte in the data, a wrong checksum, a wrong count, a path outside the folder, a broken manifest', async () => {
    const flipped = copyBase('flipped')
    const file = join(flipped, SHIPPED_FEATURES_DIR, entries.find((e) => e.part === 'test')!.file)
    const bytes = readFileSync(file)
    bytes[bytes.length >> 1] ^= 0x10
    writeFileSync(file, bytes)
    expect(await readShippedFeatures(flipped, { ...key, part: 'test' })).toBeNull()
    expect(await readShippedFeatures(flipped, { ...key, part: 'pool' })).not.toBeNull() // the other part is intact

    const sum = copyBase('sum')
    editManifest(sum, (es) => (es[0].sha256 = es[0].sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'))))
    expect(await readShippedFeatures(sum, { ...key, part: entries[0].part })).toBeNull()

    const count = copyBase('count')
    editManifest(count, (es) => (es[0].count -= 1))
    expect(await readShippedFeatures(count, { ...key, part: entries[0].part })).toBeNull()

    const escape = copyBase('escape')
    editManifest(escape, (es) => (es[0].file = `../../mnist-cnn/${SHIPPED_FEATURES_DIR}/${es[0].file}`))
    expect(await readShippedFeatures(escape, { ...key, part: entries[0].part })).toBeNull()

    const broken = copyBase('broken')
    writeFileSync(manifestOf(broken), '{"format": "curator-features-1", "entries": [')
    expect(await readShippedFeatures(broken, { ...key, part: 'pool' })).toBeNull()
    expect(existsSync(join(broken, 'model.json'))).toBe(true)
  })

  it('another base, dataset or split layer finds nothing', async () => {
    expect(await readShippedFeatures(baseDir, { ...key, baseHash: '0123456789abcdef', part: 'pool' })).toBeNull()
    expect(await readShippedFeatures(baseDir, { ...key, datasetHash: loadMnist({ pool: 1000, test: 100 }).hash, part: 'pool' })).toBeNull()
    expect(await readShippedFeatures(baseDir, { ...key, split: 'dense', part: 'pool' })).toBeNull()
    expect(await readShippedFeatures(join(tmp.dir, 'no-such-base'), { ...key, part: 'pool' })).toBeNull()
  })

  it('a damaged shipped part is featurized instead; the intact one is still read', async () => {
    const dir = copyBase('damaged')
    const file = join(dir, SHIPPED_FEATURES_DIR, entries.find((e) => e.part === 'test')!.file)
    writeFileSync(file, 'not gzip')
    const computed: number[] = []
    const sets = { pool: { count: 60000 } as ImageSet, test: { count: 10000 } as ImageSet }
    const r = await cachedFeatures(
      join(tmp.dir, 'damaged-cache'),
      key,
      sets,
      async (missing) => {
        computed.push(...missing.map((s) => s.count))
        return missing.map((s) => ({ count: s.count, dim: 10, data: new Float32Array(s.count * 10) }))
      },
      (part) => readShippedFeatures(dir, { ...key, part })
    )
    expect(computed).toEqual([10000])
    expect(r.cached).toBe(false)
    expect(r.features.pool.data[0]).toBe((await readShippedFeatures(baseDir, { ...key, part: 'pool' }))!.data[0])
  })
})
