// A small WebSocket client speaking the studio's wire format, plus raw HTTP probes, for the
// browser-mode tests. Raw requests (node:http, node:net) send paths and headers exactly as
// given, which a browser or the ws client would normalise.
import http from 'node:http'
import net from 'node:net'
import { WebSocket } from 'ws'
import type { EventName, MethodName, SessionState, WsEvent, WsResponse } from '../../../src/shared/contract'
import { StateDecoder, type WireState } from '../../../src/shared/state-codec'

export class WsClient {
  readonly events: WsEvent[] = []
  private readonly responses: WsResponse[] = []
  private waiters: (() => void)[] = []
  private nextId = 1
  private readonly states = new StateDecoder()

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as WsResponse | WsEvent
      // Pushed states as the renderer reads them: whole again (the wire carries what changed).
      if ('event' in m && m.event === 'session') m.payload = this.states.decode(m.payload as WireState) as SessionState
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
    return this.until(
      () => this.events.slice(from).find((e) => e.event === name && test(e.payload as T))?.payload as T | undefined,
      `${name} event`,
      timeoutMs
    )
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
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers
      }
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
export function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
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

/** One WebSocket frame, built byte by byte so a test can break any rule of RFC 6455. */
export function frame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; rsv?: number; masked?: boolean; length?: bigint } = {}
): Buffer {
  const body = Buffer.from(payload)
  const fin = o.fin ?? true
  const len = o.length ?? BigInt(body.length)
  const head = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode]
  const maskBit = o.masked === false ? 0 : 0x80
  const ext: number[] = []
  if (len < 126n) head.push(maskBit | Number(len))
  else if (len < 65536n) head.push(maskBit | 126, Number(len >> 8n), Number(len & 255n))
  else {
    head.push(maskBit | 127)
    for (let i = 7; i >= 0; i--) ext.push(Number((len >> BigInt(8 * i)) & 255n))
  }
  if (o.masked === false) return Buffer.concat([Buffer.from([...head, ...ext]), body])
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
  const masked = Buffer.from(body.map((b, i) => b ^ mask[i % 4]))
  return Buffer.concat([Buffer.from([...head, ...ext]), mask, masked])
}

/**
 * Upgrades a raw TCP connection to /api, writes the given bytes, and resolves with the close
 * code of the server's close frame (null when the server sent none before the socket ended).
 */
export function rawWebSocket(port: number, token: string, bytes: Buffer[], timeoutMs = 10_000): Promise<number | null> {
  return new Promise((ok, fail) => {
    const s = net.connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    let upgraded = false
    const timer = setTimeout(() => {
      s.destroy()
      fail(new Error(`no close frame within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (code: number | null) => {
      clearTimeout(timer)
      s.destroy()
      ok(code)
    }
    s.on('connect', () => {
      s.write(
        `GET /api?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n` +
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
      )
    })
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${buf.subarray(0, end)}`))
        upgraded = true
        buf = buf.subarray(end + 4)
        for (const b of bytes) s.write(b)
      }
      // Server frames are unmasked; skip anything before the close frame (e.g. events).
      while (buf.length >= 2) {
        const op = buf[0] & 0x0f
        let len = buf[1] & 0x7f
        let at = 2
        if (len === 126) {
          if (buf.length < 4) return
          len = buf.readUInt16BE(2)
          at = 4
        } else if (len === 127) {
          if (buf.length < 10) return
          len = Number(buf.readBigUInt64BE(2))
          at = 10
        }
        if (buf.length < at + len) return
        if (op === 0x8) return done(len >= 2 ? buf.readUInt16BE(at) : null)
        buf = buf.subarray(at + len)
      }
    })
    s.on('error', () => done(null))
    s.on('close', () => done(null))
  })
}
