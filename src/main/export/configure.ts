import { basename, dirname, join } from 'node:path'
import type { ExportResult } from '../../shared/contract'
import type { Studio, StudioOptions } from '../studio/studio'
import { readSessionLog } from '../session/log'
import { derive } from '../session/derive'
import { writeSessionGif } from './gif'
import { exportModelFolder } from './model-folder'

/** Writes the session in `dir` as an animated GIF: `out`, or session.gif in the session folder. */
export async function exportGif(studio: Studio, dir: string, out: string | undefined): Promise<ExportResult> {
  const baseline = await studio.baselineOf(dir, derive((await readSessionLog(dir)).events))
  const r = await writeSessionGif(dir, out ?? join(dir, 'session.gif'), baseline)
  return { dir: dirname(r.file), files: [basename(r.file)] }
}

/** Adds the export features to a studio's options (kept apart so the studio stays small). */
export function configureExports(opts: StudioOptions): StudioOptions {
  return { ...opts, exportModel: opts.exportModel ?? exportModelFolder, exportGif: opts.exportGif ?? exportGif }
}
