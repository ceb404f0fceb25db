import type { StudioOptions } from '../studio/studio'
import { exportModelFolder } from './model-folder'

/** Adds the export features to a studio's options (kept apart so the studio stays small). */
export function configureExports(opts: StudioOptions): StudioOptions {
  return { ...opts, exportModel: opts.exportModel ?? exportModelFolder }
}
