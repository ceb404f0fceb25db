// `curator tensorboard SESSION`: rebuilds a session's event files from its log alone, for
// sessions recorded before Curator wrote them too. The log holds every value but the loss and
// the pixels; those come from refitting the session in process, as `replay --verify` does.
import { readdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { imagePixels, ImageSet } from '../data/dataset'
import { iterate } from '../engine/loop'
import type { QueryEvent } from '../session/events'
import { readSessionLog } from '../session/log'
import { queryAfter, ReplayOptions, withRecorded } from '../session/replay'
import { derive } from '../session/derive'
import { writeAsked, writeIteration } from './session'
import { writeFileAtomic } from '../files/safe'
import { EVENT_FILE_PREFIX, EventWriter, RawImage, TENSORBOARD_DIR, wallTime } from './writer'

export interface RebuildResult {
  out: string
  file: string
  iterations: number
  images: number
  warnings: string[]
}

export const rawImage = (set: ImageSet, id: number): RawImage => ({
  width: set.widths[id],
  height: set.heights[id],
  channels: set.channels[id],
  pixels: imagePixels(set, id)
})

/** Writes one event file into `out` (default SESSION/tensorboard), replacing the ones Curator wrote there before. */
export async function rebuildTensorboard(sessionDir: string, out?: string, opts: ReplayOptions = {}): Promise<RebuildResult> {
  const dir = resolve(sessionDir)
  const target = resolve(out ?? join(dir, TENSORBOARD_DIR))
  const { events, warnings } = await readSessionLog(dir)
  const d = derive(events)
  // The batch each fit chose (the standing one, after any undo).
  const queries = d.trains.map((t) => queryAfter(d, t.iteration))
  const losses: (number | null)[] = d.trains.map(() => null)
  const images = new Map<QueryEvent, RawImage[]>()
  try {
    await withRecorded(dir, opts, async (s) => {
      warnings.push(...s.drift)
      for (const [i, fit] of d.fits.entries()) losses[i] = (await iterate(s.p.learner, s.loop, fit.batches, fit.skipped)).loss
      for (const q of queries)
        if (q)
          images.set(
            q,
            q.ids.filter((id) => id < s.p.dataset.pool.count).map((id) => rawImage(s.p.dataset.pool, id))
          )
    })
  } catch (err) {
    warnings.push(`the loss and the asked images are left out: ${(err as Error).message}`)
  }
  const records: Uint8Array[] = []
  const w = new EventWriter(target, { wallTime: wallTime(d.start.at), name: 'rebuilt', sink: (r) => records.push(r) })
  for (const [i, t] of d.trains.entries()) {
    writeIteration(w, t, losses[i])
    const q = queries[i]
    if (q && images.has(q)) writeAsked(w, q, images.get(q)!)
  }
  w.close()
  // Written whole (an interrupted rebuild leaves the earlier files as they were), then the event files Curator wrote before go.
  await writeFileAtomic(w.path, records)
  const ours = (f: string) => f.startsWith(EVENT_FILE_PREFIX) && f.endsWith('.curator') && join(target, f) !== w.path
  for (const f of (await readdir(target)).filter(ours)) await rm(join(target, f), { force: true })
  return { out: target, file: w.path, iterations: d.trains.length, images: images.size, warnings }
}
