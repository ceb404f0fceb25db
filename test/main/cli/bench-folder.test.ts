// bench-folder's cached open by itself (--open): the iterations on a folder, under the rules asked
// for, with every record but its time written out for a byte-for-byte comparison.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { benchFolderCommand, writePhotos } from '../../../src/main/cli/bench-folder'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

let tmp: { dir: string; remove: () => void }
let folder: string
beforeAll(async () => {
  tmp = tempDir('curator-bench-folder-')
  folder = join(tmp.dir, 'photos')
  await writePhotos(folder, 24)
}, 120_000)
afterAll(() => tmp?.remove())

/** One --open run: its printed result and its records. */
async function open(name: string, rules?: number) {
  const records = join(tmp.dir, `${name}.json`)
  const log = vi.spyOn(console, 'log').mockImplementation(() => {})
  try {
    await benchFolderCommand({ open: folder, cache: join(tmp.dir, 'cache'), iterations: 3, rules, records, json: true })
    const printed = JSON.parse(String(log.mock.calls.at(-1)![0]))
    return { printed, records: readFileSync(records, 'utf8') }
  } finally {
    log.mockRestore()
  }
}

describe('bench-folder --open', () => {
  it('times the iterations (the first apart), writes the records, and runs the rules asked for', async () => {
    const newest = await open('newest')
    expect(newest.printed.images).toBe(24)
    expect(newest.printed.iterationMs.count).toBe(3)
    expect(newest.printed.firstIterationMs).toBeGreaterThan(0)
    const records = JSON.parse(newest.records) as { iteration: number; iterationMs?: number; headWeights: number[] }[]
    expect(records.map((r) => r.iteration)).toEqual([0, 1, 2, 3])
    expect(records.every((r) => r.iterationMs === undefined && r.headWeights.length > 0)).toBe(true)
    // The same again gives the same records; rules 4 on the digit CNN's 10 features, too (rules 5 is for wide features).
    expect((await open('again')).records).toBe(newest.records)
    expect((await open('rules4', 4)).records).toBe(newest.records)
    await expectCuratorErrorAsync(() => open('rules99', 99), 'BAD_DATA', /version 99 of the head's rules/)
  }, 300_000)
})
