// Browser mode keeps one address per data folder: the port and token of the last `curator serve`
// on it, in <data dir>/browser-mode.json, readable by its owner only. A restarted server comes
// back where it was, so an open tab reconnects by itself instead of pointing at nothing.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../files/safe'

export const ADDRESS_FILE = 'browser-mode.json'

export interface ServedAddress {
  port: number
  token: string
}

const TOKEN = /^[A-Za-z0-9_-]{32,128}$/

/**
 * The address the last server on `dataDir` had, or null: no file, a damaged one, or one that
 * others could read (its token is then no secret: a new one is made).
 */
export function readAddress(dataDir: string): ServedAddress | null {
  const file = join(dataDir, ADDRESS_FILE)
  try {
    const st = statSync(file)
    if (!st.isFile() || st.size > 4096) return null
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) return null
    const a = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServedAddress>
    const portOk = Number.isInteger(a.port) && a.port! > 0 && a.port! < 65536
    return portOk && typeof a.token === 'string' && TOKEN.test(a.token) ? { port: a.port!, token: a.token } : null
  } catch {
    return null
  }
}

/** Remembers the address for the next server on `dataDir` (owner-only permissions). */
export async function writeAddress(dataDir: string, a: ServedAddress): Promise<void> {
  await writeFileAtomic(join(dataDir, ADDRESS_FILE), JSON.stringify({ port: a.port, token: a.token }) + '\n', { mode: 0o600 })
}
