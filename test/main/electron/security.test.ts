// The desktop security checklist, one describe per item. Electron's objects are fakes
// (fakes.ts); what is under test is the app's own factories and guards.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BrowserWindow, IpcMain, Session, WebContents } from 'electron'
import { channel, DEFAULT_CONFIG, METHODS, StudioApi, StudioBridge } from '../../../src/shared/contract'
import { registerStudioHandlers } from '../../../src/main/electron/ipc'
import { PathGrants } from '../../../src/main/electron/grants'
import { CALLS, NAMED_PATHS } from '../../../src/shared/schema'
import { ApiError, bridgeClient } from '../../../src/renderer/src/api/bridge'
import { CuratorError } from '../../../src/shared/errors'
import { appPaths, userDataOverride } from '../../../src/main/electron/paths'
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
import { APP_HEADERS, APP_PAGE, APP_SCHEME_PRIVILEGES, appFileFor, appResponse } from '../../../src/main/electron/scheme'
import { fakeEvent, fakeFrame, FakeIpcMain, FakeSession, FakeWebContents } from './fakes'

const ROOT = resolve(__dirname, '../../..')
// Where a packaged app's files are: resources/app.asar/out/{main,renderer}.
const MAIN_DIR = '/opt/Curator/resources/app.asar/out/main'
const PATHS = appPaths(MAIN_DIR)
const APP: RendererTarget = { kind: 'app', url: APP_PAGE, dir: PATHS.rendererDir }
const APP_URL = APP_PAGE
const DEV: RendererTarget = { kind: 'url', url: 'http://localhost:5173' }
const SECRET = 'top secret: outside the renderer folder'
/** Requests of the app's scheme that try to leave the renderer folder or name another host. */
const SCHEME_ESCAPES = [
  'curator://app/../secret.txt',
  'curator://app/%2e%2e/secret.txt',
  'curator://app/..%2fsecret.txt',
  'curator://app/%2e%2e%2fsecret.txt',
  'curator://app/assets/..%2f..%2fsecret.txt',
  'curator://app/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
  'curator://app/%2fetc%2fpasswd',
  'curator://app/..%5csecret.txt',
  'curator://app/..%2frenderer-evil%2fx.js',
  'curator://app/assets/link.txt',
  'curator://app/assets/%00.js',
  'curator://app/%E0%A4%A',
  'curator://evil/index.html',
  'curator://app.evil/index.html',
  'curator://user:pw@app/index.html',
  'file:///etc/passwd',
  'https://app/index.html',
  'not a url'
]

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

/** A Content-Security-Policy header value as directive -> sources. */
function cspOf(header: string): Map<string, string[]> {
  const policy = new Map<string, string[]>()
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (!name) continue
    expect(policy.has(name.toLowerCase()), `directive ${name} given twice`).toBe(false)
    policy.set(name.toLowerCase(), sources)
  }
  return policy
}

