import { DEFAULT_CONFIG, DEFAULT_TASK, SessionConfig, STRATEGIES, StrategyName, FitName, TaskConfig } from '../../shared/contract'
import { CuratorError } from '../../shared/errors'
import { loadDataset } from '../data/load'
import { previewDataset } from '../data/preview'
import { listSkipped } from '../data/dataset'
import { prepare, disposePrepared } from '../engine/setup'
import { defaultBaseDir, readBase } from '../engine/base'
import type { IterationRecord } from '../engine/loop'
import type { Answer } from '../engine/learner'
import { simulate, SimulateSummary } from '../engine/simulate'
import { recordSimulation } from '../session/record'
import { CONFIG_FIELDS, numberFromText, RESERVED_KEYS } from '../../shared/schema'
import { cliParse, progressPrinter, startBackend } from './output'

export interface SimulateArgs {
  strategies: StrategyName[]
  seeds: number[]
  batch: number
  budget: number
  /** The simulated labeller's chance of a wrong answer (default 0). */
  noise?: number
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
  /** A base model folder instead of the shipped digit CNN. */
  base?: string
}

export function parseStrategies(v: string | undefined): StrategyName[] {
  if (!v) return [DEFAULT_CONFIG.strategy]
  return v === 'all' ? [...STRATEGIES] : v.split(',').map((s) => cliParse(CONFIG_FIELDS.strategy, s, '--strategy'))
}

export function parseFit(v: string | undefined): FitName | undefined {
  return v === undefined ? undefined : cliParse(CONFIG_FIELDS.fit, v, '--fit')
}

