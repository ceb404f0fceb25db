// The frozen features of the shipped base on the embedded MNIST, shipped beside the base model
// (<base>/features/), so a fresh install's first session reads 70,000 rows instead of
// featurizing 70,000 images. They are keyed like a cache entry (base hash, dataset hash, split
// layer, part) and checked by SHA-256; a cache miss with the same key is filled from them.
// They are the canonical features for that key on every backend, so replay --verify, which
// reads the same cache, stays exact.
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../files/safe'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { CacheKey, FeatureMatrix } from './features'

export const SHIPPED_FEATURES_DIR = 'features'
const MANIFEST = 'manifest.json'

export interface ShippedEntry extends CacheKey {
  part: string
  count: number
  dim: number
  /** SHA-256 of the little-endian float32 rows. */
  sha256: string
  file: string
  /** The backend that computed them (informational: they are canonical on every backend). */
  backend: string
}

interface Manifest {
  format: 'curator-features-1'
  entries: ShippedEntry[]
}

/** float32 bytes as four byte planes: the exponent bytes of neighbouring values then compress together. */
function shuffle(bytes: Uint8Array): Uint8Array {
  const n = bytes.length / 4
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < n; i++) for (let b = 0; b < 4; b++) out[b * n + i] = bytes[i * 4 + b]
  return out
}

function unshuffle(planes: Uint8Array): Uint8Array {
  const n = planes.length / 4
  const out = new Uint8Array(planes.length)
  for (let i = 0; i < n; i++) for (let b = 0; b < 4; b++) out[i * 4 + b] = planes[b * n + i]
  return out
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const bytesOf = (m: FeatureMatrix) => new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)

async function readManifest(baseDir: string): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await readFile(join(baseDir, SHIPPED_FEATURES_DIR, MANIFEST), 'utf8')) as Manifest
    return m?.format === 'curator-features-1' && Array.isArray(m.entries) ? m : null
  } catch {
    return null
  }
}

/** Whether features for this key are shipped (the manifest says so; the read still checks them). */
export async function hasShippedFeatures(baseDir: string, key: CacheKey & { part: string }): Promise<boolean> {
  const manifest = await readManifest(baseDir)
  return !!manifest?.entries.some(
    (x) => x.baseHash === key.baseHash && x.datasetHash === key.datasetHash && x.split === key.split && x.part === key.part
  )
}

/** The shipped features for this key, or null when none are shipped or they fail their checks. */
export async function readShippedFeatures(baseDir: string, key: CacheKey & { part: string }): Promise<FeatureMatrix | null> {
  const manifest = await readManifest(baseDir)
  const e = manifest?.entries.find(
    (x) => x.baseHash === key.baseHash && x.datasetHash === key.datasetHash && x.split === key.split && x.part === key.part
  )
  if (!e || !/^[\w.-]+$/.test(e.file)) return null
  try {
    const bytes = unshuffle(gunzipSync(await readFile(join(baseDir, SHIPPED_FEATURES_DIR, e.file))))
    if (bytes.length !== e.count * e.dim * 4 || sha256(bytes) !== e.sha256) return null
    const data = new Float32Array(e.count * e.dim)
    new Uint8Array(data.buffer).set(bytes)
    return { count: e.count, dim: e.dim, data }
  } catch {
    return null // unreadable or not gzip: featurize instead
  }
}

/** Writes features into <baseDir>/features/ and records them in its manifest (scripts/ship-features.mts). */
export async function writeShippedFeatures(
  baseDir: string,
  key: CacheKey,
  parts: Record<string, FeatureMatrix>,
  backend: string
): Promise<ShippedEntry[]> {
  const dir = join(baseDir, SHIPPED_FEATURES_DIR)
  await mkdir(dir, { recursive: true })
  const manifest: Manifest = (await readManifest(baseDir)) ?? { format: 'curator-features-1', entries: [] }
  const written: ShippedEntry[] = []
  for (const [part, m] of Object.entries(parts)) {
    const file = `${key.datasetHash}-${key.split}-${part}.f32.gz`
    await writeFileAtomic(join(dir, file), gzipSync(shuffle(bytesOf(m)), { level: 9 }))
    const entry: ShippedEntry = { ...key, part, count: m.count, dim: m.dim, sha256: sha256(bytesOf(m)), file, backend }
    manifest.entries = manifest.entries.filter((x) => x.file !== file).concat(entry)
    written.push(entry)
  }
  await writeFileAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
  return written
}
