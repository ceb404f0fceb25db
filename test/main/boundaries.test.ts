// One rule, one message: the start form, the StudioApi binding, the session-log reader and the
// CLI all check a session config with src/shared/schema.ts. Each bad config below goes through
// every boundary that can express it, and each must refuse it with the same message.
import { describe, it, expect, vi, beforeAll, afterAll } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONFIG, type SessionConfig, type StudioApi } from '../../src/shared/contract'
import { formFromConfig, validateForm, type SessionForm } from '../../src/renderer/src/lib/session-form'
import { dispatch } from '../../src/main/studio/validate'
import { readSessionLog } from '../../src/main/session/log'
import { main } from '../../src/main/cli/index'
import { startEvent } from './session/fixtures'
import { CLI, ROOT } from './export/cli'

type Row = {
  name: string
  config: SessionConfig
  /** The schema path under the config ("batchSize") and the form field that shows it. */
  path: string
  field: keyof SessionForm
  /** The simulate flags that ask for the same thing, when the CLI can express it. */
  cli?: string[]
  message: string
  /** Old logs hold it (the API accepted it before the schema), so the log reader tolerates it: LoggedConfigSchema. */
  logTolerates?: boolean
}

const task = DEFAULT_CONFIG.task
const row = (name: string, over: Partial<SessionConfig>, path: string, field: keyof SessionForm, message: string, cli?: string[]): Row => ({
  name,
  config: { ...DEFAULT_CONFIG, ...over },
  path,
  field,
  message,
  cli
})

const ROWS: Row[] = [
  row(
    'batch size 65 (the form used to allow 256)',
    { batchSize: 65 },
    'batchSize',
    'batchSize',
    'must be a whole number from 1 to 64, got 65',
    ['--batch', '65']
  ),
  row('batch size 2.5', { batchSize: 2.5 }, 'batchSize', 'batchSize', 'must be a whole number from 1 to 64, got 2.5', ['--batch', '2.5']),
  row('batch size 1e9', { batchSize: 1e9 }, 'batchSize', 'batchSize', 'must be a whole number from 1 to 64, got 1000000000', [
    '--batch',
    '1e9'
  ]),
  row('batch size 0', { batchSize: 0 }, 'batchSize', 'batchSize', 'must be a whole number from 1 to 64, got 0', ['--batch', '0']),
  row('unfreeze 5', { unfreeze: 5 }, 'unfreeze', 'unfreeze', 'must be a whole number from 0 to 4, got 5', ['--unfreeze', '5']),
  row('negative seed', { seed: -1 }, 'seed', 'seed', 'must be a whole number from 0 to 2147483647, got -1', ['--seed', '-1']),
  row('seed 2^31', { seed: 2 ** 31 }, 'seed', 'seed', 'must be a whole number from 0 to 2147483647, got 2147483648', [
    '--seed',
    '2147483648'
  ]),
  row('pool limit 0', { poolLimit: 0 }, 'poolLimit', 'poolLimit', 'must be a whole number from 1 to 100000000, got 0', [
    '--pool-limit',
    '0'
  ]),
  row('test limit 1.5', { testLimit: 1.5 }, 'testLimit', 'testLimit', 'must be a whole number from 1 to 100000000, got 1.5', [
    '--test-limit',
    '1.5'
  ]),
  row(
    'unknown strategy',
    { strategy: 'smart' as never },
    'strategy',
    'strategy',
    'must be one of diverse, uncertainty, random, seed-window, got "smart"',
    ['--strategy', 'smart']
  ),
  row('unknown fit', { fit: 'sgd' as never }, 'fit', 'fit', 'must be one of converge, original, got "sgd"', ['--fit', 'sgd']),
  {
    ...row(
      'a positive key that Skip owns',
      { task: { ...task, positive: { name: 'odd', key: 's' } } },
      'task.positive.key',
      'positiveKey',
      'must not be a key the studio uses (S, G, ?, 0, 1, Space), got "s"'
    ),
    logTolerates: true
  },
  {
    ...row(
      'a negative key that Guess owns',
      { task: { ...task, negative: { name: 'even', key: 'G' } } },
      'task.negative.key',
      'negativeKey',
      'must not be a key the studio uses (S, G, ?, 0, 1, Space), got "g"'
    ),
    logTolerates: true
  },
  row(
    'a key of two characters',
    { task: { ...task, negative: { name: 'even', key: 'ev' } } },
    'task.negative.key',
    'negativeKey',
    'must be one character, got "ev"'
  ),
  row(
    'two answers on one key',
    { task: { ...task, positive: { name: 'odd', key: 'e' } } },
    'task.positive.key',
    'positiveKey',
    'must differ from the negative answer’s key'
  ),
  row(
    'two answers of one name',
    { task: { ...task, positive: { name: 'even', key: 'o' } } },
    'task.positive.name',
    'positiveName',
    'must differ from the negative answer'
  ),
  row('an empty question', { task: { ...task, question: '  ' } }, 'task.question', 'question', 'must not be empty'),
  row(
    'a question of 501 characters',
    { task: { ...task, question: 'x'.repeat(501) } },
    'task.question',
    'question',
    'must be at most 500 characters, got 501'
  ),
  row('an empty dataset', { dataset: '' }, 'dataset', 'dataset', 'must not be empty')
]

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'curator-boundaries-'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A studio that fails the test if a refused call reaches it. */
const unreachable = new Proxy({} as StudioApi, {
  get: (_t, method) => () => {
    throw new Error(`${String(method)} reached the studio`)
  }
})

