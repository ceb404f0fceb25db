// Child process for crash.test.ts: labels as fast as it can and prints `ACK <id>` after each
// label is flushed. The test kills it with SIGKILL at random moments. Ids continue from the
// last label found in the log, so they stay unique across restarts.
import { createSessionLog, openSessionLog } from '../../../src/main/session/log'
import type { SessionLog } from '../../../src/main/session/log'
import { CuratorError } from '../../../src/shared/errors'
import { DEFAULT_CONFIG } from '../../../src/shared/contract'

async function main(): Promise<void> {
  const dir = process.argv[2]
  let log: SessionLog
  let next = 0
  try {
    const opened = await openSessionLog(dir)
    log = opened.log
    for (const e of opened.events) if (e.type === 'label') next = Math.max(next, e.id + 1)
  } catch (err) {
    if (!(err instanceof CuratorError && err.code === 'NOT_FOUND')) throw err
    const at = new Date().toISOString()
    log = await createSessionLog(dir, {
      v: 1,
      type: 'start',
      at,
      id: 'crash',
      config: DEFAULT_CONFIG,
      dataset: { id: 'mnist', hash: 'h', poolSize: 1_000_000, testSize: 0 },
      base: { id: 'b', hash: 'h' },
      backend: 'cpu',
      app: 'curator test'
    })
  }
  process.stdout.write(`READY ${next}\n`)
  for (let id = next; ; id++) {
    await log.append({ v: 1, type: 'label', at: new Date().toISOString(), id, value: (id % 2) as 0 | 1, iteration: 0, responseMs: 1 })
    process.stdout.write(`ACK ${id}\n`)
  }
}

main().catch((err) => {
  process.stderr.write(`label-writer: ${(err as Error).stack}\n`)
  process.exit(1)
})
