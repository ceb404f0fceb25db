import { describe, expect, it, vi } from 'vitest'
import {
  ApiError,
  bridgeClient,
  createClient,
  GONE_AFTER,
  resolveToken,
  toApiError,
  wsClient,
  wsUrl,
  type SocketLike
} from '../../src/renderer/src/api/client'
import { METHODS, type MethodName, type StudioBridge, type WsRequest } from '../../src/shared/contract'

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: WsRequest[] = []
  onopen: SocketLike['onopen'] = null
  onclose: SocketLike['onclose'] = null
  onerror: SocketLike['onerror'] = null
  onmessage: SocketLike['onmessage'] = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }
  close(): void {
    this.readyState = 3
    this.onclose?.({} as CloseEvent)
  }
  open(): void {
    this.readyState = 1
    this.onopen?.({} as Event)
  }
  receive(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent)
  }
}

function connect() {
  FakeSocket.all = []
  const client = wsClient('ws://127.0.0.1:4000/api?token=t', { socket: (u) => new FakeSocket(u), backoffMs: [5] })
  return client
}

describe('WebSocket client', () => {
  it('has a function for every contract method', () => {
    const c = connect()
    for (const m of METHODS) expect(typeof c[m]).toBe('function')
    expect(typeof c.on).toBe('function')
    expect(c.mode).toBe('browser')
  })

  it('queues requests until the socket opens, then matches responses by id', async () => {
    const c = connect()
    const p1 = c.label(7, 1, 123)
    const p2 = c.info()
    const s = FakeSocket.all[0]
    expect(s.url).toBe('ws://127.0.0.1:4000/api?token=t')
    expect(s.sent).toEqual([])
    s.open()
    expect(s.sent).toEqual([
      { id: 1, method: 'label', args: [7, 1, 123] },
      { id: 2, method: 'info', args: [] }
    ])
    s.receive({ id: 2, ok: true, result: { version: 'x' } })
    s.receive({ id: 1, ok: true, result: { labels: 5 } })
    await expect(p1).resolves.toEqual({ labels: 5 })
    await expect(p2).resolves.toEqual({ version: 'x' })
  })

  it('drops trailing undefined arguments (optional parameters)', async () => {
    const c = connect()
    void c.exportModel(undefined, undefined)
    void c.exportGif('/s', undefined)
    const s = FakeSocket.all[0]
    s.open()
    expect(s.sent.map((r) => r.args)).toEqual([[], ['/s']])
  })

  it('rejects with an Error carrying the ErrorDto code', async () => {
    const c = connect()
    const p = c.openSession('/nope')
    const s = FakeSocket.all[0]
    s.open()
    s.receive({ id: 1, ok: false, error: { code: 'NOT_FOUND', message: 'No session in /nope' } })
    const err = await p.catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('NOT_FOUND')
    expect(err.message).toBe('No session in /nope')
    expect(err.method).toBe('openSession')
  })

  it('delivers pushed events to on() listeners until unsubscribed', () => {
    const c = connect()
    const seen: unknown[] = []
    const off = c.on('progress', (p) => seen.push(p.task))
    const s = FakeSocket.all[0]
    s.open()
    s.receive({ event: 'progress', payload: { task: 'featurize', done: 1, total: 2, rate: 1, etaSeconds: 1 } })
    s.receive({ event: 'session', payload: {} })
    off()
    s.receive({ event: 'progress', payload: { task: 'again', done: 1, total: 2, rate: 1, etaSeconds: 1 } })
    expect(seen).toEqual(['featurize'])
  })

  it('ignores malformed messages', () => {
    const c = connect()
    const seen: unknown[] = []
    c.on('error', (e) => seen.push(e))
    const s = FakeSocket.all[0]
    s.open()
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    s.onmessage?.({ data: '{not json' } as MessageEvent)
    s.receive({ id: 999, ok: true, result: 1 })
    spy.mockRestore()
    expect(seen).toEqual([])
  })

  it('on a lost connection rejects pending calls, says so (connection()), sends nothing meanwhile, and reconnects', async () => {
    vi.useFakeTimers()
    try {
      const c = connect()
      const states: string[] = []
      c.onConnection((x) => states.push(x))
      c.on('session', () => {})
      const reconnected = vi.fn()
      c.onReconnect(reconnected)
      expect(c.connection()).toBe('connecting')
      const s = FakeSocket.all[0]
      s.open()
      expect(c.connection()).toBe('open')
      const p = c.state()
      s.close()
      await expect(p).rejects.toMatchObject({ code: 'INTERNAL', message: /before it answered/ })
      expect(c.connection()).toBe('lost')
      // An answer given now is refused at once, never queued for later.
      await expect(c.label(3, 1, 10)).rejects.toMatchObject({ code: 'INTERNAL', message: /Not connected.*nothing was sent/ })
      await vi.advanceTimersByTimeAsync(10)
      expect(FakeSocket.all).toHaveLength(2)
      FakeSocket.all[1].open()
      expect(FakeSocket.all[1].sent).toEqual([])
      expect(reconnected).toHaveBeenCalledTimes(1)
      expect(states).toEqual(['open', 'lost', 'open'])
      const q = c.state()
      FakeSocket.all[1].receive({ id: 2, ok: true, result: null })
      await expect(q).resolves.toBeNull()
    } finally {
      vi.useRealTimers()
    }
  })

  it(`counts the server as gone after ${GONE_AFTER} failed attempts in a row, and still reconnects when it is back`, async () => {
    vi.useFakeTimers()
    try {
      const c = connect()
      c.on('session', () => {})
      FakeSocket.all[0].open()
      for (let i = 0; i < GONE_AFTER; i++) {
        FakeSocket.all.at(-1)!.close()
        expect(c.connection()).toBe(i + 1 >= GONE_AFTER ? 'gone' : 'lost')
        await vi.advanceTimersByTimeAsync(10)
      }
      FakeSocket.all.at(-1)!.open()
      expect(c.connection()).toBe('open')
    } finally {
      vi.useRealTimers()
    }
  })

  it('without a token every call fails with FORBIDDEN and says where the token comes from', async () => {
    const c = wsClient(null)
    await expect(c.info()).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('token') })
  })
})

