// The desktop app itself, driven by Playwright's _electron: open it, start a session on a
// small MNIST subset, label one batch by keyboard, export the model from the File menu.
// Runs where an Electron binary exists (ELECTRON_EXEC_PATH, or the electron package's own
// download) and a display is available; skipped elsewhere, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { _electron as electron, ElectronApplication, Page } from 'playwright-core'
import { startSession } from '../e2e/harness'
import { METHODS } from '../../src/shared/contract'

const ROOT = resolve(__dirname, '../..')
const MAIN = join(ROOT, 'out/main/index.js')

/** The Electron binary to drive, or why there is none. */
function findElectron(): { path: string } | { reason: string } {
  const env = process.env.ELECTRON_EXEC_PATH
  if (env) return existsSync(env) ? { path: env } : { reason: `ELECTRON_EXEC_PATH is ${env}, which does not exist` }
  let path: string
  try {
    // The electron package exports its binary's path, and throws when the binary was never downloaded.
    path = createRequire(join(ROOT, 'package.json'))('electron') as string
  } catch (err) {
    return {
      reason: `the electron package has no binary (${(err as Error).message.split('\n')[0]}; installs with ELECTRON_SKIP_BINARY_DOWNLOAD=1 skip it). Set ELECTRON_EXEC_PATH to an Electron binary to run this test`
    }
  }
  return existsSync(path) ? { path } : { reason: `the electron package points at ${path}, which does not exist` }
}

function skipReason(): string | null {
  const found = findElectron()
  if ('reason' in found) return found.reason
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    return 'there is no display (DISPLAY/WAYLAND_DISPLAY unset); run under xvfb-run'
  return null
}

const reason = skipReason()
if (reason) console.warn(`Skipped the Electron smoke test: ${reason}.`)

describe.skipIf(reason !== null)('Curator in Electron (smoke)', () => {
  let app: ElectronApplication
  let page: Page
  let userData = ''
  const env = (): Record<string, string> => {
    const e: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && k !== 'ELECTRON_RENDERER_URL' && k !== 'ELECTRON_RUN_AS_NODE') e[k] = v
    return {
      ...e,
      CURATOR_USER_DATA_DIR: userData,
      CURATOR_CACHE_DIR: process.env.CURATOR_CACHE_DIR ?? join(tmpdir(), 'curator-electron-cache')
    }
  }
  // Chromium refuses to start as root without --no-sandbox (containers, CI); the page stays sandboxed (webPreferences.sandbox).
  const args = (): string[] => [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ROOT]

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`)
    userData = mkdtempSync(join(tmpdir(), 'curator-electron-'))
    app = await electron.launch({
      executablePath: (findElectron() as { path: string }).path,
      args: args(),
      cwd: ROOT,
      env: env(),
      timeout: 60_000
    })
    page = await app.firstWindow()
  })
  afterAll(async () => {
    await app?.close()
    if (userData) rmSync(userData, { recursive: true, force: true })
  })

  it('opens one hardened window on the built page', async () => {
    await page.getByTestId('view-start').waitFor({ timeout: 60_000 })
    const w = await app.evaluate(({ BrowserWindow }) => {
      const wins = BrowserWindow.getAllWindows()
      return { count: wins.length, url: wins[0].webContents.getURL(), visible: wins[0].isVisible() }
    })
    expect(w.count).toBe(1)
    expect(w.url).toBe('curator://app/index.html')
    // The CSP came as a header of the app's scheme: a WebSocket is refused.
    const ws = await page.evaluate(
      () =>
        new Promise<string>((ok) => {
          const doc = (globalThis as unknown as { document: EventTarget }).document
          doc.addEventListener('securitypolicyviolation', (e) => ok((e as unknown as { violatedDirective: string }).violatedDirective), {
            once: true
          })
          try {
            new WebSocket('ws://127.0.0.1:9/')
          } catch {
            ok('threw')
          }
        })
    )
    expect(ws).toMatch(/connect-src|threw/)
    expect(w.visible).toBe(true)
    // No Node in the page; the bridge is exactly the contract.
    const seen = await page.evaluate(() => {
      const g = globalThis as unknown as Record<string, unknown>
      return {
        require: typeof g.require,
        process: typeof g.process,
        module: typeof g.module,
        studio: Object.keys(g.studio as object).sort()
      }
    })
    expect(seen).toMatchObject({ require: 'undefined', process: 'undefined', module: 'undefined' })
    // Every method of the contract, and `on` for events: a method added to METHODS is expected here too.
    expect(seen.studio).toEqual([...METHODS, 'on'].sort())
    // A window.open is denied.
    expect(
      await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://evil.example/') === null)
    ).toBe(true)
  })

  it('starts a session on a small MNIST subset and labels one batch with key presses', async () => {
    await startSession(page, { poolLimit: 1000, testLimit: 500 })
    const batch = await page.getByTestId('query-image').count()
    expect(batch).toBeGreaterThan(0)
    for (let k = 0; k < batch; k++) await page.keyboard.press(k % 2 ? 'e' : 'o')
    await expect.poll(async () => Number(await page.getByTestId('status-iteration').textContent()), { timeout: 60_000 }).toBe(1)
    expect(await page.getByTestId('status-labels').textContent()).toBe(String(batch))
  })

  it('exports the model from File > Export Model…', async () => {
    const out = join(userData, 'exported')
    await app.evaluate(({ Menu }) => Menu.getApplicationMenu()?.getMenuItemById('export-model')?.click())
    await page.getByTestId('export-dialog').waitFor()
    await page.getByTestId('field-export-path').fill(out)
    await page.getByTestId('btn-export-run').click()
    await page.getByTestId('export-result').waitFor({ timeout: 60_000 })
    for (const f of ['model.json', 'metadata.json', 'labels.csv']) expect(existsSync(join(out, f)), f).toBe(true)
    const labels = readFileSync(join(out, 'labels.csv'), 'utf8').trim().split('\n')
    expect(labels.length - 1).toBe(Number(await page.getByTestId('status-labels').textContent()))
  })

  it('a second launch hands over to the running instance and exits', async () => {
    const second = spawn((findElectron() as { path: string }).path, args(), { cwd: ROOT, env: env(), stdio: 'ignore' })
    const code = await new Promise<number | null>((ok, fail) => {
      const timer = setTimeout(() => {
        second.kill()
        fail(new Error('the second instance kept running'))
      }, 30_000)
      second.once('exit', (c) => {
        clearTimeout(timer)
        ok(c)
      })
    })
    expect(code).toBe(0)
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1)
  })
})
