// The renderer's view of a studio (StudioClient), the typed error a failed call rejects
// with (ApiError), and the desktop transport over the preload bridge. No DOM types, so the
// main-process tests can run the real IPC handlers against it.
import { METHODS, type MethodName, type Reply, type StudioApi, type StudioBridge } from '../../../shared/contract'
import { isErrorCode, type ErrorCode, type ErrorDto } from '../../../shared/errors'

/**
 * The transport to the studio: 'connecting' before it first opens, 'open', 'lost' (it was
 * closed: reconnecting, nothing is sent meanwhile), 'gone' (still not back after several tries:
 * `curator serve` stopped, or runs at another address). The desktop bridge is always 'open'.
 */
export type Connection = 'connecting' | 'open' | 'lost' | 'gone'

export interface StudioClient extends StudioApi {
  on: StudioBridge['on']
  readonly mode: 'desktop' | 'browser'
  /** Called after the transport reconnects (browser mode), so stores can resynchronise. */
  onReconnect(listener: () => void): () => void
  connection(): Connection
  /** Called on every change of connection(). */
  onConnection(listener: (c: Connection) => void): () => void
}

/** A rejected studio call: the contract's error code, its message and any details. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly method?: MethodName,
    readonly details?: Record<string, unknown>
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Turns what a call failed with (an ErrorDto from the wire, an ApiError, anything else) into an ApiError. */
export function toApiError(err: unknown, method?: MethodName): ApiError {
  if (err instanceof ApiError) return err
  const e = err as Partial<ErrorDto> | null | undefined
  const message = typeof e?.message === 'string' ? e.message : String(err)
  return isErrorCode(e?.code) ? new ApiError(e.code, message, method, e.details) : new ApiError('INTERNAL', message, method)
}

/**
 * Builds an object with one function per entry of `methods`. Typed as exactly those methods
 * of StudioApi, so assigning the result to `StudioApi` fails to compile if METHODS misses one.
 */
export function proxies<const T extends readonly MethodName[]>(
  methods: T,
  call: (method: MethodName, args: unknown[]) => Promise<unknown>
): { [K in T[number]]: StudioApi[K] } {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {}
  for (const m of methods) out[m] = (...args: unknown[]) => call(m, args)
  return out as { [K in T[number]]: StudioApi[K] }
}

// Desktop: the preload bridge answers a Reply per call; a failed one becomes an ApiError.

export function bridgeClient(bridge: StudioBridge): StudioClient {
  const api: StudioApi = proxies(METHODS, async (method, args) => {
    const fn = bridge[method] as ((...a: unknown[]) => Promise<Reply>) | undefined
    if (typeof fn !== 'function') throw new ApiError('INTERNAL', `The preload does not expose ${method}()`, method)
    const reply = await fn(...args)
    if (reply?.ok === true) return reply.result
    throw toApiError(reply?.ok === false ? reply.error : `${method}() answered no reply`, method)
  })
  return {
    ...api,
    mode: 'desktop',
    on: (event, listener) => bridge.on(event, listener),
    onReconnect: () => () => {},
    connection: () => 'open',
    onConnection: () => () => {}
  }
}
