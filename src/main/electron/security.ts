// The desktop security checklist, in one place (README "Security" lists where each is tested:
// test/main/electron/security.test.ts).
import type { BrowserWindow, BrowserWindowConstructorOptions, Session, WebContents, WebFrameMain } from 'electron'
import { APP_PAGE, APP_SCHEME, appFileFor } from './scheme'

// ---- the window ----------------------------------------------------------------------------

/** The options of the one window: isolated, sandboxed, no Node in the page, hidden until ready. */
export function windowOptions(
  preload: string,
  bounds: { width: number; height: number; x?: number; y?: number },
  icon?: string
): BrowserWindowConstructorOptions {
  return {
    width: bounds.width,
    height: bounds.height,
    ...(bounds.x !== undefined && bounds.y !== undefined ? { x: bounds.x, y: bounds.y } : {}),
    minWidth: 960,
    minHeight: 640,
    show: false, // shown on ready-to-show: no white flash
    backgroundColor: '#f6f7f9',
    title: 'Curator',
    ...(icon ? { icon } : {}),
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false
    }
  }
}

// ---- what the window loads: no remote content ---------------------------------------------

/**
 * The one page the window shows: the built renderer on the app's own scheme (curator://app/,
 * served from `dir`: scheme.ts), or in development the electron-vite dev server.
 */
export type RendererTarget = { kind: 'app'; url: string; dir: string } | { kind: 'url'; url: string }

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** An http(s) URL on this machine, without credentials (the only dev server accepted). */
export function isLoopbackHttp(url: string): boolean {
  try {
    const u = new URL(url)
    return (u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK.has(u.hostname) && !u.username && !u.password
  } catch {
    return false
  }
}

/**
 * Chooses what the window loads. A packaged app always loads its built page from curator://app/;
 * the dev server URL (ELECTRON_RENDERER_URL, set by `electron-vite dev`) is used only unpackaged
 * and only on loopback, so no environment variable can point the window at a remote page.
 */
export function rendererTarget(opts: { packaged: boolean; devUrl?: string; rendererDir: string }): RendererTarget {
  if (!opts.packaged && opts.devUrl && isLoopbackHttp(opts.devUrl)) return { kind: 'url', url: opts.devUrl }
  return { kind: 'app', url: APP_PAGE, dir: opts.rendererDir }
}

/** Loads the target: the app's page or the dev server, never a file:// URL. */
export function loadRenderer(win: Pick<BrowserWindow, 'loadURL'>, target: RendererTarget): Promise<void> {
  return win.loadURL(target.url)
}

const parse = (url: string): URL | null => {
  try {
    return new URL(url)
  } catch {
    return null
  }
}

/** The app's own page (any #hash or ?query): exactly curator://app/index.html, or the dev server's origin. */
export function isAppUrl(url: string, target: RendererTarget): boolean {
  const u = parse(url)
  if (!u) return false
  if (target.kind === 'url') return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === new URL(target.url).origin
  const page = new URL(target.url)
  return u.protocol === page.protocol && u.host === page.host && !u.username && !u.password && u.pathname === page.pathname
}

/** Requests the app's session lets through: its own files, data/blob URLs, and in development the dev server. */
export function isAllowedRequest(url: string, target: RendererTarget): boolean {
  const u = parse(url)
  if (!u) return false
  switch (u.protocol) {
    case 'data:':
    case 'blob:':
    case 'devtools:':
      return true
    case `${APP_SCHEME}:`:
      // The scheme's handler serves only the renderer folder (appFileFor); anything else is not asked for.
      return target.kind === 'app' && appFileFor(url, target.dir) !== null
    case 'http:':
    case 'https:':
      return target.kind === 'url' && u.origin === new URL(target.url).origin
    case 'ws:':
    case 'wss:':
      return target.kind === 'url' && u.host === new URL(target.url).host // Vite's hot reload
    default:
      return false
  }
}

/** Cancels every request of the session that is not the app's own (defence behind the CSP). */
export function blockRemoteRequests(session: Pick<Session, 'webRequest'>, target: RendererTarget): void {
  session.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url, target) }))
}

// ---- links out ----------------------------------------------------------------------------

/** Sites a link may open in the user's browser. */
export const EXTERNAL_ALLOW = ['https://www.tensorflow.org', 'https://js.tensorflow.org', 'https://github.com']

/** Only http(s) links whose origin is on the allow-list (scheme, host and port), without credentials. */
export function isAllowedExternal(url: string): boolean {
  const u = parse(url)
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password) return false
  return EXTERNAL_ALLOW.some((a) => u.origin === new URL(a).origin)
}

// ---- IPC ----------------------------------------------------------------------------------

type FrameLike = Pick<WebFrameMain, 'url' | 'processId' | 'routingId'> & { parent: unknown }

/** IPC is answered only for the app's own top frame showing the app's own page. */
export function isTrustedSender(
  frame: FrameLike | null | undefined,
  appContents: Pick<WebContents, 'mainFrame'> | null,
  target: RendererTarget
): boolean {
  if (!frame || !appContents) return false
  const main = appContents.mainFrame
  if (!main || frame.parent) return false
  const isMain = frame === main || (frame.processId === main.processId && frame.routingId === main.routingId)
  return isMain && isAppUrl(frame.url, target)
}

// ---- every web contents -------------------------------------------------------------------

/**
 * No navigation away from the app, no popups (allow-listed links go to the browser instead),
 * no <webview>. Applied to every web contents the app creates (app 'web-contents-created').
 */
export function hardenContents(
  contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>,
  target: RendererTarget,
  openExternal: (url: string) => void
): void {
  const guard = (event: { preventDefault(): void; url?: string }, url?: string) => {
    const to = event.url ?? url ?? ''
    // devtools: only for the DevTools window's own frames (development); pages cannot navigate there.
    if (!isAppUrl(to, target) && !to.startsWith('devtools://')) event.preventDefault()
  }
  contents.on('will-navigate', guard)
  contents.on('will-frame-navigate', guard)
  contents.on('will-redirect', guard)
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/** Camera, microphone, notifications, geolocation, USB, HID, serial...: all refused, asked or checked. */
export function denyPermissions(
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'on'>
): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
  session.setDevicePermissionHandler(() => false)
  // The desktop app writes files from the main process; the page never downloads.
  session.on('will-download', (event) => event.preventDefault())
}
