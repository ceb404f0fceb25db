// A full disk, then freed, without a restart: a real studio labels on a real 4 MiB tmpfs (in a
// private mount namespace of a child process), the disk is filled with a file until ENOSPC and
// then emptied again. The refused label succeeds once there is room, a fit a full disk left
// undone is done by the next call, the state says "not saved" only while it is true, and the
// log on disk is whole (its partial tail repaired in place).
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { testBaseModel } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { canMountTmpfs, ROOT } from '../export/cli'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'disk-full-child.ts')

describe.skipIf(!canMountTmpfs())('a full disk, then space freed (a real 4 MiB tmpfs)', () => {
  it('the refused label succeeds once there is room, and a fit left undone is done by the next call', async () => {
    const base = await testBaseModel()
    const tmp = tempDir('curator-disk-full-')
    try {
      const mnt = join(tmp.dir, 'small')
      mkdirSync(mnt)
      const r = spawnSync(
        'unshare',
        ['-m', 'sh', '-c', `mount -t tmpfs -o size=4m none "$0" && exec "${process.execPath}" --import tsx "${CHILD}" "$0"`, mnt],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CURATOR_BASE_MODEL: base }, timeout: 240_000 }
      )
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
      console.log(`[disk-full] ${JSON.stringify(out)}`)
      const { labelRun, fitRun } = out

      // The label that needs a new page on the full disk is refused, twice, and leaves nothing in the log.
      expect(labelRun.full).toEqual(['DISK_FULL', 'DISK_FULL'])
      expect(labelRun.writeErrorWhileFull).toBe('DISK_FULL')
      expect(labelRun.logGrewWhileFull).toBe(0)
      // Freed: the same label goes through, and the state no longer says the disk is full.
      expect(labelRun.freed).toBe('ok')
      expect(labelRun.writeErrorAfterFree).toBeNull()
      expect(labelRun.labelsInState).toBe(labelRun.answeredBeforeFull + 1)
      expect(labelRun.logLabels).toBe(labelRun.answeredBeforeFull + 1)
      expect(labelRun.logWarnings).toEqual([])

      // The label is written, its fit is not: the state says so (pushed, not only when asked) and keeps no batch.
      expect(fitRun.tries).toBeLessThan(300)
      expect(fitRun.label).toBe('ok')
      expect(fitRun.stalled).toEqual({ writeError: 'DISK_FULL', queue: 0, pushedWriteError: 'DISK_FULL' })
      // Freed: the next call (the view's Retry) fits and asks the next image; labelling goes on.
      expect(fitRun.retried).toMatchObject({ writeError: null, queue: 1 })
      expect(fitRun.next).toBe('ok')
      expect(fitRun.labelsInState).toBe(fitRun.acked)
      expect(fitRun.logLabels).toBe(fitRun.acked)
      expect(fitRun.logTrains).toBe(fitRun.acked + 1)
      expect(fitRun.logWarnings).toEqual([])
    } finally {
      tmp.remove()
    }
  }, 300_000)
})
