// The scenario suite on the real studio (a real engine thread on a small MNIST session). Its
// shapes are the reference the renderer's fake is held to (test/renderer/scenarios.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SCENARIOS, shape, shapeFile } from '../../scenarios/studio-scenarios'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'

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
        await expect(JSON.stringify(shape(seen), null, 2) + '\n').toMatchFileSnapshot(shapeFile(s.name))
      },
      300_000
    )
})
