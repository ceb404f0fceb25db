import { readBase } from '../engine/base'
import { startEngine } from '../engine/client'
import { readAddress, writeAddress } from '../server/address'
import { RunningServer, serve } from '../server/server'
import { Studio } from '../studio/studio'
import { defaultDataDir, rendererDir } from '../paths'
import { VERSION } from '../version'
import { formatProgress } from '../../shared/progress'

export interface ServeArgs {
  /** Undefined: the port of the last server on this data folder (when free), else any free one. */
  port?: number
  host: string
  dataDir?: string
  session?: string
  /** A base model folder for new sessions (instead of the one chosen on the start screen). */
  base?: string
}

/** Browser mode: the whole studio in any browser, on loopback. Runs until interrupted. */
export async function serveCommand(a: ServeArgs): Promise<{ url: string; close(): Promise<void> }> {
  const dataDir = a.dataDir ?? defaultDataDir()
  if (a.base) readBase(a.base) // a bad --base is a clear error now, not at the first session
  let last = 0
  const engine = startEngine((p) => {
    studio.emit('progress', p)
    if (Date.now() - last > 1000 || p.done >= p.total) {
      last = Date.now()
      process.stderr.write(`${formatProgress(p)}\n`)
    }
  })
  const studio: Studio = new Studio({ dataDir, engine, version: VERSION, baseDir: a.base })
  if (a.session) {
    const s = await studio.openSession(a.session)
    console.error(`Resumed session ${s.id}: ${s.labels.length} labels, iteration ${s.history.length - 1}`)
    for (const w of s.warnings) console.error(`Note: ${w}`)
  }
  // The same address as the last run on this data folder, so an open tab finds its way back.
  const previous = readAddress(dataDir)
  const options = {
    studio,
    rendererDir: rendererDir(),
    host: a.host,
    token: previous?.token,
    files: { exports: `${dataDir}/exports`, sessions: `${dataDir}/sessions` }
  }
  let server: RunningServer
  try {
    server = await serve({ ...options, port: a.port ?? previous?.port ?? 0 })
  } catch (err) {
    if (a.port !== undefined || !previous || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    server = await serve({ ...options, port: 0 })
    console.error(`Note: port ${previous.port} of the previous run is taken; open tabs cannot reconnect: open the new address`)
  }
  await writeAddress(dataDir, { port: server.port, token: server.token })
  console.log(`Curator is ready at ${server.url}`)
  if (a.host !== '127.0.0.1' && a.host !== 'localhost' && a.host !== '::1')
    console.error(`Warning: listening on ${a.host}, reachable from other machines (the token still guards the API)`)
  const close = async () => {
    await server.close()
    await studio.close()
    await engine.terminate()
  }
  return { url: server.url, close }
}
