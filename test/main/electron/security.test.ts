// The desktop security checklist, one describe per item. Electron's objects are fakes
// (fakes.ts); what is under test is the app's own factories and guards.
import { describe, expect, it, vi } from 'vitest'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BrowserWindow, IpcMain, Session, WebContents } from 'electron'
import { channel, DEFAULT_CONFIG, METHODS, StudioApi, StudioBridge } from '../../../src/shared/contract'
import { registerStudioHandlers } from '../../../src/main/electron/ipc'
import { ApiError, bridgeClient } from '../../../src/renderer/src/api/bridge'
import { CuratorError } from '../../../src/shared/errors'
import { appPaths } from '../../../src/main/electron/paths'
import {
  blockRemoteRequests,
  denyPermissions,
  hardenContents,
  isAllowedExternal,
  isAllowedRequest,
  isAppUrl,
  isTrustedSender,
  loadRenderer,
  rendererTarget,
  RendererTarget,
  windowOptions
} from '../../../src/main/electron/security'
import { fakeEvent, fakeFrame, FakeIpcMain, FakeSession, FakeWebContents } from './fakes'

const ROOT = resolve(__dirname, '../../..')
// Where a packaged app's files are: resources/app.asar/out/{main,renderer}.
const MAIN_DIR = '/opt/Curator/resources/app.asar/out/main'
const PATHS = appPaths(MAIN_DIR)
const APP: RendererTarget = { kind: 'file', file: PATHS.rendererIndex }
const APP_URL = pathToFileURL(PATHS.rendererIndex).href
const DEV: RendererTarget = { kind: 'url', url: 'http://localhost:5173' }

describe('window options: isolated, sandboxed, no Node in the page', () => {
  const o = windowOptions('/app/out/preload/index.js', { width: 1200, height: 800 })
  it('sets contextIsolation, sandbox, no nodeIntegration, no webview, web security on', () => {
    expect(o.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false
    })
  })
  it('starts hidden (shown on ready-to-show, so no white flash)', () => {
    expect(o.show).toBe(false)
    expect(o.backgroundColor).toMatch(/^#/)
  })
  it('sets the icon only when given (Linux), and a position only when both coordinates are known', () => {
    expect(o).not.toHaveProperty('icon')
    expect(o).not.toHaveProperty('x')
    expect(windowOptions('/p.js', { width: 1000, height: 700 }, '/icon.png').icon).toBe('/icon.png')
    expect(windowOptions('/p.js', { width: 1000, height: 700, x: 10 })).not.toHaveProperty('x')
    expect(windowOptions('/p.js', { width: 1000, height: 700, x: 10, y: 20 })).toMatchObject({ x: 10, y: 20 })
  })
})

/** The Content-Security-Policy meta tag of an HTML file, as directive -> sources. */
function cspOf(html: string): Map<string, string[]> {
  const metas = [...html.matchAll(/<meta\b[^>]*>/gis)]
    .map((m) => m[0])
    .filter((m) => /http-equiv\s*=\s*["']content-security-policy["']/i.test(m))
  expect(metas, 'exactly one CSP meta tag').toHaveLength(1)
  const content = /\bcontent\s*=\s*"([^"]*)"|\bcontent\s*=\s*'([^']*)'/is.exec(metas[0])
  expect(content, 'the CSP meta tag has a content attribute').not.toBeNull()
  const policy = new Map<string, string[]>()
  for (const part of (content![1] ?? content![2]).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (!name) continue
    expect(policy.has(name.toLowerCase()), `directive ${name} given twice`).toBe(false)
    policy.set(name.toLowerCase(), sources)
  }
  return policy
}

