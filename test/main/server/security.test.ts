// Browser mode's defences: loopback by default, a random token, Origin and Host checks on the
// WebSocket, no path traversal in static files, a token for /files/. The crash probes run the
// server in a child process, so a request that kills it fails one test, not the run.
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest'
import { spawn, ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AppInfo } from '../../../src/shared/contract'
import { serve, RunningServer } from '../../../src/main/server/server'
import { tempDir } from '../../helpers/tmp'
import { startTestStudio, testBaseModel, TestStudio } from '../../helpers/studio'
import { frame, get, rawWebSocket, upgradeStatus, WsClient } from './ws-client'

const SECRET = 'top secret: outside the served folders'

/** root/renderer (served), root/exports (served under /files/exports/), root/package.json + root/secret.txt (not served). */
function layout(root: string): { renderer: string; exports: string } {
  const renderer = join(root, 'renderer')
  const exports = join(root, 'data', 'exports')
  mkdirSync(join(renderer, 'assets'), { recursive: true })
  mkdirSync(join(exports, 'model-1'), { recursive: true })
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Curator</title>\n')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)\n')
  writeFileSync(join(exports, 'model-1', 'model.json'), '{"format":"layers-model"}')
  writeFileSync(join(root, 'package.json'), JSON.stringify({ secret: SECRET }))
  writeFileSync(join(root, 'secret.txt'), SECRET)
  writeFileSync(join(root, 'data', 'secret.txt'), SECRET)
  return { renderer, exports }
}

const TRAVERSALS = [
  '/../package.json',
  '/%2e%2e/package.json',
  '/%2E%2E/package.json',
  '/..%2fpackage.json',
  '/%2e%2e%2fpackage.json',
  '/.%2e/package.json',
  '/assets/..%2f..%2fpackage.json',
  '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
  '/..%5cpackage.json',
  '/%2fetc%2fpasswd',
  '/assets/%2e%2e/%2e%2e/secret.txt'
]

