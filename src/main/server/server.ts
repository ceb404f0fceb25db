// Browser mode: the built renderer over HTTP and the StudioApi over a WebSocket, on loopback,
// behind a random token and an Origin check.
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { basename, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, WebSocket } from 'ws'
import { EVENTS, ExportResult, SessionState, WsEvent, WsRequest, WsResponse } from '../../shared/contract'
import { StateEncoder } from '../../shared/state-codec'
import { zipFolder } from '../export/zip'
import { contentType } from '../files/mime'
import { contentSecurityPolicy } from '../../shared/csp'
import { toErrorDto } from '../../shared/errors'
import type { Studio } from '../studio/studio'
import { dispatch } from '../studio/validate'

export interface ServeOptions {
  studio: Studio
  rendererDir: string
  host?: string
  port?: number
  token?: string
  /** Extra folders served read-only under /files/<name>/ (token required), e.g. exports. */
  files?: Record<string, string>
}

export interface RunningServer {
  url: string
  token: string
  port: number
  server: Server
  close(): Promise<void>
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1'
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const rendererDir = resolve(opts.rendererDir)
  if (!existsSync(join(rendererDir, 'index.html'))) throw new Error(`No built renderer in ${rendererDir}: run npm run build first`)
  const expected = Buffer.from(token)
  const tokenOk = (t: string | null) => {
    const given = Buffer.from(t ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  // Filled once the port is known: the only origins (and Host headers) this server answers to.
  let allowed: string[] = []
  const server = createServer((req, res) => {
    // Every answer: the page's CSP (its own WebSocket only), never framed, the token never sent on as a referrer.
    // A CSP source cannot name an IPv6 address: there 'self', which covers ws: of the page's own host, has to do.
    res.setHeader(
      'Content-Security-Policy',
      contentSecurityPolicy(allowed.filter((o) => !o.includes('[')).map((o) => o.replace(/^http:/, 'ws:')))
    )
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    const url = parseUrl(req.url)
    if (!url) return deny(res, 400, 'Bad request')
    if (url.pathname.startsWith('/files/')) {
      if (!tokenOk(url.searchParams.get('token'))) return deny(res, 403, 'A valid token is required')
      const [, , name, ...rest] = url.pathname.split('/')
      const root = opts.files && Object.hasOwn(opts.files, name) ? resolve(opts.files[name]) : null
      return root ? sendFile(res, root, rest.join('/')) : deny(res, 404, 'Not found')
    }
    sendFile(res, rendererDir, url.pathname === '/' ? 'index.html' : url.pathname.slice(1))
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 })
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    socket.on('error', () => socket.destroy()) // a client that resets mid-refusal must not crash us
    const url = parseUrl(req.url)
    const origin = req.headers.origin
    const refuse = (code: number, msg: string) => {
      socket.end(`HTTP/1.1 ${code} ${msg}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (!url) return refuse(400, 'Bad Request')
    if (url.pathname !== '/api') return refuse(404, 'Not Found')
    if (!tokenOk(url.searchParams.get('token'))) return refuse(401, 'Unauthorized')
    // A foreign Host is a DNS-rebinding attempt.
    if (!allowed.includes(`http://${req.headers.host}`)) return refuse(403, 'Forbidden')
    // Browsers always send Origin: a page from any other site is refused.
    if (origin !== undefined && !allowed.includes(origin)) return refuse(403, 'Forbidden')
    wss.handleUpgrade(req, socket, head, (ws) => connect(ws, opts.studio, (dir, file) => downloadUrl(opts.files ?? {}, dir, token, file)))
  })

  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, host, () => ok())
  })
  const port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  allowed = [...new Set([shownHost, '127.0.0.1', 'localhost', '[::1]'])].map((h) => `http://${h}:${port}`)
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    server,
    close: () =>
      new Promise<void>((ok) => {
        for (const c of wss.clients) c.terminate()
        wss.close()
        server.close(() => ok())
        server.closeAllConnections()
      })
  }
}

/**
 * Browser mode cannot open a folder: exports under a served root get a download link, a zip of
 * the folder, or with `file` that one file in it (the replay GIF).
 */
function downloadUrl(roots: Record<string, string>, dir: string, token: string, file?: string): string | undefined {
  for (const [name, root] of Object.entries(roots)) {
    const rel = relative(resolve(root), dir)
    if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) continue
    const path = file === undefined ? `${encodeURIComponent(rel)}.zip` : `${encodeURIComponent(rel)}/${encodeURIComponent(file)}`
    return `/files/${name}/${path}?token=${encodeURIComponent(token)}`
  }
  return undefined
}

function connect(ws: WebSocket, studio: Studio, linkFor: (dir: string, file?: string) => string | undefined): void {
  const send = (m: WsResponse | WsEvent) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m))
  // Pushed states carry what the previous push on this socket did not (see state-codec.ts).
  const states = new StateEncoder()
  const off = studio.on((event, payload) => {
    if (EVENTS.includes(event)) send({ event, payload: event === 'session' ? states.encode(payload as SessionState) : payload })
  })
  ws.on('close', off)
  // A malformed frame (bad UTF-8, over maxPayload, reserved bits or opcodes, a bad close code):
  // ws has already sent the matching close code (1002, 1007, 1009); only this connection ends.
  ws.on('error', () => ws.terminate())
  ws.on('message', async (raw) => {
    let id = -1
    try {
      const msg = JSON.parse(String(raw)) as WsRequest
      id = Number.isInteger(msg?.id) ? msg.id : -1
      const result = await dispatch(studio, msg?.method, msg?.args)
      if (msg.method === 'exportModel') Object.assign(result as ExportResult, { downloadUrl: linkFor((result as ExportResult).dir) })
      if (msg.method === 'exportGif')
        Object.assign(result as ExportResult, { downloadUrl: linkFor((result as ExportResult).dir, (result as ExportResult).files[0]) })
      send({ id, ok: true, result })
    } catch (err) {
      send({
        id,
        ok: false,
        error: err instanceof SyntaxError ? { code: 'BAD_ARGUMENT', message: 'The message is not valid JSON' } : toErrorDto(err)
      })
    }
  })
}

/** Request URLs come from anyone who can reach the port: never let one throw. */
function parseUrl(raw: string | undefined): URL | null {
  try {
    return new URL(raw ?? '/', 'http://localhost')
  } catch {
    return null
  }
}

function sendFile(res: ServerResponse, root: string, encoded: string): void {
  let rel: string
  try {
    rel = decodeURIComponent(encoded)
  } catch {
    return deny(res, 400, 'Bad request')
  }
  const file = normalize(join(root, rel))
  if (file !== root && !file.startsWith(root + sep)) return deny(res, 403, 'Forbidden')
  const folder = file.endsWith('.zip') ? file.slice(0, -4) : null
  if (folder && folder !== root && existsSync(folder) && statSync(folder).isDirectory()) {
    res.writeHead(200, {
      'Content-Type': 'application/zip',
      'Content-Disposition': `attachment; filename="${basename(file).replace(/"/g, '')}"`
    })
    return void res.end(zipFolder(folder, basename(folder)))
  }
  let ok = false
  try {
    ok = statSync(file).isFile()
  } catch {
    ok = false
  }
  if (!ok) return deny(res, 404, 'Not found')
  res.writeHead(200, {
    'Content-Type': contentType(file),
    'Cache-Control': 'no-cache',
    'Cross-Origin-Resource-Policy': 'same-origin'
  })
  createReadStream(file).pipe(res)
}

function deny(res: ServerResponse, code: number, msg: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' })
  res.end(msg)
}
