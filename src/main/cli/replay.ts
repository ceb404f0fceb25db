// `curator replay SESSION`: the session's iterations from its log, a verified rebuild
// (--verify), an animated GIF (--gif) and what-if replays (--strategy / --seed).
import type { StrategyName } from '../../shared/contract'
import { CONFIG_FIELDS } from '../../shared/schema'
import { CuratorError } from '../../shared/errors'
import { writeSessionGif } from '../export/gif'
import { readSessionLog } from '../session/log'
import { ACCURACY_TOLERANCE, Mismatch, recordedBaseline, verifyReplay, WEIGHT_TOLERANCE, whatIf } from '../session/replay'
import { derive } from '../session/derive'
import { iterationDto } from '../session/build'
import { cliParse, progressPrinter, startBackend } from './output'

export interface ReplayArgs {
  session: string | undefined
  verify: boolean
  gif?: string
  /** Replace an existing --gif file that Curator did not write (never inside a session folder). */
  force?: boolean
  strategy?: string
  seed?: number
  /** The session's base model folder, where it is not the default one nor retrained into the data folder. */
  base?: string
  json: boolean
}

const out = (line: string) => process.stdout.write(line + '\n')
const acc = (x: number | null) => (x === null ? '   -  ' : x.toFixed(4))
const shown = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v))

export const describeMismatch = (m: Mismatch) => `${m.field}: recorded ${shown(m.recorded)}, recomputed ${shown(m.recomputed)}`

export async function replayCommand(a: ReplayArgs): Promise<void> {
  if (!a.session)
    throw new CuratorError(
      'BAD_ARGUMENT',
      'Which session? Usage: curator replay SESSION [--verify] [--gif FILE [--force]] [--strategy S] [--seed N] [--base DIR] [--json]'
    )
  const strategy = a.strategy === undefined ? undefined : cliParse(CONFIG_FIELDS.strategy, a.strategy, '--strategy')
  if (a.seed !== undefined && !Number.isInteger(a.seed)) throw new CuratorError('BAD_ARGUMENT', `--seed must be an integer, got ${a.seed}`)
  const whatIfAsked = a.strategy !== undefined || a.seed !== undefined
  await startBackend()
  if (!a.verify && !a.gif && !whatIfAsked) return printTable(a.session, a.json)
  if (a.gif) {
    const r = await writeSessionGif(a.session, a.gif, await recordedBaseline(a.session, { baseDir: a.base }), a.force)
    if (a.json) out(JSON.stringify({ gif: r }))
    else out(`Wrote ${r.file}: ${r.frames} frames`)
  }
  if (whatIfAsked) await printWhatIf(a.session, strategy, a.seed, a.base, a.json)
  if (a.verify) await verify(a.session, a.base, a.json)
}

async function printTable(dir: string, json: boolean): Promise<void> {
  const { events, warnings } = await readSessionLog(dir)
  const d = derive(events)
  for (const w of [...warnings, ...d.warnings]) process.stderr.write(`warning: ${w}\n`)
  const c = d.start.config
  const trains = d.trains // derive keeps the fit that stands of each iteration
  const answersOf = (k: number) => d.done[k]?.answers ?? (k === d.done.length ? (d.current?.answers ?? []) : [])
  if (json) {
    for (const t of trains) {
      const answers = answersOf(t.iteration).map((x) => ({ id: x.id, value: x.value }))
      const { histogram: _histogram, ...iteration } = iterationDto(t) // one line per fit: the histogram stays out
      out(JSON.stringify({ ...iteration, answers }))
    }
    return
  }
  const [neg, pos] = [c.task.negative.name, c.task.positive.name]
  out(
    `Session ${d.start.id}: ${c.dataset}, strategy ${c.strategy}, fit ${c.fit}, batch ${c.batchSize}, seed ${c.seed}, recorded on ${d.start.backend}`
  )
  out(
    `${'iter'.padStart(4)}  ${'labels'.padStart(6)}  test acc  lab. acc     bias  head weights${''.padEnd(54)}  then asked (answer: ${neg[0]} ${neg}, ${pos[0]} ${pos}, - skipped)`
  )
  for (const t of trains) {
    const answers = answersOf(t.iteration)
      .map((x) => `${x.id}${x.value === null ? '-' : x.value === 1 ? pos[0] : neg[0]}`)
      .join(' ')
    const weights = t.headWeights.map((w) => w.toFixed(2).padStart(5)).join(' ')
    out(
      `${String(t.iteration).padStart(4)}  ${String(t.labels).padStart(6)}    ${acc(t.testAccuracy)}    ${acc(t.labelledAccuracy)}  ${t.headBias.toFixed(3).padStart(7)}  ${weights.padEnd(66)}  ${answers}`
    )
  }
}