describe('browser mode in-process', () => {
  let ts: TestStudio
  let server: RunningServer
  let tmp: { dir: string; remove: () => void }
  let dirs: { renderer: string; exports: string }
  let origin: string

  beforeAll(async () => {
    ts = await startTestStudio()
    tmp = tempDir('curator-serve-')
    dirs = layout(tmp.dir)
    server = await serve({ studio: ts.studio, rendererDir: dirs.renderer, files: { exports: dirs.exports } })
    origin = `http://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server?.close()
    await ts?.close()
    tmp?.remove()
  })

  describe('listening', () => {
    it('binds 127.0.0.1 by default and prints a URL with a long random token', async () => {
      const a = server.server.address() as AddressInfo
      expect(a.address).toBe('127.0.0.1')
      expect(a.family).toBe('IPv4')
      expect(a.port).toBe(server.port)
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`)
      expect(server.token).toMatch(/^[A-Za-z0-9_-]{32,}$/)
      const other = await serve({ studio: ts.studio, rendererDir: dirs.renderer })
      try {
        expect(other.token).not.toBe(server.token)
        expect((other.server.address() as AddressInfo).address).toBe('127.0.0.1')
      } finally {
        await other.close()
      }
    })

    it('refuses to start without a built renderer', async () => {
      await expect(serve({ studio: ts.studio, rendererDir: join(tmp.dir, 'data') })).rejects.toThrow(/No built renderer/)
    })
  })

  describe('the WebSocket upgrade', () => {
    const status = (query: string, headers: Record<string, string> = {}) =>
      upgradeStatus(server.port, `/api${query}`, { Host: `127.0.0.1:${server.port}`, Origin: origin, ...headers })

    it('is refused without the token, or with a wrong one (401)', async () => {
      expect(await status('')).toBe(401)
      expect(await status('?token=')).toBe(401)
      expect(await status('?token=wrong')).toBe(401)
      // Same length, different token.
      const flipped = server.token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))
      expect(await status(`?token=${flipped}`)).toBe(401)
      expect(await status(`?token=${server.token}x`)).toBe(401)
      expect(await status(`?tok=${server.token}`)).toBe(401)
      await expect(WsClient.connect(server.port, 'wrong')).rejects.toThrow(/401/)
    })

    it('is refused from a foreign Origin (403)', async () => {
      const t = `?token=${server.token}`
      for (const o of [
        'http://evil.example',
        `http://evil.example:${server.port}`,
        `http://127.0.0.1:${server.port + 1}`,
        `https://127.0.0.1:${server.port}`,
        'null',
        `http://127.0.0.1.evil.example:${server.port}`
      ]) {
        expect(await status(t, { Origin: o }), o).toBe(403)
      }
      await expect(WsClient.connect(server.port, server.token, { Origin: 'http://evil.example' })).rejects.toThrow(/403/)
    })

    it('is refused with a foreign Host header, a DNS-rebinding attempt (403)', async () => {
      const t = `?token=${server.token}`
      for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, '127.0.0.1']) {
        expect(await status(t, { Host: host, Origin: `http://${host}` }), host).toBe(403)
        expect(await status(t, { Host: host }), host).toBe(403)
      }
    })

    it('is accepted with the token from the studio page itself (127.0.0.1 or localhost)', async () => {
      const t = `?token=${server.token}`
      expect(await status(t)).toBe(101)
      expect(await status(t, { Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` })).toBe(101)
      const c = await WsClient.connect(server.port, server.token, { Origin: origin })
      try {
        expect((await c.call<AppInfo>('info')).version).toBe('test')
      } finally {
        await c.close()
      }
    })

    it('serves the API only at /api', async () => {
      expect(await upgradeStatus(server.port, `/?token=${server.token}`, { Origin: origin })).toBe(404)
      expect(await upgradeStatus(server.port, `/api/x?token=${server.token}`, { Origin: origin })).toBe(404)
    })
  })

  describe('static files', () => {
    it('serves the renderer with safe headers, and 404 for what is not there', async () => {
      const index = await get(server.port, '/')
      expect(index.status).toBe(200)
      expect(index.headers['content-type']).toMatch(/^text\/html/)
      expect(index.headers['x-content-type-options']).toBe('nosniff')
      expect(index.body).toContain('<title>Curator</title>')
      expect((await get(server.port, '/assets/app.js')).headers['content-type']).toMatch(/^text\/javascript/)
      expect((await get(server.port, '/missing.html')).status).toBe(404)
      expect((await get(server.port, '/assets')).status).toBe(404)
    })

    it('sends the CSP as a header (its own WebSocket the only connect source, never framed), on every answer', async () => {
      const port = server.port
      for (const path of ['/', '/assets/app.js', '/missing.html', '/files/exports/model-1.zip']) {
        const r = await get(port, path)
        const csp = new Map(
          String(r.headers['content-security-policy'])
            .split(';')
            .map((d) => d.trim().split(/\s+/))
            .map(([name, ...sources]) => [name, sources])
        )
        expect(csp.get('default-src'), path).toEqual(["'self'"])
        expect(csp.get('script-src'), path).toEqual(["'self'"])
        expect(csp.get('object-src'), path).toEqual(["'none'"])
        expect(csp.get('frame-ancestors'), path).toEqual(["'none'"])
        expect(csp.get('connect-src'), path).toEqual(["'self'", `ws://127.0.0.1:${port}`, `ws://localhost:${port}`])
        expect(r.headers['x-frame-options'], path).toBe('DENY')
        // The page's URL holds the token: no link out sends it on.
        expect(r.headers['referrer-policy'], path).toBe('no-referrer')
        expect(r.headers['x-content-type-options'], path).toBe('nosniff')
      }
    })

    it('never serves a file outside the renderer folder', async () => {
      for (const path of TRAVERSALS) {
        const r = await get(server.port, path)
        expect([403, 404], `${path}: ${r.status}`).toContain(r.status)
        expect(r.body, path).not.toContain('secret')
        expect(r.body, path).not.toContain('root:')
      }
    })
  })

  describe('/files/', () => {
    it('requires the token (403 without it or with a wrong one)', async () => {
      expect((await get(server.port, '/files/exports/model-1/model.json')).status).toBe(403)
      expect((await get(server.port, '/files/exports/model-1/model.json?token=wrong')).status).toBe(403)
      expect((await get(server.port, '/files/exports/model-1/model.json?token=')).status).toBe(403)
    })

    it('serves the named folders with the token, and nothing outside them', async () => {
      const t = `?token=${server.token}`
      const ok = await get(server.port, `/files/exports/model-1/model.json${t}`)
      expect(ok.status).toBe(200)
      expect(ok.body).toBe('{"format":"layers-model"}')
      expect(ok.headers['content-type']).toBe('application/json')
      expect((await get(server.port, `/files/other/model.json${t}`)).status).toBe(404)
      expect((await get(server.port, `/files/exports/model-1/missing.bin${t}`)).status).toBe(404)
      for (const path of [
        '/files/exports/..%2fsecret.txt',
        '/files/exports/%2e%2e/secret.txt',
        '/files/exports/model-1/..%2f..%2fsecret.txt',
        '/files/exports/model-1/..%2f..%2f..%2fpackage.json',
        '/files/exports%2f..%2f..%2fsecret.txt/x'
      ]) {
        const r = await get(server.port, path + t)
        expect([403, 404], `${path}: ${r.status}`).toContain(r.status)
        expect(r.body, path).not.toContain('secret')
      }
    })

    it('serves a folder given with a trailing slash (e.g. --data-dir /x/)', async () => {
      const s = await serve({ studio: ts.studio, rendererDir: dirs.renderer, files: { exports: dirs.exports + '/' } })
      try {
        const r = await get(s.port, `/files/exports/model-1/model.json?token=${s.token}`)
        expect(r.status).toBe(200)
      } finally {
        await s.close()
      }
    })
  })
})

