// One scenario suite for the real studio and the renderer's fake (test/renderer/fake-studio.ts):
// each scenario drives a StudioApi as the renderer does, asserts what the renderer relies on,
// and returns what it saw. Both runs hold the shape of what they saw (keys and value types,
// never values) to one file per scenario in ./shapes/, written from the real studio
// (UPDATE_SHAPES=1), so the fake cannot drift from the real one without a test failing.
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

/**
 * Where `actual` differs from the `expected` shape: the same keys with the same types. A null or
 * an empty list on either side fits any value (a field that is empty for now, e.g. a baseline
 * still being computed), so timing never decides the outcome.
 */
export function shapeDiffs(actual: unknown, expected: unknown, path = '$'): string[] {
  if (actual === 'null' || expected === 'null') return []
  if (Array.isArray(actual) || Array.isArray(expected)) {
    if (!Array.isArray(actual) || !Array.isArray(expected)) return [`${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`]
    return actual.length && expected.length ? shapeDiffs(actual[0], expected[0], `${path}[0]`) : []
  }
  if (typeof actual === 'object' && typeof expected === 'object') {
    const a = actual as Record<string, unknown>
    const e = expected as Record<string, unknown>
    return [...new Set([...Object.keys(a), ...Object.keys(e)])]
      .sort()
      .flatMap((k) =>
        !(k in a)
          ? [`${path}.${k}: missing`]
          : !(k in e)
            ? [`${path}.${k}: not in the real studio's answer`]
            : shapeDiffs(a[k], e[k], `${path}.${k}`)
      )
  }
  return actual === expected ? [] : [`${path}: ${String(actual)} vs ${String(expected)}`]
}
