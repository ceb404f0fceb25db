// `curator tensorboard SESSION [--out DIR]`: (re)writes a session's TensorBoard event files from its log.
import { CuratorError } from '../../shared/errors'
import { rebuildTensorboard } from '../tensorboard/rebuild'
import { progressPrinter, startBackend } from './output'

/** base: the session's base model folder, where it is not the default one nor retrained into the data folder. */
export async function tensorboardCommand(a: { session?: string; out?: string; base?: string; json: boolean }): Promise<void> {
  if (!a.session)
    throw new CuratorError('BAD_ARGUMENT', 'Which session? Usage: curator tensorboard SESSION [--out DIR] [--base DIR] [--json]')
  await startBackend()
  const r = await rebuildTensorboard(a.session, a.out, { baseDir: a.base, onProgress: progressPrinter() })
  for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`)
  if (a.json) process.stdout.write(JSON.stringify(r) + '\n')
  else
    process.stdout.write(
      `Wrote ${r.file}: ${r.iterations} iterations, ${r.images} image summaries\nView it with: tensorboard --logdir ${r.out}\n`
    )
}
