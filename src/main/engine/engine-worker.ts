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
/** Calls received and not yet answered. */
let pending = 0
let idleScheduled = false

/**
 * While no call waits, the engine's idle work (the warm-up after an open) runs a step at a time,
 * each in its own macrotask, so a call that arrives waits behind at most one step.
 */
function scheduleIdle(): void {
  if (idleScheduled) return
  idleScheduled = true
  setImmediate(() => {
    idleScheduled = false
    if (pending) return
    queue = queue.then(async () => {
      if (pending) return
      const more = await engine.idle().catch(() => false)
      if (more) scheduleIdle()
    })
  })
}

onParentMessage((m: EngineRequest | { cancel: true }) => {
  if ('cancel' in m) return engine.cancel() // out of band: must not wait behind the running call
  pending++
  // One call at a time, in order: the learner is stateful.
  queue = queue.then(async () => {
    try {
      const fn = engine[m.method] as (...a: unknown[]) => unknown
      send({ id: m.id, ok: true, result: await fn.apply(engine, m.args) })
    } catch (err) {
      send({ id: m.id, ok: false, error: toErrorDto(err) })
    }
    if (--pending === 0) scheduleIdle()
  })
})