describe("the renderer CSP, sent as a header by the app's scheme (no WebSocket on desktop: IPC)", () => {
  const csp = cspOf(APP_HEADERS['Content-Security-Policy'])

  it("default-src is 'self'", () => {
    expect(csp.get('default-src')).toEqual(["'self'"])
  })
  it("script-src is 'self' only: no inline script, no eval, no hosts", () => {
    expect(csp.get('script-src')).toEqual(["'self'"])
  })
  it("no directive allows 'unsafe-eval'", () => {
    for (const [name, sources] of csp) expect(sources, name).not.toContain("'unsafe-eval'")
  })
  it("connect-src is 'self' only: no ws: or wss: source", () => {
    expect(csp.get('connect-src')).toEqual(["'self'"])
    for (const [name, sources] of csp) for (const src of sources) expect(src, name).not.toMatch(/^wss?:/)
  })
  it("object-src is 'none' (no plugins), frame-ancestors 'none' (never framed)", () => {
    expect(csp.get('object-src')).toEqual(["'none'"])
    expect(csp.get('frame-ancestors')).toEqual(["'none'"])
  })
  it("base-uri and form-action are 'none'", () => {
    for (const d of ['base-uri', 'form-action']) expect(csp.get(d), d).toEqual(["'none'"])
  })
  it('names no host anywhere (no remote content)', () => {
    const local = (s: string) => ["'self'", "'none'", "'unsafe-inline'", 'data:', 'blob:'].includes(s)
    for (const [name, sources] of csp) for (const s of sources) expect(local(s), `${name} ${s}`).toBe(true)
    for (const [name, sources] of csp) if (name !== 'style-src') expect(sources, name).not.toContain("'unsafe-inline'")
  })
  it('index.html holds no CSP of its own (the header is the one policy; a meta tag cannot say frame-ancestors), and no inline or remote script', () => {
    const html = readFileSync(join(ROOT, 'src/renderer/index.html'), 'utf8')
    expect(html).not.toMatch(/http-equiv\s*=\s*["']content-security-policy/i)
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

describe("the app's scheme (curator://app/) serves the renderer folder and nothing else", () => {
  let tmp: string
  let renderer: string
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'curator-scheme-'))
    renderer = join(tmp, 'renderer')
    mkdirSync(join(renderer, 'assets'), { recursive: true })
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Curator</title>')
    writeFileSync(join(renderer, 'assets', 'index-abc.js'), 'console.log(1)')
    writeFileSync(join(tmp, 'secret.txt'), SECRET)
    mkdirSync(join(tmp, 'renderer-evil'))
    writeFileSync(join(tmp, 'renderer-evil', 'x.js'), SECRET)
    symlinkSync(join(tmp, 'secret.txt'), join(renderer, 'assets', 'link.txt'))
  })
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  it('answers the page and its assets with their type and the CSP header', async () => {
    for (const url of [APP_PAGE, 'curator://app/', `${APP_PAGE}?x=1#/label`]) {
      const r = await appResponse(url, renderer)
      expect(r.status, url).toBe(200)
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(r.headers.get('content-security-policy')).toBe(APP_HEADERS['Content-Security-Policy'])
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await r.text()).toContain('<title>Curator</title>')
    }
    const js = await appResponse('curator://app/assets/index-abc.js', renderer)
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8'])
  })
  it.each([...SCHEME_ESCAPES])('refuses %s (404, never a byte from outside the folder)', async (url) => {
    const r = await appResponse(url, renderer)
    expect(r.status).toBe(404)
    expect(r.headers.get('content-security-policy')).toBe(APP_HEADERS['Content-Security-Policy'])
    expect(await r.text()).not.toContain(SECRET)
  })
  it('appFileFor keeps every path inside the folder, and the request filter asks only for those', () => {
    for (const url of SCHEME_ESCAPES) {
      const file = appFileFor(url, renderer)
      if (file !== null) expect(file.startsWith(renderer + '/'), `${url} -> ${file}`).toBe(true)
    }
    expect(appFileFor('curator://app/assets/index-abc.js', renderer)).toBe(join(renderer, 'assets', 'index-abc.js'))
    const target: RendererTarget = { kind: 'app', url: APP_PAGE, dir: renderer }
    expect(isAllowedRequest('curator://app/assets/index-abc.js', target)).toBe(true)
    expect(isAllowedRequest('curator://app/..%2fsecret.txt', target)).toBe(false)
    expect(isAllowedRequest('curator://evil/index.html', target)).toBe(false)
  })
  it('is registered as a standard, secure scheme (its own origin) with fetch, and no CSP bypass', () => {
    expect(APP_SCHEME_PRIVILEGES).toEqual({
      scheme: 'curator',
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true }
    })
    expect(APP_SCHEME_PRIVILEGES.privileges).not.toHaveProperty('bypassCSP')
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
    const grants = new PathGrants('/data')
    registerStudioHandlers(ipc as unknown as IpcMain, rec.studio, () => asContents, APP, grants)
    return { ipc, grants, ...rec }
  }

  it("through the real IPC handlers, the renderer's client gets a failed call's code, message and details", async () => {
    const handlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>()
    const ipc = { handle: (ch: string, h: (event: unknown, ...args: unknown[]) => Promise<unknown>) => void handlers.set(ch, h) }
    const frame = { url: APP_URL, routingId: 1, processId: 1, parent: null }
    const failing = Object.fromEntries(
      METHODS.map((m) => [
        m,
        async () => {
          throw new CuratorError('NOT_FOUND', 'No session log in /x', { dir: '/x' })
        }
      ])
    ) as unknown as StudioApi
    const grants = new PathGrants('/data')
    grants.grant('/x')
    registerStudioHandlers(ipc as never, failing, () => ({ mainFrame: frame }) as never, APP, grants)
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

describe('paths over IPC: only folders chosen in a dialog this run, and the data folder', () => {
  it('PathGrants: the data folder and granted folders with what is inside; no way out by .., a prefix or a relative path', () => {
    const g = new PathGrants('/home/u/.config/Curator')
    g.grant('/home/u/chosen')
    for (const p of [
      '/home/u/.config/Curator',
      '/home/u/.config/Curator/sessions/s1',
      '/home/u/chosen',
      '/home/u/chosen/a/b.gif',
      '/home/u/chosen/./x/../y'
    ])
      expect(g.allows(p), p).toBe(true)
    for (const p of [
      '/home/u',
      '/home/u/chosen-evil',
      '/home/u/chosen/../secret',
      '/home/u/chosen/../../../etc/passwd',
      '/home/u/.config/Curator/../other',
      '/etc',
      '/',
      'relative/path'
    ])
      expect(g.allows(p), p).toBe(false)
  })

  it('names every argument that is a path or a dataset, for every call (the schema lists them: NAMED_PATHS)', () => {
    for (const [m, c] of Object.entries(CALLS)) {
      const namesPaths = c.names.some((n) => /folder|file|dataset|config/.test(n))
      expect(m in NAMED_PATHS, `${m}(${c.names.join(', ')})`).toBe(namesPaths)
    }
  })

  it('a call naming a path outside them is FORBIDDEN and never reaches the studio; inside, it does', async () => {
    const ipc = new FakeIpcMain()
    const rec = recordingStudio()
    const main = fakeFrame(APP_URL)
    const grants = new PathGrants('/data')
    registerStudioHandlers(ipc as unknown as IpcMain, rec.studio, () => new FakeWebContents(main) as unknown as WebContents, APP, grants)
    const refused: [string, unknown[]][] = [
      ['openSession', ['/home/u/sessions/s1']],
      ['openSession', ['/data/../home/u/sessions/s1']],
      ['replay', ['/etc']],
      ['exportGif', ['/data/sessions/s1', '/home/u/.bashrc']],
      ['exportGif', ['/home/u/s1']],
      ['exportModel', ['/home/u/Documents']],
      ['chooseBase', ['/opt/models/evil']],
      ['newSession', [{ ...DEFAULT_CONFIG, dataset: 'folder:/home/u/Pictures' }]],
      ['newSession', [{ ...DEFAULT_CONFIG, dataset: 'idx:/etc?testFraction=0.2' }]],
      ['inspectDataset', ['folder:/home/u/Pictures']]
    ]
    for (const [m, args] of refused) {
      const reply = await ipc.invoke(channel(m as never), main, ...args)
      expect(reply, `${m}(${JSON.stringify(args)})`).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN', message: /chose with Choose/ }
      })
    }
    expect(rec.calls).toEqual([])
    // What a dialog returned, the data folder, and calls that name no path.
    grants.grant('/home/u/Pictures')
    const allowed: [string, unknown[]][] = [
      ['newSession', [{ ...DEFAULT_CONFIG, dataset: 'folder:/home/u/Pictures/cats' }]],
      ['newSession', [DEFAULT_CONFIG]],
      ['inspectDataset', ['folder:/home/u/Pictures']],
      ['openSession', ['/data/sessions/s1']],
      ['exportGif', ['/data/sessions/s1', '/home/u/Pictures/s1.gif']],
      ['exportModel', []],
      ['chooseBase', [null]]
    ]
    for (const [m, args] of allowed) {
      const reply = await ipc.invoke(channel(m as never), main, ...args)
      expect(reply, `${m}(${JSON.stringify(args)})`).toMatchObject({ ok: true })
    }
    expect(rec.calls.map((c) => c.method)).toEqual(allowed.map(([m]) => m))
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
    pathToFileURL(join(PATHS.rendererDir, 'index.html')).href,
    'curator://app/other.html',
    'curator://evil/index.html',
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
  it('a packaged app loads curator://app/index.html, whatever ELECTRON_RENDERER_URL says', () => {
    for (const devUrl of [undefined, 'http://localhost:5173', 'https://evil.example/']) {
      expect(rendererTarget({ packaged: true, devUrl, rendererDir: PATHS.rendererDir })).toEqual({
        kind: 'app',
        url: 'curator://app/index.html',
        dir: '/opt/Curator/resources/app.asar/out/renderer'
      })
    }
  })
  it('unpackaged, the dev server is used only on loopback', () => {
    expect(rendererTarget({ packaged: false, devUrl: 'http://localhost:5173', rendererDir: '/x' })).toEqual(DEV)
    expect(rendererTarget({ packaged: false, devUrl: 'http://127.0.0.1:5173/', rendererDir: '/x' }).kind).toBe('url')
    for (const devUrl of [
      'https://evil.example/',
      'http://localhost:5173@evil.example/',
      'http://user:pw@localhost:5173/',
      'file:///tmp/index.html',
      'javascript:alert(1)',
      undefined
    ]) {
      expect(rendererTarget({ packaged: false, devUrl, rendererDir: '/x' }), String(devUrl)).toEqual({
        kind: 'app',
        url: APP_PAGE,
        dir: '/x'
      })
    }
  })
  it('the window loads the target with loadURL: the app page, or the dev server; never a file', async () => {
    const win = { loadFile: vi.fn(async () => {}), loadURL: vi.fn(async () => {}) }
    await loadRenderer(win as unknown as BrowserWindow, APP)
    expect(win.loadURL).toHaveBeenCalledWith('curator://app/index.html')
    await loadRenderer(win as unknown as BrowserWindow, DEV)
    expect(win.loadURL).toHaveBeenCalledWith('http://localhost:5173')
    expect(win.loadFile).not.toHaveBeenCalled()
  })
  it('index.ts loads the window only through loadRenderer(rendererTarget(...))', () => {
    const src = readFileSync(join(ROOT, 'src/main/index.ts'), 'utf8').replace(/\/\/.*$/gm, '')
    expect(src).not.toMatch(/\.load(URL|File)\s*\(/)
    expect(src).toMatch(/loadRenderer\(\s*win\s*,\s*target\s*\)/)
    expect(src).toMatch(/rendererTarget\(/)
    expect(src).toMatch(/blockRemoteRequests\(\s*session\.defaultSession/)
    expect(src).toMatch(/denyPermissions\(\s*session\.defaultSession/)
    expect(src).toMatch(/'web-contents-created'[^\n]*hardenContents/)
    expect(src).toMatch(/protocol\.registerSchemesAsPrivileged\(\[APP_SCHEME_PRIVILEGES\]\)/)
    expect(src).toMatch(/protocol\.handle\(APP_SCHEME, \(request\) => appResponse\(request\.url, paths\.rendererDir\)\)/)
  })
  it("the session lets through only the app's own files (and data/blob), or the dev server in development", () => {
    const s = new FakeSession()
    blockRemoteRequests(s as unknown as Session, APP)
    expect(s.fetch(APP_URL)).toBe(true)
    expect(s.fetch('curator://app/assets/index-abc.js')).toBe(true)
    expect(s.fetch('data:image/png;base64,AAAA')).toBe(true)
    expect(s.fetch('blob:curator://app/0b1e4c8a')).toBe(true)
    for (const url of [
      // file:// is never asked for any more, not even the built files
      pathToFileURL('/opt/Curator/resources/app.asar/out/renderer/assets/index-abc.js').href,
      'curator://app/..%2fmain%2findex.js',
      'curator://other/index.html',
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
  it('isAppUrl is exact: curator://app/index.html (any route), nothing next to it', () => {
    expect(isAppUrl(`${APP_URL}?x=1#/label`, APP)).toBe(true)
    expect(isAllowedRequest(`${APP_URL}`, APP)).toBe(true)
    for (const url of [
      'curator://app/assets/index.js',
      'curator://app/index.html.evil',
      'curator://evil/index.html',
      'curator://user@app/index.html',
      pathToFileURL(join(PATHS.rendererDir, 'index.html')).href
    ])
      expect(isAppUrl(url, APP), url).toBe(false)
  })
})

describe('CURATOR_USER_DATA_DIR', () => {
  it('is honoured only unpackaged; a relative value is resolved against the working folder', () => {
    expect(userDataOverride('/tmp/profile', false)).toBe('/tmp/profile')
    expect(userDataOverride('profile', false, '/home/u/work')).toBe('/home/u/work/profile')
    expect(userDataOverride('../p', false, '/home/u/work')).toBe('/home/u/p')
    for (const v of ['/tmp/profile', 'profile', '../../etc']) expect(userDataOverride(v, true), v).toBeNull()
    expect(userDataOverride(undefined, false)).toBeNull()
    expect(userDataOverride('', false)).toBeNull()
  })
  it('index.ts sets userData only from userDataOverride(…, app.isPackaged)', () => {
    const src = readFileSync(join(ROOT, 'src/main/index.ts'), 'utf8').replace(/\/\/.*$/gm, '')
    expect(src).toMatch(/userDataOverride\(process\.env\.CURATOR_USER_DATA_DIR, app\.isPackaged\)/)
    expect(src.match(/app\.setPath\(/g)).toHaveLength(1)
    expect(src).toMatch(/if \(profile\) app\.setPath\('userData', profile\)/)
  })
})

describe('app paths', () => {
  it('preload, page and icon sit where electron-vite and electron-builder put them', () => {
    expect(PATHS).toEqual({
      preload: '/opt/Curator/resources/app.asar/out/preload/index.js',
      rendererDir: '/opt/Curator/resources/app.asar/out/renderer',
      // The OS reads the icon by path, so it comes from the unpacked copy (asarUnpack: resources/**).
      icon: '/opt/Curator/resources/app.asar.unpacked/resources/icon.png'
    })
    expect(appPaths(join(ROOT, 'out/main')).icon).toBe(join(ROOT, 'resources/icon.png'))
  })
})
