// The renderer's one client of the studio. In the desktop app the preload exposes
// `window.studio` (one function per contract method, plus `on`); in browser mode the same
// methods travel over a WebSocket as WsRequest/WsResponse/WsEvent. Either way the rest of
// the renderer sees a `StudioClient`: a typed StudioApi plus `on()`.
//
// Only the Pinia stores, wiring.ts (pushed events) and lib/queries.ts (views' read-only queries)
// call `useApi()`; eslint holds views and components to that.
import {
  METHODS,
  type EventName,
  type MethodName,
  type StudioApi,
  type WsEvent,
  type WsRequest,
  type WsResponse
} from '../../../shared/contract'
import { StateDecoder, type WireState } from '../../../shared/state-codec'
import { ApiError, bridgeClient, proxies, toApiError, type Connection, type StudioClient } from './bridge'

export { ApiError, bridgeClient, toApiError, type Connection, type StudioClient }
// ---------------------------------------------------------------------------------------
// Browser mode: a WebSocket carrying WsRequest / WsResponse / WsEvent.

const TOKEN_KEY = 'curator.token'

/** The access token: from the page URL's `?token=` (remembered for reloads), else from sessionStorage. */
export function resolveToken(
  loc: Pick<Location, 'search' | 'href'> = location,
  storage: Storage | undefined = safeSessionStorage()
): string | null {
  const fromUrl = new URLSearchParams(loc.search).get('token')
  if (fromUrl) {
    try {
      storage?.setItem(TOKEN_KEY, fromUrl)
    } catch {
      /* storage may be unavailable; the URL still works */
    }
    return fromUrl
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null
  } catch {
    return null
  }
}

function safeSessionStorage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage
  } catch {
    return undefined
  }
}

export function wsUrl(loc: Pick<Location, 'protocol' | 'host'>, token: string): string {
  const proto = loc.protocol === 'https:' ? 'wss' : 'ws'
  return `${proto}://${loc.host}/api?token=${encodeURIComponent(token)}`
}

/** The subset of the WebSocket class the client uses (a fake can stand in for tests). */
export interface SocketLike {
  readyState: number
  onopen: ((ev: Event) => unknown) | null
  onclose: ((ev: CloseEvent) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  onmessage: ((ev: MessageEvent) => unknown) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
export type SocketFactory = (url: string) => SocketLike

interface Pending {
  method: MethodName
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

export interface WsClientOptions {
  /** Creates the socket; defaults to the browser's WebSocket. */
  socket?: SocketFactory
  /** Delays between reconnection attempts, in ms (the last one repeats). */
  backoffMs?: number[]
}

const OPEN = 1
/** Failed connection attempts in a row after which the server counts as gone (about 2 s with the default backoff). */
export const GONE_AFTER = 4

export function wsClient(url: string | null, opts: WsClientOptions = {}): StudioClient {
  const makeSocket: SocketFactory = opts.socket ?? ((u) => new WebSocket(u) as SocketLike)
  const backoff = opts.backoffMs ?? [250, 500, 1000, 2000, 5000]
  const listeners = new Map<EventName, Set<(p: unknown) => void>>()
  const reconnectListeners = new Set<() => void>()
  const connectionListeners = new Set<(c: Connection) => void>()
  const pending = new Map<number, Pending>()
  const outbox: string[] = []
  let socket: SocketLike | null = null
  let nextId = 1
  let attempt = 0
  let everOpened = false
  let failures = 0
  let connection: Connection = 'connecting'
  let timer: ReturnType<typeof setTimeout> | null = null
  let states = new StateDecoder()

  const setConnection = (c: Connection): void => {
    if (c === connection) return
    connection = c
    for (const l of connectionListeners) l(c)
  }

  const emit = (event: EventName, payload: unknown): void => {
    for (const l of listeners.get(event) ?? []) {
      try {
        l(payload)
      } catch (err) {
        console.error(`curator: ${event} listener failed`, err)
      }
    }
  }

  const failAll = (err: ApiError): void => {
    for (const [id, p] of pending) {
      pending.delete(id)
      p.reject(new ApiError(err.code, err.message, p.method))
    }
    outbox.length = 0
  }

  const scheduleReconnect = (): void => {
    if (timer || (listeners.size === 0 && pending.size === 0)) return
    const delay = backoff[Math.min(attempt, backoff.length - 1)]
    attempt++
    timer = setTimeout(() => {
      timer = null
      connect()
    }, delay)
  }

  function connect(): SocketLike | null {
    if (socket) return socket
    if (!url) return null
    const s = makeSocket(url)
    socket = s
    // A new socket: the server starts its pushes from a full state again.
    states = new StateDecoder()
    s.onopen = () => {
      const wasLost = everOpened
      everOpened = true
      attempt = 0
      failures = 0
      setConnection('open')
      for (const msg of outbox.splice(0)) s.send(msg)
      if (wasLost) for (const l of reconnectListeners) l()
    }
    s.onmessage = (ev) => onMessage(ev.data)
    s.onerror = () => {
      /* the close event follows and carries the handling */
    }
    s.onclose = () => {
      if (socket !== s) return
      socket = null
      // What was sent and not answered may or may not have been saved: the caller must not count it.
      failAll(new ApiError('INTERNAL', 'Lost the connection to the Curator server before it answered'))
      failures++
      // The view says so (connection()), and nothing is sent until the server is back.
      setConnection(failures >= GONE_AFTER ? 'gone' : 'lost')
      scheduleReconnect()
    }
    return s
  }

  function onMessage(data: unknown): void {
    let msg: Partial<WsResponse> & Partial<WsEvent>
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data))
    } catch {
      console.error('curator: malformed message from server', data)
      return
    }
    if (typeof msg.event === 'string') {
      let payload = msg.payload
      if (msg.event === 'session') {
        try {
          payload = states.decode(payload as WireState)
        } catch (err) {
          // Out of step with the server: a new connection starts both sides afresh (and the view reloads its state).
          console.error('curator: cannot read a pushed state', err)
          socket?.close()
          return
        }
      }
      emit(msg.event, payload)
      return
    }
    if (typeof msg.id !== 'number') return
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    const res = msg as WsResponse
    if (res.ok) p.resolve(res.result)
    else p.reject(toApiError(res.error ?? { code: 'INTERNAL', message: 'The server sent an error without details' }, p.method))
  }