/** "1-5" or "1,2,7". */
export function parseSeeds(v: string | undefined): number[] {
  if (!v) return [1]
  const range = /^(\d+)-(\d+)$/.exec(v)
  const seed = (x: string) => cliParse(CONFIG_FIELDS.seed, numberFromText(x), '--seed')
  if (!range) return v.split(',').map(seed)
  const [from, to] = [seed(range[1]), seed(range[2])]
  if (to < from || to - from >= 1000)
    throw new CuratorError('BAD_ARGUMENT', `--seed must be N, N-M (at most 1000 seeds) or N,M,...; got "${v}"`)
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/**
 * --positive: each entry is a class name of the dataset or an index into its class list
 * (a name wins when it is both, as MNIST's digits are).
 */
export function resolvePositive(positive: string[], classNames: string[] | null, dataset: string): string[] {
  if (!classNames)
    throw new CuratorError(
      'BAD_ARGUMENT',
      `--positive: the dataset ${dataset} has no ground-truth classes (a folder needs one subfolder per class)`
    )
  const list = classNames.map((c, i) => `${i}=${c}`).join(', ')
  const out: string[] = []
  for (const raw of positive) {
    const p = raw.trim()
    if (!p) throw new CuratorError('BAD_ARGUMENT', `--positive has an empty entry in "${positive.join(',')}"`)
    const name = classNames.includes(p) ? p : /^\d+$/.test(p) && Number(p) < classNames.length ? classNames[Number(p)] : null
    if (name === null)
      throw new CuratorError(
        'BAD_ARGUMENT',
        `--positive: "${p}" is neither a class name nor a class index of ${dataset}; its classes are ${list}`
      )
    if (!out.includes(name)) out.push(name)
  }
  if (out.length === classNames.length)
    throw new CuratorError(
      'BAD_ARGUMENT',
      `--positive: every class of ${dataset} is positive, so nothing is negative; leave at least one of ${list} out`
    )
  return out
}

/** A one-character key for an answer: the first usable letter or digit of its name. */
function keyFor(name: string, taken: string[]): string {
  const ok = (k: string) => /^[\p{L}\p{N}]$/u.test(k) && !(RESERVED_KEYS as readonly string[]).includes(k) && !taken.includes(k)
  return [...name.toLowerCase()].find(ok) ?? [...'abcdefhijklmnopqrtuvwxyz'].find(ok)!
}

/**
 * The task of a simulated run: --positive (default: odd digits, MNIST's task) decides the
 * ground truth, --labels NEG,POS names the answers. Another dataset's classes need --positive.
 */
export function taskFor(a: Pick<SimulateArgs, 'positive' | 'labels' | 'dataset'>, classNames: string[] | null): TaskConfig {
  if (!classNames)
    throw new CuratorError(
      'BAD_ARGUMENT',
      `simulate answers from ground truth, and the dataset ${a.dataset} has none: put its images in one subfolder per class`
    )
  const defaults = DEFAULT_TASK.positiveClasses!
  let positiveClasses: string[]
  if (a.positive) positiveClasses = resolvePositive(a.positive, classNames, a.dataset)
  else if (defaults.every((c) => classNames.includes(c))) positiveClasses = [...defaults]
  else
    throw new CuratorError(
      'BAD_ARGUMENT',
      `Give --positive CLASSES: the default (odd digits ${defaults.join(',')}) does not fit ${a.dataset}, whose classes are ${classNames.map((c, i) => `${i}=${c}`).join(', ')}`
    )
  const isDefault = positiveClasses.length === defaults.length && positiveClasses.every((c) => defaults.includes(c))
  if (a.labels) {
    const [neg, pos] = a.labels.map((l) => l.trim())
    if (!neg || !pos) throw new CuratorError('BAD_ARGUMENT', `--labels must be NEGATIVE,POSITIVE, got "${a.labels.join(',')}"`)
    if (neg === pos) throw new CuratorError('BAD_ARGUMENT', `--labels needs two different names, got "${neg}" twice`)
    if (neg.length > 64 || pos.length > 64) throw new CuratorError('BAD_ARGUMENT', '--labels: names of at most 64 characters')
    const negKey = keyFor(neg, [])
    return {
      question: `${pos} or ${neg}?`,
      negative: { name: neg, key: negKey },
      positive: { name: pos, key: keyFor(pos, [negKey]) },
      positiveClasses
    }
  }
  if (isDefault) return { ...DEFAULT_TASK, positiveClasses }
  const question = `Is it ${positiveClasses.join(' or ')}?`
  return {
    question: question.length <= 500 ? question : `${question.slice(0, 496)}...?`,
    negative: { name: 'no', key: 'n' },
    positive: { name: 'yes', key: 'y' },
    positiveClasses
  }
}

export function configFor(
  a: SimulateArgs,
  strategy: StrategyName,
  seed: number,
  classNames: string[] | null = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
): SessionConfig {
  return {
    ...DEFAULT_CONFIG,
    dataset: a.dataset,
    task: taskFor(a, classNames),
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
  const backend = await startBackend()
  const results: { strategy: StrategyName; seed: number; summary: SimulateSummary }[] = []
  const many = a.strategies.length * a.seeds.length > 1
  if (a.session !== undefined && many)
    throw new CuratorError('BAD_ARGUMENT', '--session records one run: give a single --strategy and a single --seed')
  const baseDir = a.base ?? defaultBaseDir()
  const base = readBase(baseDir)
  if (a.base)
    console.error(
      `Base ${base.id}: features from layer ${base.featureLayer}, input ${base.input.size ? base.input.size.join('x') : 'any size'} (${base.input.fit})`
    )
  for (const strategy of a.strategies) {
    for (const seed of a.seeds) {
      // The classes first: --positive names them. A folder's come from its listing, and prepare opens
      // it on the featurizing threads (each file decoded once); other datasets are loaded here.
      const folder = a.dataset.startsWith('folder:')
      const loaded = folder
        ? undefined
        : await loadDataset(a.dataset, { pool: a.poolLimit, test: a.testLimit, seed, input: base.input, onProgress: progressPrinter() })
      const classNames = loaded ? loaded.classNames : (await previewDataset(a.dataset)).classNames
      const config = configFor(a, strategy, seed, classNames)
      const p = await prepare(config, { backend, baseDir, onProgress: progressPrinter(), dataset: loaded })
      const skipped = p.dataset.skipped ?? []
      if (skipped.length)
        console.error(`Skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} of ${a.dataset}: ${listSkipped(skipped)}`)
      const onIteration = (r: IterationRecord, given: Answer[]) => {
        if (!a.json && many) return
        const line = {
          strategy,
          seed,
          noise: a.noise ?? 0,
          iteration: r.iteration,
          labels: r.labels,
          answers: r.answers,
          testAccuracy: r.testAccuracy,
          labelledAccuracy: r.labelledAccuracy,
          headWeights: r.headWeights,
          headBias: r.headBias,
          iterationMs: round(r.iterationMs, 3),
          asked: r.next.ids,
          ...(r.next.reask ? { reask: r.next.reask } : {}),
          ...(r.next.cover ? { cover: r.next.cover } : {}),
          ...(r.next.confirm ? { confirm: r.next.confirm } : {}),
          suspects: r.suspects?.map((s) => s.id) ?? null,
          // The simulated labeller's answers to `asked`, and the ones that were wrong.
          given: given.map((g) => [g.id, g.value]),
          wrong: given.filter((g) => g.value !== p.poolTruth![g.id]).map((g) => g.id),
          stop: r.advice?.stop ?? null,
          advice: r.advice?.reason ?? null
        }
        console.log(
          a.json
            ? JSON.stringify(line)
            : `iter ${String(r.iteration).padStart(3)}  labels ${String(r.labels).padStart(4)}  answers ${String(r.answers).padStart(4)}  test acc ${fmt(r.testAccuracy)}  ${r.iterationMs.toFixed(1)} ms  weights ${r.headWeights.map((w) => w.toFixed(2)).join(' ')}`
        )
      }
      let summary: SimulateSummary
      try {
        if (a.session !== undefined) {
          const rec = await recordSimulation(a.session, p, config, { budget: a.budget, noise: a.noise, backend, onIteration })
          summary = rec.summary
          console.error(`Recorded session ${rec.id} in ${rec.dir}`)
        } else summary = await simulate(p, { strategy, batchSize: a.batch, budget: a.budget, noise: a.noise, onIteration })
      } finally {
        disposePrepared(p)
      }
      results.push({ strategy, seed, summary })
      if (a.json) console.log(JSON.stringify({ summary: { strategy, seed, backend, noise: a.noise ?? 0, ...summary } }))
    }
  }
  if (!a.json || many) printTable(results, a.seeds, a.batch, a.noise ?? 0)
}

function printTable(
  results: { strategy: StrategyName; seed: number; summary: SimulateSummary }[],
  seeds: number[],
  batch: number,
  noise: number
): void {
  const out = (line: string) => process.stdout.write(line + '\n')
  const labeller = noise > 0 ? `, ${round(noise * 100, 2)}% wrong answers, every answer counted (re-asks included)` : ''
  out(`\nAnswers to reach >= 98.5% held-out accuracy (batch ${batch}, seeds ${seeds.join(',')}${labeller}):`)
  out(`${'strategy'.padEnd(13)}${seeds.map((s) => `seed ${s}`.padStart(9)).join('')}   median   final acc`)
  for (const strategy of [...new Set(results.map((r) => r.strategy))]) {
    const rows = results.filter((r) => r.strategy === strategy)
    const counts = rows.map((r) => r.summary.answersTo985)
    const finals = rows.map((r) => r.summary.finalTestAccuracy ?? NaN)
    out(
      `${strategy.padEnd(13)}${counts.map((c) => String(c ?? '-').padStart(9)).join('')}   ${String(median(counts) ?? '-').padStart(6)}   ${(finals.reduce((s, x) => s + x, 0) / finals.length).toFixed(4)}`
    )
  }
  out(`\nStop advice first shown (answers / held-out accuracy then), and the checks of the answers:`)
  for (const strategy of [...new Set(results.map((r) => r.strategy))]) {
    const rows = results.filter((r) => r.strategy === strategy).map((r) => r.summary)
    const stops = rows.map((s) =>
      s.stop ? `${s.stop.answers}/${s.stop.testAccuracy === null ? '-' : (s.stop.testAccuracy * 100).toFixed(1)}` : '-'
    )
    out(`${strategy.padEnd(13)}${stops.map((c) => c.padStart(9)).join('')}`)
    const sum = (f: (s: SimulateSummary) => number) => rows.reduce((n, s) => n + f(s), 0)
    const finalMin = Math.min(...rows.map((s) => s.finalTestAccuracy ?? NaN))
    out(
      `${''.padEnd(13)}wrong answers flagged within two batches ${sum((s) => s.wrongFlagged)}/${sum((s) => s.wrongChecked)}; ` +
        `right answers flagged ${sum((s) => s.rightFlagged)}/${sum((s) => s.rightGiven)}; advice shown below 97 %: ${sum((s) => s.stopBelow97)} fits; ` +
        `largest drop ${(Math.max(...rows.map((s) => s.maxDrop)) * 100).toFixed(1)} points; lowest final ${finalMin.toFixed(4)}`
    )
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
