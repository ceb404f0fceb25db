import { DEFAULT_CONFIG, SessionConfig, STRATEGIES, StrategyName, FITS, FitName } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { initBackend } from '../engine/backend'
import { prepare, disposePrepared } from '../engine/setup'
import type { IterationRecord } from '../engine/loop'
import { simulate, SimulateSummary } from '../engine/simulate'
import { recordSimulation } from '../session/replay'
import { progressPrinter } from './output'

export interface SimulateArgs {
  strategies: StrategyName[]
  seeds: number[]
  batch: number
  budget: number
  unfreeze: number
  fit?: FitName
  json: boolean
  dataset: string
  positive?: string[]
  labels?: [string, string]
  poolLimit?: number
  testLimit?: number
  /** Record the run as a session in this folder (one strategy and one seed only). */
  session?: string
}

export function parseStrategies(v: string | undefined): StrategyName[] {
  if (!v) return [DEFAULT_CONFIG.strategy]
  const list = v === 'all' ? [...STRATEGIES] : v.split(',')
  for (const s of list) if (!STRATEGIES.includes(s as StrategyName)) throw new CuratorError('BAD_ARGUMENT', `Unknown strategy "${s}": use ${STRATEGIES.join(', ')} or all`)
  return list as StrategyName[]
}

export function parseFit(v: string | undefined): FitName | undefined {
  if (v === undefined) return undefined
  if (!FITS.includes(v as FitName)) throw new CuratorError('BAD_ARGUMENT', `Unknown fit "${v}": use ${FITS.join(' or ')}`)
  return v as FitName
}

/** "1-5" or "1,2,7". */
export function parseSeeds(v: string | undefined): number[] {
  if (!v) return [1]
  const range = /^(\d+)-(\d+)$/.exec(v)
  const seeds = range ? Array.from({ length: +range[2] - +range[1] + 1 }, (_, i) => +range[1] + i) : v.split(',').map(Number)
  if (!seeds.length || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new CuratorError('BAD_ARGUMENT', `--seed must be N, N-M or N,M,...; got "${v}"`)
  return seeds
}

export function configFor(a: SimulateArgs, strategy: StrategyName, seed: number): SessionConfig {
  const task = { ...DEFAULT_CONFIG.task }
  if (a.positive) task.positiveClasses = a.positive
  if (a.labels) {
    task.negative = { name: a.labels[0], key: a.labels[0][0].toLowerCase() }
    task.positive = { name: a.labels[1], key: a.labels[1][0].toLowerCase() }
    task.question = `${a.labels[1]} or ${a.labels[0]}?`
  }
  return {
    ...DEFAULT_CONFIG,
    dataset: a.dataset,
    task,
    strategy,
    // The faithful seed-window comparison trains the way the original did.
    fit: a.fit ?? (strategy === 'seed-window' ? 'original' : 'converge'),
    batchSize: a.batch,
    unfreeze: a.unfreeze,
    seed,
    poolLimit: a.poolLimit,
    testLimit: a.testLimit
  }
}

export async function simulateCommand(a: SimulateArgs): Promise<void> {
  const backend = await initBackend()
  const results: { strategy: StrategyName; seed: number; summary: SimulateSummary }[] = []
  const many = a.strategies.length * a.seeds.length > 1
  if (a.session !== undefined && many) throw new CuratorError('BAD_ARGUMENT', '--session records one run: give a single --strategy and a single --seed')
  for (const strategy of a.strategies) {
    for (const seed of a.seeds) {
      const config = configFor(a, strategy, seed)
      const p = await prepare(config, { backend, onProgress: progressPrinter() })
      const onIteration = (r: IterationRecord) => {
        if (!a.json && many) return
        const line = { strategy, seed, iteration: r.iteration, labels: r.labels, testAccuracy: r.testAccuracy, labelledAccuracy: r.labelledAccuracy, headWeights: r.headWeights, headBias: r.headBias, iterationMs: round(r.iterationMs, 3), asked: r.next.ids }
        console.log(a.json ? JSON.stringify(line) : `iter ${String(r.iteration).padStart(3)}  labels ${String(r.labels).padStart(4)}  test acc ${fmt(r.testAccuracy)}  ${r.iterationMs.toFixed(1)} ms  weights ${r.headWeights.map((w) => w.toFixed(2)).join(' ')}`)
      }
      let summary: SimulateSummary
      try {
        if (a.session !== undefined) {
          const rec = await recordSimulation(a.session, p, config, { budget: a.budget, backend, onIteration })
          summary = rec.summary
          console.error(`Recorded session ${rec.id} in ${rec.dir}`)
        } else summary = await simulate(p, { strategy, batchSize: a.batch, budget: a.budget, onIteration })
      } finally {
        disposePrepared(p)
      }
      results.push({ strategy, seed, summary })
      if (a.json) console.log(JSON.stringify({ summary: { strategy, seed, backend, ...summary } }))
    }
  }
  if (!a.json || many) printTable(results, a.seeds)
}

function printTable(results: { strategy: StrategyName; seed: number; summary: SimulateSummary }[], seeds: number[]): void {
  const out = (line: string) => process.stdout.write(line + '\n')
  out(`\nLabels to reach >= 98.5% held-out accuracy (batch, seeds ${seeds.join(',')}):`)
  out(`${'strategy'.padEnd(13)}${seeds.map((s) => `seed ${s}`.padStart(9)).join('')}   median   final acc`)
  for (const strategy of [...new Set(results.map((r) => r.strategy))]) {
    const rows = results.filter((r) => r.strategy === strategy)
    const counts = rows.map((r) => r.summary.labelsTo985)
    const finals = rows.map((r) => r.summary.finalTestAccuracy ?? NaN)
    out(`${strategy.padEnd(13)}${counts.map((c) => String(c ?? '-').padStart(9)).join('')}   ${String(median(counts) ?? '-').padStart(6)}   ${(finals.reduce((s, x) => s + x, 0) / finals.length).toFixed(4)}`)
  }
}

/** Median of label counts, treating "never" (null) as larger than any count. */
export function median(xs: (number | null)[]): number | null {
  const s = [...xs].sort((a, b) => (a ?? Infinity) - (b ?? Infinity))
  const m = s[Math.floor((s.length - 1) / 2)]
  return m ?? null
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d
const fmt = (x: number | null) => (x === null ? '  -   ' : x.toFixed(4))
