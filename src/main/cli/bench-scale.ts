// `curator bench` at scale: a pool of a million images (MNIST with small shifts, made on demand,
// never held), and the memory of a real serving process with the default 70k pool.
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { DEFAULT_CONFIG } from '../../shared/contract'
import { ImageSet, imagePixels, uniformImageSet } from '../data/dataset'
import { featureCachePath, featurizeGenerated, readFeatureCache, writeFeatureCache, FeatureMatrix } from '../engine/features'
import { defaultFeaturizer, featureSplitKey } from '../engine/featurizer'
import { Answer, Learner, TRUST_RULES } from '../engine/learner'
import { iterate, warmUp } from '../engine/loop'
import { loadModel } from '../engine/model-io'
import { defaultCacheDir, Prepared } from '../engine/setup'

/** Shifts of up to 2 pixels: (0,0) first, so the first 60k images are MNIST itself. */
const SHIFTS: [number, number][] = [[0, 0]]
for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (dx || dy) SHIFTS.push([dx, dy])

/** Image i of the large pool: MNIST pool image i mod N, shifted by SHIFTS[floor(i / N) mod 25]. */
export function shiftedImages(source: ImageSet): (start: number, n: number) => ImageSet {
  const [w, h, c] = [source.widths[0], source.heights[0], source.channels[0]]
  for (let i = 0; i < source.count; i++)
    if (source.widths[i] !== w || source.heights[i] !== h || source.channels[i] !== c)
      throw new Error('The large pool needs images of one size')
  const size = w * h * c
  const make = (start: number, n: number) => {
    const pixels = new Uint8Array(n * size)
    for (let k = 0; k < n; k++) {
      const i = start + k
      const src = imagePixels(source, i % source.count)
      const [dx, dy] = SHIFTS[Math.floor(i / source.count) % SHIFTS.length]
      for (let y = 0; y < h; y++) {
        const sy = y - dy
        if (sy < 0 || sy >= h) continue
        for (let x = 0; x < w; x++) {
          const sx = x - dx
          if (sx < 0 || sx >= w) continue
          for (let ch = 0; ch < c; ch++) pixels[k * size + (y * w + x) * c + ch] = src[(sy * w + sx) * c + ch]
        }
      }
    }
    return uniformImageSet(n, h, w, c, pixels, null)
  }
  return make
}

/** This process's peak resident memory in MB since the last reset (Linux), else null. */
export function peakRssMb(pid: number | 'self' = 'self'): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 1024) : null
  } catch {
    return null
  }
}

/** Starts the peak over (Linux: writing 5 to clear_refs resets VmHWM); returns the resident MB now. */
export function resetPeakRss(): number | null {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
  } catch {
    // Not Linux, or not allowed: the peak then covers the whole run.
  }
  return peakRssMb()
}

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]
const r2 = (x: number) => Math.round(x * 100) / 100

export interface LargePoolFigures {
  poolSize: number
  featurizer: string
  /** null when the features came from the cache of an earlier run. */
  featurizeImagesPerSec: number | null
  featuresCached: boolean
  iterationMs: { p50: number; p95: number; n: number }
  /** This process's peak resident memory while featurizing and iterating on the large pool... */
  peakRssMb: number | null
  /** ...and what it held before (the 70k dataset, models and tensors of the bench's earlier steps). */
  rssBeforeMb: number | null
}