describe('browser mode survives hostile requests (server in a child process)', () => {
  const here = dirname(fileURLToPath(import.meta.url))
  let child: ChildProcess
  let tmp: { dir: string; remove: () => void }
  let port: number
  let token: string
  let stderr: string

  beforeAll(async () => {
    await testBaseModel() // built once here, not raced by the children
  })

  beforeEach(async () => {
    tmp = tempDir('curator-serve-child-')
    layout(tmp.dir)
    stderr = ''
    child = spawn(process.execPath, ['--import', 'tsx', join(here, 'serve-child.ts'), tmp.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env }
    })
    child.stderr!.on('data', (d) => (stderr += d))
    const ready = await new Promise<{ port: number; token: string }>((ok, fail) => {
      let out = ''
      child.stdout!.on('data', (d) => {
        out += d
        if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]))
      })
      child.once('exit', (code) => fail(new Error(`the server child exited (${code}) before it was ready: ${stderr}`)))
    })
    port = ready.port
    token = ready.token
  })

  afterEach(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    tmp.remove()
  })

  /** The child is still running and still answers. */
  async function expectAlive(): Promise<void> {
    await new Promise((ok) => setTimeout(ok, 100))
    expect(child.exitCode, `the server died: ${stderr.split('\n').slice(0, 3).join(' | ')}`).toBeNull()
    expect((await get(port, '/')).status).toBe(200)
  }

  /** A GET that answered, or status 0 with the reason it did not. */
  const tryGet = (path: string) => get(port, path).catch((err: Error) => ({ status: 0, body: err.message }))

  // Each probe gets a fresh server, so one crash does not hide the next.
  it.each([
    ['a malformed percent-escape in a renderer path', () => '/%'],
    ['a malformed percent-escape under /files/', () => `/files/exports/%E0%A4%A?token=${token}`],
    ['a path that parses as a protocol-relative URL', () => '//..%2fsecret.txt'],
    ['a /files/ folder name from the prototype chain (__proto__)', () => `/files/__proto__/x?token=${token}`],
    ['a /files/ folder name from the prototype chain (constructor)', () => `/files/constructor/x?token=${token}`],
    ['a token of the right length with a non-ASCII character', () => `/files/exports/x?token=${encodeURIComponent('é' + token.slice(1))}`]
  ])('GET with %s is refused (400/403/404), not a crash', async (_what, path) => {
    const r = await tryGet(path())
    expect([400, 403, 404], `${path()}: ${r.status} ${r.body}`).toContain(r.status)
    await expectAlive()
  })

  it.each([
    ['a token of the right length with a non-ASCII character', () => `/api?token=${encodeURIComponent('é' + token.slice(1))}`, [401]],
    ['a path that parses as a protocol-relative URL', () => `//[/api?token=${token}`, [400, 404]]
  ])('an upgrade with %s is refused, not a crash', async (_what, path, want) => {
    const u = await upgradeStatus(port, path(), { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` }).catch(() => 0)
    expect(want).toContain(u)
    await expectAlive()
  })

  it('clients that reset the connection while an upgrade is refused do not crash it', async () => {
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      await new Promise<void>((ok) => {
        const c = net.connect(port, '127.0.0.1', () => {
          c.write(
            `GET /api?token=wrong HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
          )
          c.resetAndDestroy()
          setTimeout(ok, 1)
        })
        c.on('error', () => ok())
      })
    }
    await expectAlive()
  })

  // Every way a client can break RFC 6455, and the close code the server must answer with.
  const closeWith = (code: number, reason: Buffer): Buffer => Buffer.concat([Buffer.from([code >> 8, code & 255]), reason])
  const HOSTILE_FRAMES: [string, number, () => Buffer[]][] = [
    ['invalid UTF-8 in a text frame', 1007, () => [frame(0x1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))]],
    [
      'a 2 MiB text message (over the 1 MiB limit), as from pasting a huge string',
      1009,
      () => [frame(0x1, JSON.stringify({ id: 1, method: 'openSession', args: ['x'.repeat(2 << 20)] }))]
    ],
    ['a frame length of 2^63 - 1', 1009, () => [frame(0x2, '', { length: (1n << 63n) - 1n })]],
    ['a reserved data opcode (0x3)', 1002, () => [frame(0x3, 'x')]],
    ['a reserved control opcode (0xB)', 1002, () => [frame(0xb, 'x')]],
    ['RSV1 set without a negotiated extension', 1002, () => [frame(0x1, '{}', { rsv: 4 })]],
    ['RSV2 set', 1002, () => [frame(0x1, '{}', { rsv: 2 })]],
    ['RSV3 set', 1002, () => [frame(0x1, '{}', { rsv: 1 })]],
    ['an unmasked client frame', 1002, () => [frame(0x1, '{}', { masked: false })]],
    ['a close code that may not be sent (1005)', 1002, () => [frame(0x8, closeWith(1005, Buffer.alloc(0)))]],
    ['a close code out of range (999)', 1002, () => [frame(0x8, closeWith(999, Buffer.alloc(0)))]],
    ['a one-byte close payload', 1002, () => [frame(0x8, Buffer.from([3]))]],
    ['invalid UTF-8 in a close reason', 1007, () => [frame(0x8, closeWith(1000, Buffer.from([0xff, 0xfe])))]],
    ['a fragmented ping', 1002, () => [frame(0x9, 'x', { fin: false })]],
    ['a ping over 125 bytes', 1002, () => [frame(0x9, 'x'.repeat(126))]],
    ['a continuation with no message to continue', 1002, () => [frame(0x0, '{}')]],
    ['a new text frame inside a fragmented message', 1002, () => [frame(0x1, '{"id":', { fin: false }), frame(0x1, '1}')]]
  ]

  it.each(HOSTILE_FRAMES)(
    'a WebSocket frame with %s closes that connection (code %i), and the server keeps serving',
    async (_what, code, bytes) => {
      expect(await rawWebSocket(port, token, bytes())).toBe(code)
      await expectAlive()
      const c = await WsClient.connect(port, token)
      try {
        expect(await c.call('state')).toBeNull()
      } finally {
        await c.close()
      }
    }
  )

  it('a 1,000,000-character session path (under the frame limit) is a BAD_ARGUMENT naming the length limit; the connection stays open', async () => {
    const c = await WsClient.connect(port, token)
    try {
      const r = await c.request('openSession', ['/tmp/' + 'x'.repeat(1_000_000)])
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('BAD_ARGUMENT')
      if (!r.ok) expect(r.error.message).toMatch(/at most 4096 characters/)
      expect(await c.call('state')).toBeNull()
    } finally {
      await c.close()
    }
  })

  it('the API still works in the child (sanity check of the harness)', async () => {
    const c = await WsClient.connect(port, token)
    try {
      expect(await c.call('state')).toBeNull()
    } finally {
      await c.close()
    }
  })
})
