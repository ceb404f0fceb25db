// The Electron shell (src/main/index.ts) run for real against a stand-in `electron` module:
// the real engine thread, studio, IPC binding, menu and guards, wired as the app wires them.
// Electron itself is not under test; the wiring is (what the window is made with, what it
// loads, that every guard is installed, that a call from the page reaches the studio).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { BrowserWindowConstructorOptions, MenuItemConstructorOptions } from 'electron'
import { channel, METHODS } from '../../../src/shared/contract'
import { APP_HEADERS, APP_SCHEME_PRIVILEGES } from '../../../src/main/electron/scheme'
import { fakeFrame, FakeIpcMain, FakeSession, FakeWebContents } from './fakes'

const SRC_MAIN = resolve(__dirname, '../../../src/main')

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events')
  const { pathToFileURL } = await import('node:url')
  const f = await import('./fakes')

  class App extends EventEmitter {
    isPackaged = false
    sandboxEnabled = false
    lockRequested = false
    quitCalls = 0
    paths = new Map<string, string>([['userData', '/nonexistent/default-user-data']])
    enableSandbox() {
      this.sandboxEnabled = true
    }
    setPath(name: string, value: string) {
      this.paths.set(name, value)
    }
    getPath(name: string) {
      return this.paths.get(name)!
    }
    requestSingleInstanceLock() {
      this.lockRequested = true
      return true
    }
    whenReady() {
      return Promise.resolve()
    }
    quit() {
      this.quitCalls++
    }
    exit(code: number) {
      throw new Error(`app.exit(${code})`)
    }
  }
  const app = new App()

  class Contents extends f.FakeWebContents {
    sent: [string, unknown][] = []
    send(ch: string, payload: unknown) {
      this.sent.push([ch, payload])
    }
  }

  class BrowserWindow extends EventEmitter {
    static all: BrowserWindow[] = []
    webContents: Contents
    visible = false
    focused = 0
    maximized = false
    loads: [string, string][] = []
    constructor(readonly options: BrowserWindowConstructorOptions) {
      super()
      this.webContents = new Contents(f.fakeFrame('about:blank'))
      BrowserWindow.all.push(this)
      app.emit('web-contents-created', {}, this.webContents)
    }
    async loadFile(file: string) {
      this.loads.push(['file', file])
      this.webContents.mainFrame.url = pathToFileURL(file).href
    }
    async loadURL(url: string) {
      this.loads.push(['url', url])
      this.webContents.mainFrame.url = url
    }
    show() {
      this.visible = true
    }
    focus() {
      this.focused++
    }
    isMinimized() {
      return false
    }
    restore() {}
    maximize() {
      this.maximized = true
    }
    isMaximized() {
      return this.maximized
    }
    getNormalBounds() {
      return { x: 10, y: 20, width: 1111, height: 777 }
    }
  }

  const menu = { current: null as null | { template: MenuItemConstructorOptions[] } }
  const area = { x: 0, y: 0, width: 1920, height: 1040 }
  const errors: string[] = []
  return {
    app,
    BrowserWindow,
    ipcMain: new f.FakeIpcMain(),
    session: { defaultSession: new f.FakeSession() },
    Menu: {
      buildFromTemplate: (template: MenuItemConstructorOptions[]) => ({ template }),
      setApplicationMenu: (m: { template: MenuItemConstructorOptions[] }) => (menu.current = m),
      current: menu
    },
    screen: { getPrimaryDisplay: () => ({ workArea: area }), getAllDisplays: () => [{ workArea: area }] },
    dialog: {
      showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
      showErrorBox: (title: string, body: string) => errors.push(`${title}: ${body}`),
      errors
    },
    shell: { openExternal: vi.fn(async () => {}) },
    protocol: {
      privileged: [] as unknown[],
      registerSchemesAsPrivileged(schemes: unknown[]) {
        this.privileged.push(...schemes)
      }
    }
  }
})

type FakeWindow = EventEmitter & {
  options: BrowserWindowConstructorOptions
  webContents: FakeWebContents & { sent: [string, unknown][] }
  visible: boolean
  focused: number
  loads: [string, string][]
}