describe.each(ROWS)('$name', (r) => {
  it('the start form shows the message under its field', () => {
    const { config, errors } = validateForm(formFromConfig(r.config))
    expect(config).toBeNull()
    expect(errors[r.field]).toBe(r.message)
  })

  it('the API refuses it as BAD_ARGUMENT with the message', async () => {
    const refused = await dispatch(unreachable, 'newSession', [r.config]).then(
      () => null,
      (e) => e
    )
    expect(refused).toMatchObject({ code: 'BAD_ARGUMENT', message: `config.${r.path} ${r.message}` })
  })

  it('the log reader refuses a start event with it', async () => {
    const dir = join(tmp, r.name.replace(/\W+/g, '-'))
    mkdirSync(dir)
    writeFileSync(join(dir, 'session.jsonl'), JSON.stringify(startEvent({ config: r.config })) + '\n')
    const refused = await readSessionLog(dir).then(
      () => null,
      (e) => e
    )
    if (r.logTolerates) {
      expect(refused).toBeNull()
      return
    }
    expect(refused?.code).toBe('BAD_DATA')
    expect(refused?.message).toContain(`(line 1: start.config.${r.path} ${r.message})`)
  })

  it.runIf(r.cli)('the CLI prints one line naming the flag, and exits with 2', async () => {
    const lines: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((s) => void lines.push(String(s)))
    let code: number
    try {
      code = await main(['simulate', ...r.cli!])
    } finally {
      spy.mockRestore()
    }
    expect(code).toBe(2)
    expect(lines).toEqual([`curator simulate: ${r.cli![0]} ${r.message}`])
  })
})

describe('a 20-digit seed', () => {
  const message = 'must be a whole number from 0 to 2147483647, got "12345678901234567890"'
  it('the form and the CLI echo the digits typed, never a rounded 12345678901234567000', async () => {
    expect(validateForm({ ...formFromConfig(DEFAULT_CONFIG), seed: '12345678901234567890' }).errors.seed).toBe(message)
    const lines: string[] = []
    const spy = vi.spyOn(console, 'error').mockImplementation((s) => void lines.push(String(s)))
    try {
      expect(await main(['simulate', '--seed', '12345678901234567890'])).toBe(2)
    } finally {
      spy.mockRestore()
    }
    expect(lines).toEqual([`curator simulate: --seed ${message}`])
  })
})

describe('the CLI as a process', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })

  it.each([
    [['simulate', '--budget', '-5'], 'curator simulate: --budget must be a whole number from 1 to 1000000, got -5'],
    [['simulate', '--batch', '2.5'], 'curator simulate: --batch must be a whole number from 1 to 64, got 2.5'],
    [['simulate', '--batch', 'four'], 'curator simulate: --batch must be a whole number from 1 to 64, got "four"'],
    [['simulate', '--seed', '5-2'], 'curator simulate: --seed must be N, N-M (at most 1000 seeds) or N,M,...; got "5-2"'],
    [['pretrain', '--epochs', '0'], 'curator pretrain: --epochs must be a whole number from 1 to 50, got 0'],
    [['serve', '--port', '70000'], 'curator serve: --port must be a whole number from 0 to 65535, got 70000']
  ])('%j: one line on stderr, exit code 2', (args, line) => {
    const r = run(...args)
    expect(r.stderr.trimEnd().split('\n')).toEqual([line])
    expect(r.status).toBe(2)
  })

  it('an unknown option is one line and exit code 2, not a stack or exit 1', () => {
    const r = run('simulate', '--bach', '4')
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr.trimEnd()).toBe("curator simulate: Unknown option '--bach' (see curator simulate --help)")
    expect(r.status).toBe(2)
  })
})
