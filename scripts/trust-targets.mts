// Issue 12's targets (labels people can trust) measured through the CLI: `simulate --noise 0.1
// --seed 1-10 --budget 60` and `simulate --strategy diverse,uncertainty,random --seed 1-10
// --budget 120` (a perfect labeller), each target printed with its figure and MET / MISSED.
// --cli DIR runs another checkout's built CLI (DIR/bin/curator.js; a before/after comparison);
// --seeds N measures seeds 1-N instead of 1-10 (the rows for seeds 1-8 and 1-5 stay so).
// Run (after npm run build): node --import tsx scripts/trust-targets.mts [--cli DIR] [--seeds 10] [--json]
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { cli: { type: 'string' }, seeds: { type: 'string' }, json: { type: 'boolean' } } })
const cli = resolve(values.cli ?? resolve(import.meta.dirname, '..'), 'bin/curator.js')

interface Summary {
  strategy: string
  seed: number
  answersTo985: number | null
  finalTestAccuracy: number | null
  wrongChecked: number
  wrongFlagged: number
  rightGiven: number
  rightFlagged: number
  stop: { answers: number; testAccuracy: number | null } | null
  stopBelow97: number
  maxDrop: number
}
interface Line {
  strategy: string
  seed: number
  iteration: number
  asked: number[]
}

function run(args: string[]): { summaries: Summary[]; lines: Line[] } {
  const out = execFileSync(process.execPath, [cli, 'simulate', ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const summaries: Summary[] = []
  const lines: Line[] = []
  for (const l of out.split('\n')) {
    if (!l.startsWith('{')) continue
    const o = JSON.parse(l)
    if (o.summary) summaries.push(o.summary)
    else lines.push(o)
  }
  return { summaries, lines }
}

const last = Number(values.seeds ?? 10)
const seeds = Array.from({ length: last }, (_, i) => i + 1)
const noisy = run(['--noise', '0.1', '--seed', `1-${last}`, '--budget', '60'])
const perfect = run(['--strategy', 'diverse,uncertainty,random', '--seed', `1-${last}`, '--budget', '120'])
const range = `seeds 1-${last}`
const diverse = perfect.summaries.filter((s) => s.strategy === 'diverse')
const bySeed = (xs: Summary[]) => seeds.map((seed) => xs.find((s) => s.seed === seed)!)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2
}
const pct = (x: number | null) => (x === null ? '-' : (x * 100).toFixed(2))
const stopCell = (s: Summary) => (s.stop ? `${s.stop.answers}/${pct(s.stop.testAccuracy)}` : '-')

const rows: { target: string; figure: string; met: boolean }[] = []
{
  const n8 = bySeed(noisy.summaries).slice(0, 8)
  const to = n8.map((s) => s.answersTo985 ?? Infinity)
  rows.push({
    target: '10 % mis-keys, seeds 1-8: answers to 98.5 % <= 24 on 8/8, median <= 20',
    figure: `${to.map((x) => (x === Infinity ? '-' : x)).join(', ')}: ${to.filter((x) => x <= 24).length}/8, median ${median(to)}`,
    met: to.every((x) => x <= 24) && median(to) <= 20
  })
  if (last > 8) {
    const all = bySeed(noisy.summaries).map((s) => s.answersTo985 ?? Infinity)
    rows.push({
      target: `10 % mis-keys, ${range}: answers to 98.5 % <= 24 (not a target)`,
      figure: `${all.filter((x) => x <= 24).length}/${last}, median ${median(all)}`,
      met: true
    })
  }
  const finals = bySeed(noisy.summaries).map((s) => s.finalTestAccuracy ?? 0)
  rows.push({
    target: `10 % mis-keys: held-out >= 99 % after 60 answers, every seed (${range})`,
    figure: `${pct(Math.min(...finals))}-${pct(Math.max(...finals))} %`,
    met: finals.every((x) => x >= 0.99)
  })
}
{
  const to = bySeed(diverse).map((s) => s.answersTo985 ?? Infinity)
  rows.push({
    target: `perfect labeller: <= 12 answers to 98.5 %, ${range}`,
    figure: `${to.filter((x) => x <= 12).length}/${last} (${to.map((x) => (x === Infinity ? '-' : x)).join(', ')})`,
    met: to.every((x) => x <= 12)
  })
  // The first 12 images asked (batch 4: the first three batches) of seeds 1-5.
  const first = [1, 2, 3, 4, 5].map(
    (seed) =>
      new Set(
        perfect.lines
          .filter((l) => l.strategy === 'diverse' && l.seed === seed)
          .sort((a, b) => a.iteration - b.iteration)
          .flatMap((l) => l.asked)
          .slice(0, 12)
      )
  )
  let shared = 0
  for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) shared = Math.max(shared, [...first[a]].filter((i) => first[b].has(i)).length)
  rows.push({ target: 'any two of seeds 1-5 share <= 6 of their first 12 images', figure: `at most ${shared}`, met: shared <= 6 })
}
{
  const drop = Math.max(...perfect.summaries.map((s) => s.maxDrop))
  rows.push({
    target: `no held-out drop > 1 point in one batch (perfect; diverse/uncertainty/random, 120; ${range})`,
    figure: `max ${(drop * 100).toFixed(2)} points`,
    met: drop <= 0.01
  })
}
{
  const sum = (f: (s: Summary) => number) => noisy.summaries.reduce((n, s) => n + f(s), 0)
  const [flagged, checked] = [sum((s) => s.wrongFlagged), sum((s) => s.wrongChecked)]
  rows.push({
    target: `suspects: >= 80 % of wrong answers flagged within two batches (${range})`,
    figure: `${flagged}/${checked} (${((100 * flagged) / checked).toFixed(0)} %)`,
    met: flagged >= 0.8 * checked
  })
  const [rf, rg] = [sum((s) => s.rightFlagged), sum((s) => s.rightGiven)]
  rows.push({
    target: `suspects: <= 1 false flag per 20 right answers (${range})`,
    figure: `${rf}/${rg} (1 in ${rf ? (rg / rf).toFixed(0) : '-'})`,
    met: rf * 20 <= rg
  })
}
{
  const ok = (s: Summary, most: number) => s.stop !== null && s.stop.answers <= most && (s.stop.testAccuracy ?? 0) >= 0.985
  const p = bySeed(diverse)
  rows.push({
    target: `stop advice, perfect: <= 24 answers, held-out >= 98.5 % then, ${range}`,
    figure: `${p.map(stopCell).join(' ')}: ${p.filter((s) => ok(s, 24)).length}/${last}`,
    met: p.every((s) => ok(s, 24))
  })
  const n = bySeed(noisy.summaries)
  rows.push({
    target: `stop advice, 10 % mis-keys: <= 32 answers, held-out >= 98.5 % then, ${range}`,
    figure: `${n.map(stopCell).join(' ')}: ${n.filter((s) => ok(s, 32)).length}/${last}`,
    met: n.every((s) => ok(s, 32))
  })
  const below = [...noisy.summaries, ...perfect.summaries].reduce((k, s) => k + s.stopBelow97, 0)
  rows.push({ target: 'stop advice never shown while held-out < 97 % (every run above)', figure: `${below} fits`, met: below === 0 })
}

if (values.json) console.log(JSON.stringify({ rows, noisy: noisy.summaries, perfect: perfect.summaries }))
else {
  const w = Math.max(...rows.map((r) => r.target.length))
  for (const r of rows) console.log(`${r.target.padEnd(w)}  ${r.met ? 'MET   ' : 'MISSED'}  ${r.figure}`)
}