describe('the renderer CSP (src/renderer/index.html)', () => {
  const html = readFileSync(join(ROOT, 'src/renderer/index.html'), 'utf8')
  const csp = cspOf(html)
  const LOOPBACK_WS = /^wss?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:(\*|\d+))?$/

  it("default-src is 'self'", () => {
    expect(csp.get('default-src')).toEqual(["'self'"])
  })
  it("script-src is 'self' only: no inline script, no eval, no hosts", () => {
    expect(csp.get('script-src')).toEqual(["'self'"])
  })
  it("no directive allows 'unsafe-eval'", () => {
    for (const [name, sources] of csp) expect(sources, name).not.toContain("'unsafe-eval'")
  })
  it("connect-src is 'self' plus WebSockets on loopback only", () => {
    const sources = csp.get('connect-src')
    expect(sources).toContain("'self'")
    for (const s of sources!) expect(s === "'self'" || LOOPBACK_WS.test(s), s).toBe(true)
  })
  it("object-src is 'none' (no plugins)", () => {
    expect(csp.get('object-src')).toEqual(["'none'"])
  })
  it("base-uri and form-action are locked ('self' or 'none')", () => {
    for (const d of ['base-uri', 'form-action']) {
      const v = csp.get(d)
      expect(v, d).toBeDefined()
      expect(
        v!.every((s) => s === "'self'" || s === "'none'"),
        `${d}: ${v}`
      ).toBe(true)
    }
  })
  it('names no remote host anywhere (no remote content)', () => {
    const local = (s: string) => ["'self'", "'none'", "'unsafe-inline'", 'data:', 'blob:'].includes(s) || LOOPBACK_WS.test(s)
    for (const [name, sources] of csp) for (const s of sources) expect(local(s), `${name} ${s}`).toBe(true)
    for (const [name, sources] of csp) if (name !== 'style-src') expect(sources, name).not.toContain("'unsafe-inline'")
  })
  it('the page loads no script from elsewhere and has no inline script', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      const src = /\bsrc\s*=\s*["']([^"']+)["']/i.exec(attrs)?.[1]
      expect(src, 'every script has a src').toBeDefined()
      expect(src!, 'script src is relative').not.toMatch(/^[a-z][a-z0-9+.-]*:|^\/\//i)
      expect(body.trim()).toBe('')
    }
  })
})

/** A studio that records calls; the guard is under test, not the studio. */
function recordingStudio(): { studio: StudioApi; calls: { method: string; args: unknown[] }[] } {
  const calls: { method: string; args: unknown[] }[] = []
  const studio = Object.fromEntries(
    METHODS.map((m) => [
      m,
      async (...args: unknown[]) => {
        calls.push({ method: m, args })
        return { method: m }
      }
    ])
  ) as unknown as StudioApi
  return { studio, calls }
}

