// The engine thread: all TF.js work happens here, never on the main thread.
import { parentPort } from 'node:worker_threads'
import { toErrorDto } from '../../shared/errors'
import { Engine } from './engine'
import type { EngineReply, EngineRequest } from './protocol'
import { onParentMessage } from './threads'

const port = parentPort!
const send = (m: EngineReply) => port.postMessage(m)
const engine = new Engine((progress) => send({ progress }))
let queue: Promise<unknown> = Promise.resolve()

onParentMessage((m: EngineRequest | { cancel: true }) => {
  if ('cancel' in m) return engine.cancel() // out of band: must not wait behind the running call
  // One call at a time, in order: the learner is stateful.
  queue = queue.then(async () => {
    try {
      const fn = engine[m.method] as (...a: unknown[]) => unknown
      send({ id: m.id, ok: true, result: await fn.apply(engine, m.args) })
    } catch (err) {
      send({ id: m.id, ok: false, error: toErrorDto(err) })
    }
  })
})
