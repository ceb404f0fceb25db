// The start screen's look at a dataset before Start: class names and counts from a listing of
// real files (no image opened), the same refusals Start would give, MNIST and IDX label files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { previewDataset } from '../../../src/main/data/preview'
import { gz, imagesIdx, labelsIdx } from '../../helpers/idx'
import { tempDir } from '../../helpers/tmp'
import { expectCuratorErrorAsync } from '../../helpers/errors'

let tmp: { dir: string; remove: () => void }
beforeAll(() => {
  tmp = tempDir('curator-preview-')
})
afterAll(() => tmp.remove())

/** Files named like images; the preview never opens them, so their bytes need not be images. */
function files(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true })
  for (const n of names) writeFileSync(join(dir, n), 'not opened')
}

describe('previewDataset', () => {
  it('a folder: its class subfolders in session order with their image counts, root images, skipped entries', async () => {
    const root = join(tmp.dir, 'pets')
    files(join(root, 'dogs'), ['a.png', 'b.JPG', 'c.jpeg', 'notes.txt'])
    files(join(root, 'cats'), ['a.png', 'b.png'])
    files(join(root, 'cats', 'kittens'), ['k.png'])
    files(join(root, 'empty'), [])
    files(root, ['loose.png', 'README.md'])
    symlinkSync(tmp.dir, join(root, 'out'))
    const p = await previewDataset(`folder:${root}?maxSide=64`)
    expect(p).toEqual({
      dataset: `folder:${root}?maxSide=64`,
      kind: 'folder',
      classNames: ['cats', 'dogs'],
      classCounts: [3, 3],
      images: 7,
      unlabelled: 1,
      skipped: 3,
      problem: null
    })
  })

  it('names a folder Start would refuse: missing, no images, one class only', async () => {
    await expectCuratorErrorAsync(() => previewDataset(`folder:${join(tmp.dir, 'nowhere')}`), 'NOT_FOUND', /there is no such folder/)
    const none = join(tmp.dir, 'none')
    files(none, ['a.txt'])
    expect((await previewDataset(`folder:${none}`)).problem).toBe(`No PNG or JPEG images in ${none} (1 other files)`)
    const one = join(tmp.dir, 'one')
    files(join(one, 'only'), ['a.png'])
    files(one, ['b.png'])
    expect(await previewDataset(`folder:${one}`)).toMatchObject({ classNames: ['only'], images: 2, unlabelled: 1 })
    expect((await previewDataset(`folder:${one}`)).problem).toMatch(/one subfolder \("only"\)/)
  })

  it('a folder without subfolders has no ground truth', async () => {
    const flat = join(tmp.dir, 'flat')
    files(flat, ['a.png', 'b.png'])
    expect(await previewDataset(`folder:${flat}`)).toMatchObject({ classNames: null, classCounts: [], images: 2, unlabelled: 2 })
  })

  it('MNIST and an IDX set: the classes and counts of their label files', async () => {
    const m = await previewDataset('mnist')
    expect(m).toMatchObject({ kind: 'mnist', classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], images: 70000 })
    expect(m.classCounts.reduce((a, b) => a + b, 0)).toBe(70000)
    expect(m.classCounts[1]).toBe(6742 + 1135)
    const idx = join(tmp.dir, 'idx')
    mkdirSync(idx)
    writeFileSync(join(idx, 'train-images-idx3-ubyte.gz'), gz(imagesIdx(5, 28, 28).bytes))
    writeFileSync(join(idx, 'train-labels-idx1-ubyte.gz'), gz(labelsIdx([0, 2, 2, 1, 2])))
    expect(await previewDataset(`idx:${idx}`)).toMatchObject({
      kind: 'idx',
      classNames: ['0', '1', '2'],
      classCounts: [1, 1, 3],
      images: 5
    })
    await expectCuratorErrorAsync(() => previewDataset('imagenet'), 'BAD_ARGUMENT', /use mnist, idx:PATH or folder:PATH/)
  })
})