describe('token and URL', () => {
  it('takes the token from ?token= and remembers it for reloads', () => {
    sessionStorage.clear()
    expect(resolveToken({ search: '?token=abc123', href: '' }, sessionStorage)).toBe('abc123')
    expect(resolveToken({ search: '', href: '' }, sessionStorage)).toBe('abc123')
    sessionStorage.clear()
    expect(resolveToken({ search: '', href: '' }, sessionStorage)).toBeNull()
  })

  it('uses wss on https and encodes the token', () => {
    expect(wsUrl({ protocol: 'http:', host: '127.0.0.1:5173' }, 'a b')).toBe('ws://127.0.0.1:5173/api?token=a%20b')
    expect(wsUrl({ protocol: 'https:', host: 'example.test' }, 't')).toBe('wss://example.test/api?token=t')
  })
})

describe('desktop bridge', () => {
  function bridge(impl: Partial<Record<MethodName, (...a: never[]) => Promise<unknown>>>): StudioBridge {
    const b: Record<string, unknown> = { on: vi.fn(() => () => {}) }
    for (const m of METHODS) b[m] = vi.fn(async () => ({ ok: true, result: null }))
    return Object.assign(b, impl) as unknown as StudioBridge
  }

  it('uses window.studio when present and forwards calls and events', async () => {
    const b = bridge({ info: vi.fn(async () => ({ ok: true, result: { version: '9' } })) })
    const c = createClient({ studio: b } as unknown as Window)
    expect(c.mode).toBe('desktop')
    await expect(c.info()).resolves.toEqual({ version: '9' })
    const l = () => {}
    c.on('session', l)
    expect(b.on).toHaveBeenCalledWith('session', l)
    await c.label(3, 0, 10)
    expect(b.label).toHaveBeenCalledWith(3, 0, 10)
  })

  it('turns a failed reply into an ApiError with its code, message and details', async () => {
    const error = { code: 'BAD_ARGUMENT', message: 'batchSize: at most 64', details: { problems: ['batchSize'] } }
    const c = bridgeClient(bridge({ newSession: vi.fn(async () => ({ ok: false, error })) }))
    await expect(c.newSession({} as never)).rejects.toMatchObject({ name: 'ApiError', ...error, method: 'newSession' })
  })

  it('a reply that is not a Reply is an INTERNAL error, not a result', async () => {
    const c = bridgeClient(
      bridge({ state: vi.fn(async () => undefined), info: vi.fn(async () => ({ ok: false, error: { code: 'NOPE' } })) })
    )
    await expect(c.state()).rejects.toMatchObject({ code: 'INTERNAL', message: 'state() answered no reply' })
    await expect(c.info()).rejects.toMatchObject({ code: 'INTERNAL' })
  })

  it('toApiError keeps an ErrorDto and makes anything else INTERNAL', () => {
    expect(toApiError({ code: 'EXISTS', message: '/out exists' })).toMatchObject({ code: 'EXISTS', message: '/out exists' })
    expect(toApiError(new Error('ENOENT: no such file'))).toMatchObject({ code: 'INTERNAL', message: 'ENOENT: no such file' })
    expect(toApiError('boom')).toMatchObject({ code: 'INTERNAL', message: 'boom' })
  })
})