describe('IPC sender validation', () => {
  const main = fakeFrame(APP_URL)
  const contents = new FakeWebContents(main)
  const asContents = contents as unknown as WebContents

  it("isTrustedSender: the app's main frame on the app's page is trusted", () => {
    expect(isTrustedSender(main, asContents, APP)).toBe(true)
    expect(isTrustedSender({ ...main, url: `${APP_URL}#/label` }, asContents, APP)).toBe(true) // same frame (ids), other route
  })
  it('isTrustedSender: a subframe, a frame on https://evil.example, another page, null: refused', () => {
    expect(isTrustedSender(fakeFrame(APP_URL, { parent: main }), asContents, APP)).toBe(false)
    expect(isTrustedSender({ ...main, url: 'https://evil.example/' }, asContents, APP)).toBe(false)
    expect(isTrustedSender(fakeFrame('https://evil.example/'), asContents, APP)).toBe(false)
    expect(isTrustedSender(fakeFrame(APP_URL), asContents, APP)).toBe(false) // another window's main frame
    expect(isTrustedSender({ ...main, url: 'file:///etc/passwd' }, asContents, APP)).toBe(false)
    expect(isTrustedSender({ ...main, url: 'file://evil.example/share/index.html' }, asContents, APP)).toBe(false)
    expect(isTrustedSender(null, asContents, APP)).toBe(false)
    expect(isTrustedSender(undefined, asContents, APP)).toBe(false)
    expect(isTrustedSender(main, null, APP)).toBe(false)
  })
  it('isTrustedSender in development: the dev server origin only', () => {
    const dev = fakeFrame('http://localhost:5173/')
    const devContents = new FakeWebContents(dev) as unknown as WebContents
    expect(isTrustedSender(dev, devContents, DEV)).toBe(true)
    for (const url of [
      'http://localhost:5173@evil.example/',
      'http://localhost:51730/',
      'http://127.0.0.1:5173/',
      'https://evil.example/',
      APP_URL
    ]) {
      expect(isTrustedSender({ ...dev, url }, devContents, DEV), url).toBe(false)
    }
  })

  const setup = () => {
    const ipc = new FakeIpcMain()
    const rec = recordingStudio()
    registerStudioHandlers(ipc as unknown as IpcMain, rec.studio, () => asContents, APP)
    return { ipc, ...rec }
  }

  it("through the real IPC handlers, the renderer's client gets a failed call's code, message and details", async () => {
    const handlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>()
    const ipc = { handle: (ch: string, h: (event: unknown, ...args: unknown[]) => Promise<unknown>) => void handlers.set(ch, h) }
    const frame = { url: 'file:///app/index.html', routingId: 1, processId: 1, parent: null }
    const failing = Object.fromEntries(
      METHODS.map((m) => [
        m,
        async () => {
          throw new CuratorError('NOT_FOUND', 'No session log in /x', { dir: '/x' })
        }
      ])
    ) as unknown as StudioApi
    registerStudioHandlers(ipc as never, failing, () => ({ mainFrame: frame }) as never, { kind: 'file', file: '/app/index.html' })
    // What the preload exposes: each method invokes its channel and answers the reply as is.
    const b = Object.fromEntries(
      METHODS.map((m) => [m, (...args: unknown[]) => handlers.get(channel(m))!({ senderFrame: frame }, ...args)])
    )
    const client = bridgeClient({ ...b, on: () => () => {} } as unknown as StudioBridge)
    await expect(client.openSession('/x')).rejects.toMatchObject({
      name: 'ApiError',
      code: 'NOT_FOUND',
      message: 'No session log in /x',
      details: { dir: '/x' }
    })
    // A malformed call is refused by the schema before the studio; its problems travel too.
    const bad = await client.label('7' as never, 1, 250).catch((e: ApiError) => e)
    expect(bad).toMatchObject({ code: 'BAD_ARGUMENT' })
    expect((bad as ApiError).details?.problems).toHaveLength(1)
  })

  it('registers one handler per contract method', () => {
    const { ipc } = setup()
    expect([...ipc.handlers.keys()].sort()).toEqual(METHODS.map((m) => channel(m)).sort())
  })
  it('a call from a foreign frame gets FORBIDDEN and never reaches the studio', async () => {
    const { ipc, calls } = setup()
    for (const frame of [fakeFrame('https://evil.example/'), fakeFrame(APP_URL, { parent: main }), null]) {
      for (const m of ['info', 'newSession', 'exportModel'] as const) {
        const reply = await ipc.invoke(channel(m), frame, ...(m === 'newSession' ? [DEFAULT_CONFIG] : []))
        expect(reply).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
      }
    }
    expect(calls).toEqual([])
  })
  it('the app frame reaches the studio with validated arguments', async () => {
    const { ipc, calls } = setup()
    expect(await ipc.invoke(channel('info'), main)).toEqual({ ok: true, result: { method: 'info' } })
    expect(await ipc.invoke(channel('label'), main, 7, 1, 250)).toEqual({ ok: true, result: { method: 'label' } })
    expect(calls).toEqual([
      { method: 'info', args: [] },
      { method: 'label', args: [7, 1, 250] }
    ])
  })
  it('malformed arguments from the app frame get BAD_ARGUMENT and never reach the studio', async () => {
    const { ipc, calls } = setup()
    const bad: [string, unknown[]][] = [
      ['label', ['7', 1, 250]],
      ['label', [7, 2, 250]],
      ['label', [7, 1, -1]],
      ['newSession', [{ ...DEFAULT_CONFIG, batchSize: 1000 }]],
      ['newSession', ['mnist']],
      ['openSession', [{ dir: '/tmp' }]],
      ['pickFolder', ['home']],
      ['info', ['extra']]
    ]
    for (const [m, args] of bad) {
      const reply = await ipc.invoke(channel(m as never), main, ...args)
      expect(reply, `${m}(${JSON.stringify(args)})`).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } })
    }
    expect(calls).toEqual([])
  })
})

