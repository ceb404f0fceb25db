// Starts real browser mode (the built CLI) and Debian's Chromium, for end-to-end tests and the UI benchmark.
import { spawn, ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, Browser, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface Studio {
  url: string
  dataDir: string
  child: ChildProcess
  browser: Browser
  page: Page
  /** What the page's CSP refused (console errors), e.g. a script or socket it does not allow. */
  cspViolations: string[]
  stop(): Promise<void>
}

export interface Served {
  url: string
  child: ChildProcess
  /** Ends the server: SIGTERM (a clean stop) or SIGKILL (a crash); resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `curator serve` (the built CLI) on a data folder; resolves with the address it printed. */
export async function startServe(dataDir: string, args: string[] = ['--port', '0']): Promise<Served> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/curator.js'), 'serve', '--data-dir', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, CURATOR_CACHE_DIR: process.env.CURATOR_CACHE_DIR ?? join(tmpdir(), 'curator-e2e-cache') },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let errors = ''
  child.stderr!.on('data', (c) => (errors += c))
  const url = await new Promise<string>((ok, fail) => {
    let out = ''
    child.stdout!.on('data', (c) => {
      out += c
      const m = /Curator is ready at (\S+)/.exec(out)
      if (m) ok(m[1])
    })
    child.once('exit', (code) => fail(new Error(`curator serve exited with ${code}: ${errors}`)))
  })
  const exited = new Promise((r) => child.once('exit', r))
  return {
    url,
    child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

/** Debian's Chromium, headless, with one page; `cspViolations` collects what the page's CSP refused. */
export async function openBrowser(): Promise<{ browser: Browser; page: Page; cspViolations: string[] }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const cspViolations: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text())
  })
  return { browser, page, cspViolations }
}

export async function startStudio(extraArgs: string[] = []): Promise<Studio> {
  const dataDir = mkdtempSync(join(tmpdir(), 'curator-e2e-'))
  const served = await startServe(dataDir, ['--port', '0', ...extraArgs])
  const { url, child } = served
  // A browser that cannot start (none installed) must not leave the server running.
  const { browser, page, cspViolations } = await openBrowser().catch(async (err: unknown) => {
    await served.stop()
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  })
  return {
    url,
    dataDir,
    child,
    browser,
    page,
    cspViolations,
    async stop() {
      await browser.close()
      await served.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export interface StartOptions {
  poolLimit: number
  testLimit: number
  strategy?: string
  dataset?: string
  positiveClasses?: string
  batchSize?: number
  /** Runs once the form is filled, just before Start is clicked (the UI benchmark starts its clock there). */
  beforeClick?: () => Promise<void>
}

/** Fills the start form with a small MNIST subset (or another dataset) and starts a session. */
export async function startSession(page: Page, opts: StartOptions): Promise<void> {
  await clickStart(page, opts)
  await page.getByTestId('view-label').waitFor({ timeout: 120_000 })
  await page.getByTestId('query-image').first().waitFor()
}

/** Fills the start form and clicks Start, without waiting for the session to open. */
export async function clickStart(page: Page, opts: StartOptions): Promise<void> {
  await page.getByTestId('view-start').waitFor()
  if (opts.dataset !== undefined) await page.getByTestId('field-dataset').fill(opts.dataset)
  if (opts.positiveClasses !== undefined) await page.getByTestId('field-positive-classes').fill(opts.positiveClasses)
  if (opts.batchSize !== undefined) await page.getByTestId('field-batch-size').fill(String(opts.batchSize))
  // Open "Advanced" as a person would, and look that it is open: a re-render can replace the section.
  const advanced = page.getByTestId('view-start').locator('details.advanced').first()
  for (let i = 0; i < 3 && !(await advanced.evaluate((d) => (d as unknown as { open: boolean }).open)); i++)
    await advanced.locator('summary').click()
  await page.getByTestId('field-pool-limit').fill(String(opts.poolLimit))
  await page.getByTestId('field-test-limit').fill(String(opts.testLimit))
  if (opts.strategy) await page.getByTestId('field-strategy').selectOption(opts.strategy)
  await opts.beforeClick?.()
  await page.getByTestId('btn-start').click()
}
