// A small WebSocket client speaking the studio's wire format, plus raw HTTP probes, for the
// browser-mode tests. Raw requests (node:http, node:net) send paths and headers exactly as
// given, which a browser or the ws client would normalise.
import http from 'node:http'
import { WebSocket } from 'ws'
import type { EventName, MethodName, WsEvent, WsResponse } from '../../../src/shared/contract'

export class WsClient {
  readonly events: WsEvent[] = []
  private readonly responses: WsResponse[] = []
  private waiters: (() => void)[] = []
  private nextId = 1

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as WsResponse | WsEvent
      if ('event' in m) this.events.push(m)
      else this.responses.push(m)
      const w = this.waiters
      this.waiters = []
      for (const f of w) f()
    })
    ws.on('close', () => {
      const w = this.waiters
      this.waiters = []
      for (const f of w) f()
    })
  }

  static connect(port: number, token: string, headers: Record<string, string> = { Origin: `http://127.0.0.1:${port}` }): Promise<WsClient> {
    return new Promise((ok, fail) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${encodeURIComponent(token)}`, { headers })
      ws.once('open', () => ok(new WsClient(ws)))
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)))
      ws.once('error', fail)
    })
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /** Sends a request and resolves with the raw response (ok or not). */
  async request(method: MethodName | string, args: unknown, timeoutMs = 60_000): Promise<WsResponse> {
    const id = this.nextId++
    this.ws.send(JSON.stringify({ id, method, args }))
    return this.response(id, timeoutMs)
  }

  /** Sends any text and resolves with the response carrying this id (-1 for unparseable text). */
  async sendRaw(text: string, id = -1, timeoutMs = 10_000): Promise<WsResponse> {
    this.ws.send(text)
    return this.response(id, timeoutMs)
  }

  /** Calls a method and resolves with its result, or rejects with the error it answered. */
  async call<T = unknown>(method: MethodName, ...args: unknown[]): Promise<T> {
    const r = await this.request(method, args)
    if (!r.ok) throw Object.assign(new Error(`${method}: ${r.error.code}: ${r.error.message}`), { dto: r.error })
    return r.result as T
  }

  /** Resolves with the first event (already received or still to come) that passes the test. */
  async event<T = unknown>(name: EventName, test: (payload: T) => boolean = () => true, from = 0, timeoutMs = 60_000): Promise<T> {
    return this.until(() => this.events.slice(from).find((e) => e.event === name && test(e.payload as T))?.payload as T | undefined, `${name} event`, timeoutMs)
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((ok) => {
      this.ws.once('close', () => ok())
      this.ws.close()
    })
  }

  private response(id: number, timeoutMs: number): Promise<WsResponse> {
    return this.until(
      () => {
        const k = this.responses.findIndex((r) => r.id === id)
        return k < 0 ? undefined : this.responses.splice(k, 1)[0]
      },
      `response ${id}`,
      timeoutMs
    )
  }

  private until<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)
      const check = () => {
        const found = find()
        if (found !== undefined) {
          clearTimeout(timer)
          return ok(found)
        }
        if (this.ws.readyState !== WebSocket.OPEN) {
          clearTimeout(timer)
          return fail(new Error(`the connection closed while waiting for ${what}`))
        }
        this.waiters.push(check)
      }
      check()
    })
  }
}

/** Attempts a WebSocket upgrade with exactly these headers; resolves with the HTTP status (101 on success). */
export function upgradeStatus(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((ok, fail) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers }
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      ok(res.statusCode ?? 0)
    })
    req.on('response', (res) => {
      res.resume()
      ok(res.statusCode ?? 0)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to the upgrade at ${path} within 10 s`)))
    req.on('error', fail)
    req.end()
  })
}

/** A plain GET with the path sent verbatim; rejects when no answer comes within timeoutMs. */
export function get(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((ok, fail) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to GET ${path} within ${timeoutMs} ms`)))
    req.on('error', fail)
  })
}