describe('navigation, popups and <webview> are denied', () => {
  const setup = (target: RendererTarget = APP) => {
    const contents = new FakeWebContents(fakeFrame(APP_URL))
    const opened: string[] = []
    hardenContents(contents as unknown as WebContents, target, (url) => opened.push(url))
    return { contents, opened }
  }
  const foreign = [
    'https://evil.example/',
    'http://localhost:5173/',
    'file:///etc/passwd',
    `${pathToFileURL('/opt/Curator/resources/app.asar/out/renderer/other.html').href}`,
    'javascript:alert(1)',
    'data:text/html,<h1>x</h1>',
    'not a url'
  ]

  for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate'] as const) {
    it(`${event}: a foreign URL is prevented, the app's own page is allowed`, () => {
      const { contents } = setup()
      for (const url of foreign) expect(contents.navigate(event, url), url).toBe(true)
      expect(contents.navigate(event, APP_URL)).toBe(false)
      expect(contents.navigate(event, `${APP_URL}#/replay`)).toBe(false)
      expect(contents.navigate(event, 'devtools://devtools/bundled/devtools_app.html'), 'the DevTools window (development)').toBe(false)
    })
  }
  it('in development the dev server is the app, and only its origin', () => {
    const { contents } = setup(DEV)
    expect(contents.navigate('will-navigate', 'http://localhost:5173/#/label')).toBe(false)
    for (const url of ['http://localhost:5173@evil.example/', 'http://localhost:5174/', 'https://evil.example/', APP_URL])
      expect(contents.navigate('will-navigate', url), url).toBe(true)
  })
  it('setWindowOpenHandler always denies; only allow-listed https links go to the browser', () => {
    const { contents, opened } = setup()
    for (const url of [
      'https://github.com/tensorflow/tfjs',
      'https://evil.example/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      APP_URL,
      'https://github.com.evil.example/'
    ]) {
      expect(contents.open(url), url).toEqual({ action: 'deny' })
    }
    expect(opened).toEqual(['https://github.com/tensorflow/tfjs'])
  })
  it('will-attach-webview is prevented', () => {
    const { contents } = setup()
    const e = fakeEvent()
    contents.emit('will-attach-webview', e, {}, { src: 'https://evil.example/' })
    expect(e.prevented).toBe(true)
  })
})

describe('permission requests are denied', () => {
  it('every permission asked for is refused, every check says no, devices are refused', async () => {
    const s = new FakeSession()
    denyPermissions(s as unknown as Session)
    for (const p of [
      'media',
      'geolocation',
      'notifications',
      'midiSysex',
      'clipboard-read',
      'display-capture',
      'openExternal',
      'fullscreen',
      'unknown'
    ]) {
      expect(await s.request(p), p).toBe(false)
      expect(s.checkHandler!({}, p, 'file://', {}), p).toBe(false)
    }
    expect(s.deviceHandler!({ deviceType: 'usb', origin: 'file://' })).toBe(false)
  })
  it('downloads started by the page are cancelled', () => {
    const s = new FakeSession()
    denyPermissions(s as unknown as Session)
    const e = fakeEvent()
    s.emit('will-download', e, {}, {})
    expect(e.prevented).toBe(true)
  })
})

describe('shell.openExternal only for allow-listed http(s) links', () => {
  it.each(['https://github.com/tensorflow/tfjs', 'https://www.tensorflow.org/js', 'https://js.tensorflow.org/api/latest/'])(
    'opens %s',
    (url) => {
      expect(isAllowedExternal(url)).toBe(true)
    }
  )
  it.each([
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/html,hi',
    'ftp://github.com/',
    'smb://github.com/share',
    'https://github.com.evil.example/',
    'https://evilgithub.com/',
    'https://github.co/',
    'https://github.com:8443/',
    'https://user:pass@github.com/',
    'https://evil.example/https://github.com',
    'http://github.com/', // the allow-list is https
    '//github.com/',
    'github.com',
    ''
  ])('refuses %s', (url) => {
    expect(isAllowedExternal(url)).toBe(false)
  })
})

