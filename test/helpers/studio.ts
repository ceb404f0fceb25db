// A real studio for tests: a small base model pretrained on MNIST (built once, cached in the
// system temp folder), a real engine thread, and a data folder and feature cache that the
// test removes again.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_CONFIG, SessionConfig, StudioEvents } from '../../src/shared/contract'
import { startEngine, EngineClient } from '../../src/main/engine/client'
import { Studio, StudioOptions } from '../../src/main/studio/studio'
import { tempDir } from './tmp'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BASE_SOURCES = [
  'src/main/engine/pretrain.ts',
  'src/main/engine/base-model.ts',
  'src/main/engine/model-io.ts',
  'src/main/data/mnist.ts'
]
const BASE_TRAIN_IMAGES = 1000
const BASE_TEST_IMAGES = 200

let basePromise: Promise<string> | undefined

/**
 * A small base CNN (1 epoch on 1,000 MNIST images), good enough to exercise the studio.
 * Cached under the system temp folder, keyed by the sources that shape it, so test files
 * (and runs) share one; built in a private folder and renamed into place, so concurrent
 * test processes never see a half-written model.
 */
export function testBaseModel(): Promise<string> {
  basePromise ??= buildBase()
  return basePromise
}

async function buildBase(): Promise<string> {
  const key = createHash('sha256')
  for (const f of BASE_SOURCES) key.update(readFileSync(join(ROOT, f)))
  key.update(`${BASE_TRAIN_IMAGES}/${BASE_TEST_IMAGES}/1 epoch/seed 1`)
  const dir = join(tmpdir(), `curator-test-base-${key.digest('hex').slice(0, 12)}`)
  if (existsSync(join(dir, 'metadata.json'))) return dir
  const { initBackend } = await import('../../src/main/engine/backend')
  const { loadMnist } = await import('../../src/main/data/mnist')
  const { pretrain, writeBaseModel, PREPROCESSING } = await import('../../src/main/engine/pretrain')
  const backend = await initBackend()
  const ds = loadMnist({ pool: BASE_TRAIN_IMAGES, test: BASE_TEST_IMAGES })
  const r = await pretrain(ds.pool, ds.test!, { epochs: 1, seed: 1 })
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`
  await writeBaseModel(tmp, r.model, {
    id: 'test-digits-cnn',
    description: `Test base: 1 epoch on ${BASE_TRAIN_IMAGES} MNIST images`,
    architecture: 'the original digit CNN',
    classNames: ds.classNames!,
    dataset: { id: ds.id, hash: ds.hash, trainImages: ds.pool.count, testImages: ds.test!.count },
    preprocessing: PREPROCESSING,
    training: {
      epochs: 1,
      seed: 1,
      batchSize: 128,
      optimizer: 'adam lr 0.001',
      backend,
      imagesPerSec: Math.round(r.imagesPerSec),
      seconds: Math.round(r.seconds)
    },
    testAccuracy: r.testAccuracy,
    createdAt: new Date().toISOString()
  })
  r.model.dispose()
  try {
    renameSync(tmp, dir)
  } catch {
    // Another test process got there first: use its model.
    rmSync(tmp, { recursive: true, force: true })
  }
  return dir
}

/** A quick MNIST session: 800 pool images, 200 test images. */
export const testConfig = (over: Partial<SessionConfig> = {}): SessionConfig => ({
  ...DEFAULT_CONFIG,
  poolLimit: 800,
  testLimit: 200,
  ...over
})

export interface TestStudio {
  studio: Studio
  engine: EngineClient
  /** The temp folder holding everything below. */
  root: string
  dataDir: string
  cacheDir: string
  /** Closes the session, stops the engine thread and removes the temp folder. */
  close(): Promise<void>
}

/** A studio over a real engine thread, with the exports configured as the app does. */
export async function startTestStudio(over: Partial<StudioOptions> = {}): Promise<TestStudio> {
  // The engine thread inherits the environment when it starts: set the base model first.
  process.env.CURATOR_BASE_MODEL = await testBaseModel()
  const tmp = tempDir('curator-studio-')
  const dataDir = join(tmp.dir, 'data')
  const cacheDir = join(tmp.dir, 'cache')
  const engine = startEngine((p) => studio.emit('progress', p))
  const studio: Studio = new Studio({ dataDir, engine, version: 'test', cacheDir, ...over })
  return {
    studio,
    engine,
    root: tmp.dir,
    dataDir,
    cacheDir,
    close: async () => {
      await studio.close().catch(() => {})
      await engine.terminate()
      tmp.remove()
    }
  }
}

/** Resolves with the next event of this kind that passes the test (rejects after timeoutMs). */
export function nextEvent<E extends keyof StudioEvents>(
  studio: Studio,
  event: E,
  test: (p: StudioEvents[E]) => boolean = () => true,
  timeoutMs = 60_000
): Promise<StudioEvents[E]> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      off()
      fail(new Error(`no ${event} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = studio.on((e, payload) => {
      if ((e as string) !== event || !test(payload as StudioEvents[E])) return
      clearTimeout(timer)
      off()
      ok(payload as StudioEvents[E])
    })
  })
}

/** A folder with a tiny index.html, standing in for the built renderer that serve() requires. */
export function fakeRenderer(): { dir: string; remove: () => void } {
  const tmp = tempDir('curator-renderer-')
  writeFileSync(join(tmp.dir, 'index.html'), '<!doctype html><title>Curator test</title><p>renderer</p>\n')
  return tmp
}
