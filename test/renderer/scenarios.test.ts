// The scenario suite on the renderer's fake studio: the same scenarios, assertions and shapes
// as the real studio's run (test/main/studio/scenarios.test.ts), so the fake cannot drift.
import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { SCENARIOS, shape, shapeFile } from '../scenarios/studio-scenarios'
import { FakeStudio, replayDto } from './fake-studio'

describe('studio scenarios on the fake studio', () => {
  for (const s of SCENARIOS)
    it(s.name, async () => {
      const fake = new FakeStudio()
      fake.replayDto = replayDto(1) // a new session replays as one step, its first fit
      const seen = await s.run(fake, DEFAULT_CONFIG)
      await expect(JSON.stringify(shape(seen), null, 2) + '\n').toMatchFileSnapshot(shapeFile(s.name))
    })
})
