// `curator export --session DIR --out DIR [--force] [--with-images]`: writes a session's model folder, as the
// studio's Export model… does: the session is opened in a studio over an engine thread and the
// folder written by exportModelFolder (temporary folder, then rename).
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CuratorError } from '../../shared/errors'
import { startEngine } from '../engine/client'
import { checkExportTarget } from '../export/model-folder'
import { defaultDataDir } from '../paths'
import { LOG_FILE } from '../session/log'
import { Studio } from '../studio/studio'
import { VERSION } from '../version'
import { printBackend, progressPrinter } from './output'

export interface ExportArgs {
  session?: string
  out?: string
  force: boolean
  withImages?: boolean
  json: boolean
  /** The session's base model folder, when it is not the shipped one or the chosen one. */
  base?: string
}

export const EXPORT_USAGE = 'curator export --session DIR --out DIR [--force] [--with-images] [--json] [--base DIR]'

export async function exportCommand(a: ExportArgs): Promise<void> {
  if (!a.session) throw new CuratorError('NO_SESSION', `Which session? Usage: ${EXPORT_USAGE}`)
  if (!a.out) throw new CuratorError('BAD_ARGUMENT', `Where to? Give the folder to create with --out. Usage: ${EXPORT_USAGE}`)
  const session = resolve(a.session)
  if (!existsSync(join(session, LOG_FILE))) throw new CuratorError('NO_SESSION', `${session} holds no Curator session (no ${LOG_FILE})`)
  const out = resolve(a.out)
  // Refuse early, before the session is opened; exportModelFolder checks again.
  await checkExportTarget(out, a.force)

  const progress = progressPrinter()
  const engine = startEngine(progress)
  printBackend(await engine.backend())
  const studio = new Studio({ dataDir: defaultDataDir(), engine, version: VERSION, baseDir: a.base })
  try {
    const state = await studio.openSession(session)
    for (const w of state.warnings) process.stderr.write(`warning: ${w}\n`)
    const last = state.history.at(-1)
    const r = await studio.exportModel(out, a.force, a.withImages ?? false)
    const summary = {
      dir: r.dir,
      files: r.files,
      session: state.id,
      labels: state.labels.length,
      iteration: last?.iteration ?? null,
      testAccuracy: last?.testAccuracy ?? null
    }
    if (a.json) {
      console.log(JSON.stringify({ export: summary }))
      return
    }
    const acc = summary.testAccuracy === null ? '' : `, held-out accuracy ${summary.testAccuracy.toFixed(4)}`
    console.log(`Exported session ${summary.session} (${summary.labels} labels, iteration ${summary.iteration}${acc}) to ${r.dir}`)
    for (const f of r.files) console.log(`  ${f}`)
  } finally {
    await studio.close().catch(() => {})
    await engine.terminate()
  }
}