/** Featurizes `count` shifted MNIST images (cached on disk like any pool) and iterates on them. */
export async function largePoolBench(
  p: Prepared,
  count: number,
  iterations: number,
  backend: string,
  onProgress?: Parameters<typeof featurizeGenerated>[4]['onProgress']
): Promise<LargePoolFigures> {
  const rssBeforeMb = resetPeakRss()
  const source = p.dataset.pool
  const make = shiftedImages(source)
  const featurizer = defaultFeaturizer(backend)
  const path = featureCachePath(defaultCacheDir(), {
    baseHash: p.base.hash,
    datasetHash: `${p.dataset.hash}-shifted${count}`,
    split: featureSplitKey('classes', featurizer),
    part: 'pool'
  })
  let features: FeatureMatrix | null = await readFeatureCache(path)
  let rate: number | null = null
  const cached = features?.count === count
  if (!cached) {
    const t0 = performance.now()
    features = await featurizeGenerated(p.base.files, 0, count, make, {
      backend,
      featurizer,
      onProgress,
      task: `featurize ${count} shifted images`
    })
    rate = Math.round(count / ((performance.now() - t0) / 1000))
    await writeFeatureCache(path, features)
  }
  // A shifted image keeps its source's class.
  const sourceTruth = p.poolTruth!
  const poolTruth = Int8Array.from({ length: count }, (_, i) => sourceTruth[i % source.count])
  const learner = new Learner({
    base: await loadModel(p.base.files),
    unfreeze: 0,
    fit: 'converge',
    seed: 1,
    pool: features!,
    test: p.testFeatures,
    poolTruth,
    testTruth: p.testTruth,
    // The head's current rules, as a new session runs (without them: rules 1).
    trust: TRUST_RULES
  })
  const cfg = { strategy: 'uncertainty' as const, batchSize: 4, coldStartBatches: 0 }
  // As the studio's engine does while the first batch is on screen (see WarmUp in loop.ts).
  await warmUp(learner, cfg)
  const batches: Answer[][] = []
  const times: number[] = []
  for (let it = 0; it <= iterations; it++) {
    const r = await iterate(learner, cfg, batches, [])
    if (it > 0) times.push(r.iterationMs)
    batches.push(r.next.ids.map((id) => ({ id, value: poolTruth[id] as 0 | 1 })))
  }
  learner.dispose()
  return {
    poolSize: count,
    featurizer,
    featurizeImagesPerSec: rate,
    featuresCached: cached,
    iterationMs: { p50: r2(percentile(times, 0.5)), p95: r2(percentile(times, 0.95)), n: times.length },
    peakRssMb: peakRssMb(),
    rssBeforeMb
  }
}

export interface ServeMemory {
  poolSize: number
  /** Peak and current resident memory of the `curator serve` process with the session open. */
  peakRssMb: number | null
  rssMb: number | null
  openMs: number
}

/** Starts `curator serve` in a child process, opens the default session over its API and reads its memory. */
export async function servingMemory(cli: string): Promise<ServeMemory | { error: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'curator-bench-serve-'))
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const url = await new Promise<URL>((ok, fail) => {
      let out = ''
      child.stdout.on('data', (b) => {
        out += String(b)
        const m = /ready at (\S+)/.exec(out)
        if (m) ok(new URL(m[1]))
      })
      child.once('exit', (code) => fail(new Error(`curator serve exited with code ${code}`)))
    })
    const ws = new WebSocket(`ws://${url.host}/api?token=${encodeURIComponent(url.searchParams.get('token')!)}`, {
      headers: { Origin: url.origin }
    })
    await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)))
    const t0 = performance.now()
    const reply = await new Promise<{ ok: boolean; result?: { poolSize: number }; error?: { message: string } }>((ok) => {
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw))
        if (m.id === 1) ok(m)
      })
      ws.send(JSON.stringify({ id: 1, method: 'newSession', args: [DEFAULT_CONFIG] }))
    })
    const openMs = Math.round(performance.now() - t0)
    ws.close()
    if (!reply.ok) return { error: `newSession failed: ${reply.error?.message}` }
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)
    return {
      poolSize: reply.result!.poolSize,
      peakRssMb: peakRssMb(child.pid!),
      rssMb: rss ? Math.round(Number(rss[1]) / 1024) : null,
      openMs
    }
  } catch (err) {
    return { error: (err as Error).message }
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    await rm(dataDir, { recursive: true, force: true })
  }
}
