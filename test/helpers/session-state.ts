// A session state with every field at its empty default, for tests of what reads or sends one.
import { DEFAULT_CONFIG, type SessionState } from '../../src/shared/contract'

export function sessionState(over: Partial<SessionState> = {}): SessionState {
  return {
    id: 's1',
    dir: '/tmp/s1',
    config: DEFAULT_CONFIG,
    backend: 'cpu',
    poolSize: 100,
    testSize: 0,
    baseClassNames: [],
    history: [],
    labels: [],
    skipped: [],
    queue: [],
    answered: [],
    next: null,
    warnings: [],
    baseline: [],
    advice: null,
    writeError: null,
    ...over
  }
}