  const call = (method: MethodName, args: unknown[]): Promise<unknown> => {
    if (!url)
      return Promise.reject(
        new ApiError('FORBIDDEN', 'No access token: open the address `curator serve` printed (it ends in ?token=…).', method)
      )
    if (connection === 'lost' || connection === 'gone')
      return Promise.reject(new ApiError('INTERNAL', 'Not connected to the Curator server: nothing was sent', method))
    return new Promise((resolve, reject) => {
      const id = nextId++
      const req: WsRequest = { id, method, args: trimUndefined(args) }
      pending.set(id, { method, resolve, reject })
      const s = connect()
      const text = JSON.stringify(req)
      if (s && s.readyState === OPEN) s.send(text)
      else outbox.push(text)
    })
  }

  const api: StudioApi = proxies(METHODS, call)
  return {
    ...api,
    mode: 'browser',
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (p: unknown) => void)
      connect()
      return () => {
        set.delete(listener as (p: unknown) => void)
        if (set.size === 0) listeners.delete(event)
      }
    },
    onReconnect(listener) {
      reconnectListeners.add(listener)
      return () => reconnectListeners.delete(listener)
    },
    connection: () => connection,
    onConnection(listener) {
      connectionListeners.add(listener)
      return () => connectionListeners.delete(listener)
    }
  }
}

/** Optional trailing arguments left undefined are dropped (JSON would turn them into null). */
function trimUndefined(args: unknown[]): unknown[] {
  let n = args.length
  while (n > 0 && args[n - 1] === undefined) n--
  return args.slice(0, n)
}

// ---------------------------------------------------------------------------------------
// The singleton the stores use.

/** Picks the transport: the preload bridge when present, else the WebSocket. */
export function createClient(win: Window = window): StudioClient {
  if (win.studio) return bridgeClient(win.studio)
  const token = resolveToken(win.location)
  if (token && new URLSearchParams(win.location.search).has('token')) {
    // Keep the token out of the address bar (and out of screenshots); reloads use sessionStorage.
    try {
      const u = new URL(win.location.href)
      u.searchParams.delete('token')
      win.history.replaceState(win.history.state, '', u.pathname + u.search + u.hash)
    } catch {
      /* not fatal */
    }
  }
  return wsClient(token ? wsUrl(win.location, token) : null)
}

let current: StudioClient | null = null

export function useApi(): StudioClient {
  if (!current) current = createClient()
  return current
}

/** Replaces the client (tests, or a host that builds its own). */
export function setApi(client: StudioClient | null): void {
  current = client
}
