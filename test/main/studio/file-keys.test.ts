// Folder images have stable keys (their paths in the folder): queries, labels and the log carry
// them, and a session reopened on a changed folder finds its images again by key.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readFileSync, renameSync, rmSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SessionState } from '../../../src/shared/contract'
import type { SessionEvent } from '../../../src/main/session/events'
import { startTestStudio, testConfig, TestStudio } from '../../helpers/studio'
import { writeImageFolder } from '../data/image-folder'

let ts: TestStudio
let root: string
beforeAll(async () => {
  ts = await startTestStudio()
  root = (await writeImageFolder(ts.root, 12)).root
}, 120_000)
afterAll(async () => {
  await ts?.close()
})

const readLog = (dir: string): SessionEvent[] =>
  readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
const config = () =>
  testConfig({
    dataset: `folder:${root}`,
    task: { ...testConfig().task, positiveClasses: ['seven'] },
    poolLimit: undefined,
    testLimit: undefined,
    batchSize: 3
  })

async function answerBatch(s: SessionState): Promise<SessionState> {
  for (const q of s.queue) await ts.studio.label(q.id, q.key!.startsWith('seven/') ? 1 : 0, 50)
  return (await ts.studio.state())!
}

describe('file keys', () => {
  it('every asked image, label and log event names its file; reopening an unchanged folder changes nothing', async () => {
    let s = await ts.studio.newSession(config())
    for (const q of s.queue) expect(q.key).toMatch(/^(one|seven|zéro et un)\/.+\.(png|jpg)$|^unlabelled \d\.png$/)
    s = await answerBatch(s)
    s = await answerBatch(s)
    expect(s.labels).toHaveLength(6)
    for (const l of s.labels) expect(l.key).toMatch(/\.(png|jpg)$/)
    const log = readLog(s.dir)
    const queries = log.filter((e) => e.type === 'query')
    for (const q of queries) expect(q.keys).toHaveLength(q.ids.length)
    for (const e of log.filter((e) => e.type === 'label')) {
      const q = queries.find((q) => q.ids.includes(e.id))!
      expect(e.key).toBe(q.keys![q.ids.indexOf(e.id)])
    }
    const before = s
    await ts.studio.close()
    const again = await ts.studio.openSession(before.dir)
    expect(again.labels).toEqual(before.labels)
    expect(again.warnings.join('\n')).not.toMatch(/changed/)
    expect(readLog(before.dir).some((e) => e.type === 'remap')).toBe(false)
  }, 120_000)

  it('reopening a changed folder maps the answers by key and reports the ones whose files are gone', async () => {
    let s = await ts.studio.newSession(config())
    s = await answerBatch(s)
    s = await answerBatch(s)
    const dir = s.dir
    const labels = s.labels
    await ts.studio.close()
    // Remove one labelled file, rename another, and add files that sort before everything (all ids move).
    const [gone, renamed] = labels
    rmSync(join(root, gone.key!))
    const newName = renamed.key!.replace(/([^/]+)$/, 'renamed $1')
    renameSync(join(root, renamed.key!), join(root, newName))
    for (const cls of ['one', 'seven']) copyFileSync(join(root, cls, `${cls}-001.png`), join(root, cls, `${cls}-000 copy.png`))

    const re = await ts.studio.openSession(dir)
    const byKey = new Map(re.labels.map((l) => [l.key, l.value]))
    // The answers of files still there keep their values, under their (possibly new) ids.
    for (const l of labels.slice(2)) expect(byKey.get(l.key)).toBe(l.value)
    expect(byKey.has(gone.key)).toBe(false)
    expect(byKey.has(renamed.key)).toBe(false)
    expect(re.labels).toHaveLength(labels.length - 2)
    const warning = re.warnings.join('\n')
    expect(warning).toContain('The folder changed')
    expect(warning).toContain(gone.key!)
    expect(warning).toContain(renamed.key!)
    // The log records the remap; each surviving label's new id holds the same file.
    const remap = readLog(dir).find((e) => e.type === 'remap')
    expect(remap).toBeDefined()
    if (remap?.type !== 'remap') throw new Error('no remap')
    expect(remap.missing.map((m) => m.key).sort()).toEqual(expect.arrayContaining([gone.key, renamed.key].sort()))
    const images = await ts.engine.images(re.labels.map((l) => l.id))
    expect(images.map((i) => i.key)).toEqual(re.labels.map((l) => l.key))
    // Labelling goes on in the new id space, and a third open finds nothing to remap.
    const after = await answerBatch(re)
    expect(after.labels).toHaveLength(re.labels.length + 3)
    await ts.studio.close()
    const third = await ts.studio.openSession(dir)
    expect(third.labels).toEqual(after.labels)
    expect(readLog(dir).filter((e) => e.type === 'remap')).toHaveLength(1)
  }, 180_000)
})
