// The studio in a real browser: start a session, label by keyboard, undo, watch the charts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import WebSocket from 'ws'
import { readSessionLog } from '../../src/main/session/log'
import { derive } from '../../src/main/session/derive'
import { CHROMIUM, startSession, startStudio, Studio } from './harness'

const haveChromium = existsSync(CHROMIUM)
const shots = resolve(__dirname, '../../test-results')

describe.skipIf(!haveChromium)('studio in Chromium (browser mode)', () => {
  let s: Studio
  beforeAll(async () => {
    s = await startStudio()
  })
  afterAll(async () => {
    await s?.stop()
  })

  it('starts a session, labels three batches by keyboard, undoes once, and redraws the charts each iteration', async () => {
    const page = s.page
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(s.url)
    // The start screen makes each kind of chart once off screen (charts/warm.ts), and leaves none behind.
    await expect.poll(() => page.locator('html').getAttribute('data-charts-warm'), { timeout: 10_000 }).toBe('true')
    expect(await page.locator('canvas').count()).toBe(0)
    expect(errors).toEqual([])
    await startSession(page, { poolLimit: 3000, testLimit: 1000 })
    const chart = (id: string) => page.getByTestId(id).getAttribute('data-chart')
    const iteration = async () => Number(await page.getByTestId('status-iteration').textContent())
    expect(await iteration()).toBe(0)
    const batch = await page.getByTestId('query-image').count()
    expect(batch).toBe(4)

    let before = { acc: await chart('chart-accuracy'), weights: await chart('chart-weights'), hist: await chart('chart-histogram') }
    for (let b = 1; b <= 3; b++) {
      for (let k = 0; k < batch; k++) await page.keyboard.press(k % 2 ? 'e' : 'o')
      await expect.poll(iteration, { timeout: 30_000 }).toBe(b)
      await expect.poll(() => page.getByTestId('status-labels').textContent()).toBe(String(b * batch))
      // The charts redraw in idle slots after the answer: poll until each has new data.
      await expect.poll(() => chart('chart-accuracy')).not.toBe(before.acc)
      await expect.poll(() => chart('chart-weights')).not.toBe(before.weights)
      await expect.poll(() => chart('chart-histogram')).not.toBe(before.hist)
      before = { acc: await chart('chart-accuracy'), weights: await chart('chart-weights'), hist: await chart('chart-histogram') }
    }
    // The model's guess stays hidden while labelling.
    expect(await page.getByTestId('guess').count()).toBe(0)

    await page.keyboard.press('Backspace')
    await expect.poll(() => page.getByTestId('status-labels').textContent()).toBe(String(3 * batch - 1))
    await expect.poll(iteration).toBe(2)
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'labelling.png') })

    // The log agrees: the undone label is gone, everything else is there.
    const dir = join(s.dataDir, 'sessions', readdirSync(join(s.dataDir, 'sessions'))[0])
    const { events } = await readSessionLog(dir)
    const d = derive(events)
    const labels = [...d.done.flatMap((x) => x.answers), ...(d.current?.answers ?? [])]
    expect(labels).toHaveLength(3 * batch - 1)
    const undone = events.filter((e) => e.type === 'undo')
    expect(undone).toHaveLength(1)
    expect(labels.map((a) => a.id)).not.toContain((undone[0] as { id: number }).id)
    // The server's CSP header let the whole app run: its scripts, styles, images and its socket.
    expect(s.cspViolations).toEqual([])
    const csp = (await s.page.request.get(s.url)).headers()['content-security-policy']
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${new URL(s.url).port}`)
    expect(csp).toContain("frame-ancestors 'none'")
  })

  it('refuses a WebSocket without the token, with a wrong token, and from a foreign origin', async () => {
    const base = s.url.replace('http', 'ws').replace(/\/\?token=.*/, '/api')
    const token = new URL(s.url).searchParams.get('token')!
    const status = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((ok) => {
        const ws = new WebSocket(url, { headers })
        ws.on('open', () => {
          ws.close()
          ok(101)
        })
        ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0))
        ws.on('error', () => {})
      })
    expect(await status(base)).toBe(401)
    expect(await status(`${base}?token=wrong${token}`)).toBe(401)
    expect(await status(`${base}?token=${token}`, { Origin: 'http://evil.example' })).toBe(403)
    expect(await status(`${base}?token=${token}`, { Origin: new URL(s.url).origin })).toBe(101)
  })
})

if (!haveChromium) console.warn(`Skipped the browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`)
