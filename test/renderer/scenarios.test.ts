// The scenario suite on the renderer's fake studio: the same scenarios, assertions and shapes
// as the real studio's run (test/main/studio/scenarios.test.ts), so the fake cannot drift.
import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../../src/shared/contract'
import { SCENARIOS, shape, shapeDiffs } from '../scenarios/studio-scenarios'
import { FakeStudio, replayDto } from './fake-studio'

describe('studio scenarios on the fake studio', () => {
  for (const s of SCENARIOS)
    it(s.name, async () => {
      // The real run's config, and what it has on this machine (wasm, tfjs-node absent).
      const config = { ...DEFAULT_CONFIG, poolLimit: 800, testLimit: 200 }
      const fake = new FakeStudio()
      fake.replayDto = { ...replayDto(1), config } // a new session replays as one step, its first fit
      fake.info_ = { ...fake.info_, backendNotice: 'tfjs-node is not installed: running on wasm' }
      const seen = await s.run(fake, config)
      const real = (await import(`../scenarios/shapes/${s.name}.json`)).default
      expect(shapeDiffs(shape(seen), real)).toEqual([])
    })
})
