// A browser-mode server in a child process, for the tests that try to crash it: if one
// succeeds, only this process dies and the test sees it. Usage: serve-child.ts ROOT
// (ROOT holds renderer/index.html; the parent removes ROOT). Prints {"port","token"} when ready.
import { join } from 'node:path'
import { startEngine } from '../../../src/main/engine/client'
import { serve } from '../../../src/main/server/server'
import { Studio } from '../../../src/main/studio/studio'
import { testBaseModel } from '../../helpers/studio'

async function main(): Promise<void> {
  const root = process.argv[2]
  process.env.CURATOR_BASE_MODEL = await testBaseModel()
  const engine = startEngine(() => {})
  const dataDir = join(root, 'data')
  const studio = new Studio({ dataDir, engine, version: 'test', cacheDir: join(root, 'cache') })
  const server = await serve({ studio, rendererDir: join(root, 'renderer'), files: { exports: join(dataDir, 'exports') } })
  process.stdout.write(JSON.stringify({ port: server.port, token: server.token }) + '\n')
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => engine.terminate())
      .then(() => process.exit(0))
  })
}

void main()
