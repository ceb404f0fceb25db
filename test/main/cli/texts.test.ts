// What the CLI says: per-command help, the backend line first on every command, the batch size
// in the simulate table's header, whole numbers printed whole in progress lines.
import { describe, it, expect, afterAll } from 'vitest'
import { join } from 'node:path'
import { defaultBaseDir } from '../../../src/main/engine/base'
import { formatProgress } from '../../../src/shared/progress'
import { cliEnv, finished, startCli, T10K_IMAGES } from '../export/cli'
import { tempDir } from '../../helpers/tmp'

const tmp = tempDir()
afterAll(() => tmp.remove())
const env = cliEnv(defaultBaseDir(), process.env.CURATOR_CACHE_DIR ?? join(tmp.dir, 'cache'))
const run = (args: string[]) => finished(startCli(args, { ...env, CURATOR_DATA_DIR: join(tmp.dir, 'data') }))
const BACKEND_LINE = /^TF\.js backend: (wasm|cpu|tensorflow)/

describe('curator texts', () => {
  it('`<command> --help` prints that command and its options, not the global help', async () => {
    for (const [cmd, option, other] of [
      ['simulate', '--pool-limit', 'pretrain '],
      ['replay', '--verify', 'simulate '],
      ['export', '--with-images', 'predict ']
    ]) {
      const r = await run([cmd, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`Usage: curator ${cmd}`)
      expect(r.stdout).toContain(option)
      expect(r.stdout).not.toContain(other)
    }
  })

  it('simulate, replay, export and predict each print the backend line first; the table header names the batch size', async () => {
    const session = join(tmp.dir, 'session')
    const sim = await run(['simulate', '--budget', '6', '--batch', '3', '--pool-limit', '300', '--test-limit', '100', '--session', session])
    expect(sim.code, sim.stderr).toBe(0)
    expect(sim.stderr).toMatch(BACKEND_LINE)
    expect(sim.stdout).toContain('Answers to reach >= 98.5% held-out accuracy (batch 3, seeds 1):')
    const replay = await run(['replay', session])
    expect(replay.code, replay.stderr).toBe(0)
    expect(replay.stderr).toMatch(BACKEND_LINE)
    const model = join(tmp.dir, 'model')
    const exp = await run(['export', '--session', session, '--out', model])
    expect(exp.code, exp.stderr).toBe(0)
    expect(exp.stderr).toMatch(BACKEND_LINE)
    const predict = await run(['predict', '--model', model, `idx:${T10K_IMAGES}:2`])
    expect(predict.code, predict.stderr).toBe(0)
    expect(predict.stderr).toMatch(BACKEND_LINE)
  })

  it('progress prints an epoch as 1, a loss with four decimals', () => {
    const line = formatProgress({ task: 'pretrain', done: 10, total: 100, rate: 5, etaSeconds: 18, detail: { epoch: 1, loss: 0.123456 } })
    expect(line).toContain(' epoch 1 ')
    expect(line).toContain(' loss 0.1235')
  })
})
