// Browser mode's folder browser on real folders: subfolder names only, hidden entries and links
// out of the folder left out, no file opened (a FIFO named like an image would hang a read),
// refusals for what is not a full path to a folder, and a cut-short listing of a huge folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { listFolders, MAX_LISTED_FOLDERS } from '../../../src/main/data/browse'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { tempDir } from '../../helpers/tmp'

let tmp: { dir: string; remove: () => void }
beforeAll(() => {
  tmp = tempDir('curator-browse-')
})
afterAll(() => tmp.remove())

describe('listFolders', () => {
  it('lists subfolder names, sorted; links only while they stay inside; image files counted by name, none opened', async () => {
    const root = join(tmp.dir, 'photos')
    for (const d of ['dogs', 'Cats', 'zéro et un', '.hidden', 'Cats/kittens']) mkdirSync(join(root, d), { recursive: true })
    writeFileSync(join(root, 'a.png'), 'x')
    writeFileSync(join(root, 'b.JPEG'), 'x')
    writeFileSync(join(root, 'notes.txt'), 'x')
    symlinkSync(join(root, 'dogs'), join(root, 'link to dogs'))
    symlinkSync(tmp.dir, join(root, 'link out'))
    symlinkSync(join(root, 'gone'), join(root, 'broken'))
    execFileSync('mkfifo', [join(root, 'pipe.png')])
    const l = await listFolders(`${root}/`)
    expect(l).toEqual({
      path: root,
      parent: tmp.dir,
      folders: ['Cats', 'dogs', 'link to dogs', 'zéro et un'],
      images: 2,
      truncated: false
    })
    // The path typed is the one listed, link or not.
    symlinkSync(root, join(tmp.dir, 'photos-link'))
    expect((await listFolders(join(tmp.dir, 'photos-link'))).folders).toEqual(l.folders)
    expect((await listFolders('/')).parent).toBeNull()
    expect((await listFolders()).path).toBe(homedir())
  })

  it('refuses what is not a full path to a folder, with the reason', async () => {
    await expectCuratorErrorAsync(() => listFolders('photos'), 'BAD_ARGUMENT', /Type a full path .*got "photos"/)
    await expectCuratorErrorAsync(() => listFolders(join(tmp.dir, 'nowhere')), 'NOT_FOUND', /There is no folder/)
    writeFileSync(join(tmp.dir, 'file'), 'x')
    await expectCuratorErrorAsync(() => listFolders(join(tmp.dir, 'file')), 'BAD_ARGUMENT', /is a file, not a folder/)
    await expectCuratorErrorAsync(() => listFolders(`${tmp.dir}/a\0b`), 'BAD_ARGUMENT', /NUL/)
  })

  it('a huge folder is listed only so far, and says so', async () => {
    const big = join(tmp.dir, 'big')
    for (let i = 0; i <= MAX_LISTED_FOLDERS; i++) mkdirSync(join(big, `d${String(i).padStart(5, '0')}`), { recursive: true })
    const l = await listFolders(big)
    expect(l.folders).toHaveLength(MAX_LISTED_FOLDERS)
    expect(l.truncated).toBe(true)
  })
})
