// The scenario suite on the real studio (a real engine thread on a small MNIST session). Its
// shapes are the reference the renderer's fake is held to (test/renderer/scenarios.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCENARIOS, shape, shapeDiffs } from '../../scenarios/studio-scenarios'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'

const SHAPES = resolve(dirname(fileURLToPath(import.meta.url)), '../../scenarios/shapes')
let ts: TestStudio
beforeAll(async () => {
  ts = await startTestStudio()
}, 300_000)
afterAll(() => ts?.close())

describe('studio scenarios on the real studio', () => {
  for (const s of SCENARIOS)
    it(
      s.name,
      async () => {
        const seen = await s.run(ts.studio, testConfig())
        await ts.studio.close()
        const file = join(SHAPES, `${s.name}.json`)
        if (process.env.UPDATE_SHAPES === '1' || !existsSync(file)) {
          mkdirSync(SHAPES, { recursive: true })
          writeFileSync(file, JSON.stringify(shape(seen), null, 2) + '\n')
        }
        expect(shapeDiffs(shape(seen), JSON.parse(readFileSync(file, 'utf8')))).toEqual([])
      },
      300_000
    )
})
