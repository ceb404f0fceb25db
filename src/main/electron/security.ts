// The desktop security checklist, in one place (README "Security" lists where each is tested).
import type { BrowserWindowConstructorOptions, WebContents, WebFrameMain, Session } from 'electron'

/** The options of the one window: isolated, sandboxed, no Node in the page. */
export function windowOptions(preload: string, bounds: { width: number; height: number; x?: number; y?: number }): BrowserWindowConstructorOptions {
  return {
    ...bounds,
    minWidth: 960,
    minHeight: 640,
    show: false, // shown on ready-to-show: no white flash
    backgroundColor: '#f6f7f9',
    title: 'Curator',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false
    }
  }
}

/** Links that may open in the user's browser. */
export const EXTERNAL_ALLOW = ['https://www.tensorflow.org', 'https://js.tensorflow.org', 'https://github.com']

export function isAllowedExternal(url: string): boolean {
  try {
    const u = new URL(url)
    return (u.protocol === 'https:' || u.protocol === 'http:') && EXTERNAL_ALLOW.some((a) => u.origin === new URL(a).origin)
  } catch {
    return false
  }
}

/** The app's own page: the built file, or the dev server in development. */
export function isAppUrl(url: string, devUrl?: string): boolean {
  if (devUrl && url.startsWith(devUrl)) return true
  return url.startsWith('file://')
}

/** IPC is answered only for the app's own top frame. */
export function isTrustedSender(frame: WebFrameMain | null | undefined, appContents: WebContents | null, devUrl?: string): boolean {
  if (!frame || !appContents) return false
  return frame === appContents.mainFrame && isAppUrl(frame.url, devUrl)
}

export function hardenContents(contents: WebContents, devUrl: string | undefined, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, devUrl)) event.preventDefault()
  })
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url, devUrl)) event.preventDefault()
  })
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

export function denyPermissions(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}
