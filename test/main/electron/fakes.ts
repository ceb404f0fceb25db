// Stand-ins for Electron's objects, so the app's own guards and factories can be tested where
// Electron's binary is not installed. Each fake has only what the code under test touches.
import { EventEmitter } from 'node:events'
import type { HandlerDetails, WindowOpenHandlerResponse } from 'electron'

export interface FakeFrame {
  url: string
  processId: number
  routingId: number
  parent: FakeFrame | null
}

let nextRouting = 1
export function fakeFrame(url: string, opts: { parent?: FakeFrame | null; processId?: number } = {}): FakeFrame {
  return { url, processId: opts.processId ?? 1, routingId: nextRouting++, parent: opts.parent ?? null }
}

/** A navigation or attach event: records preventDefault. */
export function fakeEvent(url?: string): { url?: string; prevented: boolean; preventDefault(): void } {
  const e = {
    url,
    prevented: false,
    preventDefault() {
      e.prevented = true
    }
  }
  return e
}

export class FakeWebContents extends EventEmitter {
  openHandler: ((details: HandlerDetails) => WindowOpenHandlerResponse) | null = null
  constructor(readonly mainFrame: FakeFrame) {
    super()
  }
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void {
    this.openHandler = handler
  }
  /** What window.open / target=_blank would get. */
  open(url: string): WindowOpenHandlerResponse {
    if (!this.openHandler) throw new Error('no window open handler installed')
    return this.openHandler({
      url,
      frameName: '',
      features: '',
      disposition: 'new-window',
      referrer: { url: '', policy: 'default' }
    } as HandlerDetails)
  }
  /** Emits a navigation event the way Electron does (details event first, deprecated url second). */
  navigate(event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate', url: string): boolean {
    const e = fakeEvent(url)
    this.emit(event, e, url)
    return e.prevented
  }
}

type PermissionCallback = (granted: boolean) => void
export class FakeSession extends EventEmitter {
  requestHandler: ((contents: unknown, permission: string, callback: PermissionCallback, details: unknown) => void) | null = null
  checkHandler: ((contents: unknown, permission: string, origin: string, details: unknown) => boolean) | null = null
  deviceHandler: ((details: unknown) => boolean) | null = null
  beforeRequest: ((details: { url: string }, callback: (r: { cancel?: boolean }) => void) => void) | null = null
  setPermissionRequestHandler(h: FakeSession['requestHandler']): void {
    this.requestHandler = h
  }
  setPermissionCheckHandler(h: FakeSession['checkHandler']): void {
    this.checkHandler = h
  }
  setDevicePermissionHandler(h: FakeSession['deviceHandler']): void {
    this.deviceHandler = h
  }
  webRequest = {
    onBeforeRequest: (h: FakeSession['beforeRequest']) => {
      this.beforeRequest = h
    }
  }
  /** The scheme handlers installed with session.protocol.handle. */
  readonly schemes = new Map<string, (request: { url: string }) => Promise<Response>>()
  protocol = {
    handle: (scheme: string, h: (request: { url: string }) => Promise<Response>) => {
      if (this.schemes.has(scheme)) throw new Error(`second handler for ${scheme}:`)
      this.schemes.set(scheme, h)
    }
  }
  /** Asks for a permission as a page would; resolves with the answer. */
  request(permission: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (!this.requestHandler) return reject(new Error('no permission request handler installed'))
      this.requestHandler({}, permission, resolve, { requestingUrl: 'curator://app/index.html' })
    })
  }
  /** Whether a request for `url` goes through. */
  fetch(url: string): boolean {
    if (!this.beforeRequest) throw new Error('no onBeforeRequest handler installed')
    let cancelled: boolean | undefined
    this.beforeRequest({ url }, (r) => (cancelled = Boolean(r.cancel)))
    if (cancelled === undefined) throw new Error('the handler never answered')
    return !cancelled
  }
}

type Handler = (event: { senderFrame: FakeFrame | null }, ...args: unknown[]) => Promise<unknown>
export class FakeIpcMain {
  readonly handlers = new Map<string, Handler>()
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`)
    this.handlers.set(channel, handler)
  }
  invoke(channel: string, senderFrame: FakeFrame | null, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel)
    if (!h) throw new Error(`no handler for ${channel}`)
    return h({ senderFrame }, ...args)
  }
}
