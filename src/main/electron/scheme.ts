// The desktop app's own scheme: the window loads curator://app/index.html, served from the built
// renderer folder by a protocol handler, instead of file://. The page gets an origin of its own
// (file:// pages share one with every local file), its CSP arrives as a response header, and
// nothing outside the renderer folder can be named.
import { readFile, realpath, stat } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { contentSecurityPolicy } from '../../shared/csp'
import { contentType } from '../files/mime'

export const APP_SCHEME = 'curator'
export const APP_HOST = 'app'
/** The one page the packaged window loads. */
export const APP_PAGE = `${APP_SCHEME}://${APP_HOST}/index.html`

/**
 * Registered before the app is ready (protocol.registerSchemesAsPrivileged): a standard scheme
 * (origins, relative URLs), secure like https, fetch and the code cache allowed. No bypass of the CSP.
 */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true }
} as const

/** What every response of the scheme carries. The desktop page talks over IPC: no WebSocket source. */
export const APP_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy(),
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin'
}

const inside = (dir: string, path: string) => {
  const r = relative(dir, path)
  return r !== '' && !r.startsWith('..') && !isAbsolute(r)
}

/** The file in `rendererDir` a request names, or null: another scheme or host, credentials or a port, a path out of the folder. */
export function appFileFor(url: string, rendererDir: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST || u.username || u.password) return null
  let path: string
  try {
    path = decodeURIComponent(u.pathname)
  } catch {
    return null
  }
  if (path.includes('\0')) return null
  // join() resolves any ../ (and on Windows any ..\), so what is left must still be inside.
  const file = join(rendererDir, path === '/' ? 'index.html' : path)
  return inside(rendererDir, file) ? file : null
}

/** Answers one request of the scheme: the file with its type and the headers above; 404 for anything else. Never throws. */
export async function appResponse(url: string, rendererDir: string): Promise<Response> {
  const file = appFileFor(url, rendererDir)
  try {
    // A symlink in the folder must not lead out of it either.
    if (file && (await stat(file)).isFile() && inside(await realpath(rendererDir), await realpath(file)))
      return new Response(await readFile(file), { status: 200, headers: { ...APP_HEADERS, 'Content-Type': contentType(file) } })
  } catch {
    // missing or unreadable: not found
  }
  return new Response('Not found', { status: 404, headers: { ...APP_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } })
}