describe('no remote content', () => {
  it('a packaged app loads its built index.html, whatever ELECTRON_RENDERER_URL says', () => {
    for (const devUrl of [undefined, 'http://localhost:5173', 'https://evil.example/']) {
      expect(rendererTarget({ packaged: true, devUrl, rendererIndex: PATHS.rendererIndex })).toEqual({
        kind: 'file',
        file: '/opt/Curator/resources/app.asar/out/renderer/index.html'
      })
    }
  })
  it('unpackaged, the dev server is used only on loopback', () => {
    expect(rendererTarget({ packaged: false, devUrl: 'http://localhost:5173', rendererIndex: '/x/index.html' })).toEqual(DEV)
    expect(rendererTarget({ packaged: false, devUrl: 'http://127.0.0.1:5173/', rendererIndex: '/x/index.html' }).kind).toBe('url')
    for (const devUrl of [
      'https://evil.example/',
      'http://localhost:5173@evil.example/',
      'http://user:pw@localhost:5173/',
      'file:///tmp/index.html',
      'javascript:alert(1)',
      undefined
    ]) {
      expect(rendererTarget({ packaged: false, devUrl, rendererIndex: '/x/index.html' }), String(devUrl)).toEqual({
        kind: 'file',
        file: '/x/index.html'
      })
    }
  })
  it('the window loads the target with loadFile, or loadURL for the dev server only', async () => {
    const win = { loadFile: vi.fn(async () => {}), loadURL: vi.fn(async () => {}) }
    await loadRenderer(win as unknown as BrowserWindow, APP)
    expect(win.loadFile).toHaveBeenCalledWith('/opt/Curator/resources/app.asar/out/renderer/index.html')
    expect(win.loadURL).not.toHaveBeenCalled()
    await loadRenderer(win as unknown as BrowserWindow, DEV)
    expect(win.loadURL).toHaveBeenCalledWith('http://localhost:5173')
    expect(win.loadFile).toHaveBeenCalledTimes(1)
  })
  it('index.ts loads the window only through loadRenderer(rendererTarget(...))', () => {
    const src = readFileSync(join(ROOT, 'src/main/index.ts'), 'utf8').replace(/\/\/.*$/gm, '')
    expect(src).not.toMatch(/\.load(URL|File)\s*\(/)
    expect(src).toMatch(/loadRenderer\(\s*win\s*,\s*target\s*\)/)
    expect(src).toMatch(/rendererTarget\(/)
    expect(src).toMatch(/blockRemoteRequests\(\s*session\.defaultSession/)
    expect(src).toMatch(/denyPermissions\(\s*session\.defaultSession/)
    expect(src).toMatch(/'web-contents-created'[^\n]*hardenContents/)
  })
  it("the session lets through only the app's own files (and data/blob), or the dev server in development", () => {
    const s = new FakeSession()
    blockRemoteRequests(s as unknown as Session, APP)
    expect(s.fetch(APP_URL)).toBe(true)
    expect(s.fetch(pathToFileURL('/opt/Curator/resources/app.asar/out/renderer/assets/index-abc.js').href)).toBe(true)
    expect(s.fetch('data:image/png;base64,AAAA')).toBe(true)
    expect(s.fetch('blob:file:///0b1e4c8a')).toBe(true)
    for (const url of [
      'https://cdn.example/x.js',
      'http://127.0.0.1:8080/',
      'ws://localhost:5173/',
      'file:///etc/passwd',
      pathToFileURL('/opt/Curator/resources/app.asar/out/main/index.js').href,
      'file://evil.example/share/x.js',
      'ftp://x/'
    ]) {
      expect(s.fetch(url), url).toBe(false)
    }
    const d = new FakeSession()
    blockRemoteRequests(d as unknown as Session, DEV)
    expect(d.fetch('http://localhost:5173/src/main.ts')).toBe(true)
    expect(d.fetch('ws://localhost:5173/?token=x')).toBe(true)
    for (const url of ['https://cdn.example/x.js', 'http://localhost:5174/', APP_URL]) expect(d.fetch(url), url).toBe(false)
  })
  it('isAppUrl is exact: the built index.html (any route), nothing next to it', () => {
    expect(isAppUrl(`${APP_URL}?x=1#/label`, APP)).toBe(true)
    expect(isAllowedRequest(`${APP_URL}`, APP)).toBe(true)
    expect(isAppUrl(pathToFileURL('/opt/Curator/resources/app.asar/out/renderer/assets/index.js').href, APP)).toBe(false)
    expect(isAppUrl('file:///opt/Curator/resources/app.asar/out/renderer/index.html.evil', APP)).toBe(false)
  })
})

describe('app paths', () => {
  it('preload, page and icon sit where electron-vite and electron-builder put them', () => {
    expect(PATHS).toEqual({
      preload: '/opt/Curator/resources/app.asar/out/preload/index.js',
      rendererIndex: '/opt/Curator/resources/app.asar/out/renderer/index.html',
      // The OS reads the icon by path, so it comes from the unpacked copy (asarUnpack: resources/**).
      icon: '/opt/Curator/resources/app.asar.unpacked/resources/icon.png'
    })
    expect(appPaths(join(ROOT, 'out/main')).icon).toBe(join(ROOT, 'resources/icon.png'))
  })
})