async function verify(dir: string, baseDir: string | undefined, json: boolean): Promise<void> {
  const r = await verifyReplay(dir, { baseDir, onProgress: progressPrinter() })
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`)
  if (json) {
    for (const it of r.iterations) out(JSON.stringify({ iteration: it.iteration, ok: it.ok, mismatches: it.mismatches }))
    out(
      JSON.stringify({
        verify: {
          ok: r.ok,
          mode: r.mode,
          backend: r.backend,
          recordedBackend: r.recordedBackend,
          tolerance: r.tolerance,
          iterations: r.iterations.length,
          firstMismatch: r.firstMismatch
        }
      })
    )
  } else {
    out(
      r.mode === 'exact'
        ? `Verifying session ${r.sessionId}: recorded on ${r.recordedBackend}, rebuilt on ${r.backend}: every number must match exactly`
        : `Verifying session ${r.sessionId}: recorded on ${r.recordedBackend}, rebuilt on ${r.backend}: tolerance |difference| <= ${WEIGHT_TOLERANCE} on head weights and bias, <= ${ACCURACY_TOLERANCE} on accuracies (histogram and query order may differ)`
    )
    for (const it of r.iterations) {
      const head = `iteration ${String(it.iteration).padStart(3)}  labels ${String(it.labels).padStart(4)}  ${it.ok ? 'OK' : 'MISMATCH'}`
      const detail = it.mismatches.length
        ? `  ${it.mismatches.slice(0, 3).map(describeMismatch).join('; ')}${it.mismatches.length > 3 ? `; and ${it.mismatches.length - 3} more` : ''}`
        : ''
      out(head + (it.ok && detail ? `  (differs within tolerance:${detail})` : detail))
    }
    if (r.ok) out(`Verified: all ${r.iterations.length} iterations match${r.mode === 'exact' ? ' exactly' : ' within tolerance'}.`)
    else
      out(
        'A difference means the log was edited, or the data, base model, engine code or its settings differ from those that recorded the session.'
      )
  }
  if (!r.ok) {
    const m = r.firstMismatch!
    throw new CuratorError('BAD_DATA', `verification failed: iteration ${m.iteration} is the first that differs (${describeMismatch(m)})`)
  }
}

async function printWhatIf(
  dir: string,
  strategy: StrategyName | undefined,
  seed: number | undefined,
  baseDir: string | undefined,
  json: boolean
): Promise<void> {
  const r = await whatIf(dir, { strategy, seed }, { baseDir, onProgress: progressPrinter() })
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`)
  if (json) {
    out(JSON.stringify({ note: r.note, recorded: r.recorded, strategy: r.strategy, seed: r.seed, fit: r.fit, backend: r.backend }))
    for (const it of r.iterations) out(JSON.stringify(it))
    return
  }
  out(
    `What-if: strategy ${r.strategy}, seed ${r.seed} (recorded: strategy ${r.recorded.strategy}, seed ${r.recorded.seed}; fit ${r.fit}, backend ${r.backend})`
  )
  out(`Note: ${r.note}`)
  out(`${'iter'.padStart(4)}  ${'labels'.padStart(6)}  test acc  recorded  lab. acc  would ask next (answered in the recording)`)
  for (const it of r.iterations) {
    out(
      `${String(it.iteration).padStart(4)}  ${String(it.labels).padStart(6)}    ${acc(it.testAccuracy)}    ${acc(it.recordedTestAccuracy)}    ${acc(it.labelledAccuracy)}  ${it.wouldAsk.join(' ')} (${it.wouldAskAnswered}/${it.wouldAsk.length})`
    )
  }
}