describe('the Electron shell, wired against a stand-in electron module', () => {
  let userData = ''
  // The stand-in module, with the fakes' own fields (not Electron's types).
  let E: Record<string, any>
  let win: FakeWindow

  beforeAll(async () => {
    userData = mkdtempSync(join(tmpdir(), 'curator-shell-'))
    process.env.CURATOR_USER_DATA_DIR = userData
    delete process.env.ELECTRON_RENDERER_URL
    E = await import('electron')
    await import('../../../src/main/index')
    await vi.waitFor(() => expect(E.BrowserWindow.all[0]?.loads.length).toBe(1), { timeout: 60_000, interval: 50 })
    win = E.BrowserWindow.all[0]
  })
  afterAll(async () => {
    E?.app.emit('before-quit', { preventDefault: () => {} }) // as Electron: an event the handler may hold the quit with
    delete process.env.CURATOR_USER_DATA_DIR
    await new Promise((r) => setTimeout(r, 200))
    if (userData) rmSync(userData, { recursive: true, force: true })
  })

  it('starts without an error, sandboxed for every renderer, with its own profile and a single-instance lock', () => {
    expect(E.dialog.errors).toEqual([])
    expect(E.app.sandboxEnabled).toBe(true)
    expect(E.app.lockRequested).toBe(true)
    expect(E.app.getPath('userData')).toBe(userData)
  })

  it('makes one hidden, isolated, sandboxed window and loads only the built page, from curator://app/', () => {
    expect(E.BrowserWindow.all).toHaveLength(1)
    expect(win.options.show).toBe(false)
    expect(win.options.webPreferences).toMatchObject({
      preload: join(SRC_MAIN, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false
    })
    expect(win.loads).toEqual([['url', 'curator://app/index.html']])
    if (process.platform === 'linux') {
      expect(win.options.icon).toBe(resolve(SRC_MAIN, '../../resources/icon.png'))
      expect(existsSync(String(win.options.icon))).toBe(true)
    }
  })

  it('serves the page from the renderer folder on its own privileged scheme, with the CSP as a header', async () => {
    expect(E.protocol.privileged).toEqual([APP_SCHEME_PRIVILEGES])
    const s: FakeSession = E.session.defaultSession
    expect([...s.schemes.keys()]).toEqual(['curator'])
    const page = await s.schemes.get('curator')!({ url: win.webContents.mainFrame.url })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toBe(APP_HEADERS['Content-Security-Policy'])
    expect(await page.text()).toBe(readFileSync(join(SRC_MAIN, '../renderer/index.html'), 'utf8'))
    expect((await s.schemes.get('curator')!({ url: 'curator://app/..%2f..%2fpackage.json' })).status).toBe(404)
  })

  it('shows the window on ready-to-show, not before', () => {
    expect(win.visible).toBe(false)
    win.emit('ready-to-show')
    expect(win.visible).toBe(true)
  })

  it("hardens the window's contents (installed for every web contents)", () => {
    expect(win.webContents.navigate('will-navigate', 'https://evil.example/')).toBe(true)
    expect(win.webContents.navigate('will-navigate', win.webContents.mainFrame.url)).toBe(false)
    expect(win.webContents.open('https://github.com/')).toEqual({ action: 'deny' })
    expect(E.shell.openExternal).toHaveBeenCalledWith('https://github.com/')
    expect(win.webContents.open('https://evil.example/')).toEqual({ action: 'deny' })
    expect(E.shell.openExternal).toHaveBeenCalledTimes(1)
  })

  it('denies permissions and remote requests on the default session', async () => {
    const s: FakeSession = E.session.defaultSession
    expect(await s.request('media')).toBe(false)
    expect(s.fetch('https://evil.example/x.js')).toBe(false)
    expect(s.fetch(win.webContents.mainFrame.url)).toBe(true)
  })

  it("answers the page's main frame over IPC through the real studio, and refuses other frames", async () => {
    const ipc: FakeIpcMain = E.ipcMain
    expect([...ipc.handlers.keys()].sort()).toEqual(METHODS.map((m) => channel(m)).sort())
    const reply = (await ipc.invoke(channel('info'), win.webContents.mainFrame)) as {
      ok: boolean
      result: { desktop: boolean; dataDir: string; backend: string }
    }
    expect(reply.ok).toBe(true)
    expect(reply.result).toMatchObject({ desktop: true, dataDir: userData })
    expect(['tensorflow', 'wasm', 'cpu']).toContain(reply.result.backend)
    expect(await ipc.invoke(channel('info'), fakeFrame('https://evil.example/'))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
  })

  it('lets the page name a folder only after the user chose it in the dialog (or inside the data folder)', async () => {
    const ipc: FakeIpcMain = E.ipcMain
    const frame = win.webContents.mainFrame
    const chosen = mkdtempSync(join(tmpdir(), 'curator-chosen-'))
    try {
      const before = await ipc.invoke(channel('openSession'), frame, join(chosen, 'session'))
      expect(before).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
      E.dialog.showOpenDialog = async () => ({ canceled: false, filePaths: [chosen] })
      expect(await ipc.invoke(channel('pickFolder'), frame, 'session')).toEqual({ ok: true, result: chosen })
      // Now the studio answers: there is no session there.
      const after = await ipc.invoke(channel('openSession'), frame, join(chosen, 'session'))
      expect(after).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
      const data = await ipc.invoke(channel('openSession'), frame, join(userData, 'sessions', 'none'))
      expect(data).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    } finally {
      E.dialog.showOpenDialog = async () => ({ canceled: true, filePaths: [] })
      rmSync(chosen, { recursive: true, force: true })
    }
  })

  it('the menu sends its commands to the page as the menu event', () => {
    const template: MenuItemConstructorOptions[] = E.Menu.current.current.template
    const items = template.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : []))
    const exportItem = items.find((i) => i.id === 'export-model')!
    ;(exportItem.click as unknown as () => void)()
    expect(win.webContents.sent).toContainEqual([channel('menu'), 'export-model'])
    expect(items.some((i) => i.role === 'toggleDevTools')).toBe(true) // unpackaged = development
  })

  it('a second launch focuses this window', () => {
    const before = win.focused
    E.app.emit('second-instance')
    expect(win.focused).toBe(before + 1)
  })

  it('remembers the window bounds on close', () => {
    win.emit('close')
    expect(JSON.parse(readFileSync(join(userData, 'window-state.json'), 'utf8'))).toEqual({
      x: 10,
      y: 20,
      width: 1111,
      height: 777,
      maximized: false
    })
    expect(win.webContents.mainFrame.url).toBe('curator://app/index.html')
  })
})
