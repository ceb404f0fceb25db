// The Content-Type of a file the app serves (browser mode, the desktop app's own scheme).
import { extname } from 'node:path'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2'
}

export const contentType = (file: string): string => MIME[extname(file).toLowerCase()] ?? 'application/octet-stream'
