// One scenario suite for the real studio and the renderer's fake (test/renderer/fake-studio.ts):
// each scenario drives a StudioApi as the renderer does, asserts what the renderer relies on,
// and returns what it saw. Both runs compare the shape of what they saw (keys and value types,
// never values) with one file per scenario in ./shapes/, written from the real studio, so the
// fake cannot drift from the real one without a test failing.
import { expect } from 'vitest'
import type { SessionConfig, StudioApi } from '../../src/shared/contract'

export interface Scenario {
  name: string
  run(api: StudioApi, config: SessionConfig): Promise<Record<string, unknown>>
}

/** The error code a call rejects with (null if it resolves). */
async function codeOf(call: Promise<unknown>): Promise<string | null> {
  try {
    await call
    return null
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code'
  }
}

const isFileName = (f: string) => f.length > 0 && !f.includes('/') && !f.includes('\\')

export const SCENARIOS: Scenario[] = [
  {
    name: 'info-and-sessions',
    async run(api) {
      const info = await api.info()
      expect(info.base.classNames.length).toBeGreaterThan(0)
      return { info, sessions: await api.listSessions() }
    }
  },
  {
    name: 'answer-skip-undo',
    async run(api, config) {
      const started = await api.newSession(config)
      expect(started.queue).toHaveLength(config.batchSize)
      const [a, b] = started.queue
      const labelled = await api.label(a.id, 1, 120)
      expect(labelled).toEqual({ labels: 1 })
      const skipped = await api.skip(b.id)
      expect(skipped).toEqual({ skipped: 1 })
      const state = (await api.state())!
      expect(state.labels.map((l) => l.id)).toEqual([a.id])
      expect(state.skipped).toEqual([b.id])
      // Undo takes back the last answer, a skip included: the skipped image is asked again.
      const undone = await api.undo()
      expect(undone.labels.map((l) => l.id)).toEqual([a.id])
      expect(undone.skipped).toEqual([])
      expect(undone.queue.map((q) => q.id)).toContain(b.id)
      return { started, labelled, skipped, state, undone }
    }
  },
  {
    name: 'exports-name-their-files',
    async run(api, config) {
      const s = await api.newSession(config)
      const model = await api.exportModel(undefined, undefined, undefined)
      expect(model.files.length).toBeGreaterThan(0)
      for (const f of model.files) expect(isFileName(f), f).toBe(true)
      expect(model.files).toContain('model.json')
      const gif = await api.exportGif(s.dir).catch((err: { code?: string }) => ({ code: err.code }))
      if ('files' in gif) {
        expect(gif.dir).toBe(s.dir)
        expect(gif.files).toEqual(['session.gif'])
      } else expect(gif.code).toBe('BAD_DATA') // nothing fitted yet to draw
      return { model }
    }
  },
  {
    name: 'replay-keeps-the-open-session',
    async run(api, config) {
      const s = await api.newSession(config)
      const replay = await api.replay(s.dir)
      expect(replay.steps.length).toBeGreaterThan(0)
      expect((await api.state())?.dir).toBe(s.dir)
      return { replay }
    }
  },
  {
    name: 'bad-input-gets-typed-errors',
    async run(api, config) {
      const s = await api.newSession(config)
      const codes = {
        openMissing: await codeOf(api.openSession('/nonexistent-curator-folder/session')),
        labelNotAsked: await codeOf(api.label(s.poolSize + 5, 1, 10))
      }
      expect(codes).toEqual({ openMissing: 'NOT_FOUND', labelNotAsked: 'BAD_ARGUMENT' })
      return { codes }
    }
  }
]

/** Keys and value types of `v`, recursively; an array is the shape of its first element. */
export function shape(v: unknown): unknown {
  if (v === null) return 'null'
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : []
  if (typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as object)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, shape((v as Record<string, unknown>)[k])])
    )
  return typeof v
}

/** The file holding a scenario's shape (written by the real studio's run, checked by both). */
export const shapeFile = (name: string): string => decodeURIComponent(new URL(`./shapes/${name}.json`, import.meta.url).pathname)
