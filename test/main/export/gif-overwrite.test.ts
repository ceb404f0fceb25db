// The GIF export never overwrites what is not ours: an existing file is replaced only when it is
// a GIF Curator wrote (or, outside a session folder, with --force); inside a session folder only
// a .gif is written, never over the log, force or not. Through writeSessionGif, the studio's
// exportGif and the CLI (one line, exit 2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isCuratorGif, writeSessionGif } from '../../../src/main/export/gif'
import { createSessionLog, logPath } from '../../../src/main/session/log'
import { expectCuratorErrorAsync } from '../../helpers/errors'
import { startTestStudio, testBaseModel, TestStudio } from '../../helpers/studio'
import { tempDir } from '../../helpers/tmp'
import { cliEnv, runCli } from './cli'
import { queryEvent, startEvent, trainEvent } from '../session/fixtures'
import { readGif } from './gif-reader'

let tmp: { dir: string; remove: () => void }
let session: string
let other: string
let log: Buffer

async function makeSession(dir: string): Promise<void> {
  const l = await createSessionLog(dir, startEvent())
  await l.append(trainEvent(0, 0))
  await l.append(queryEvent(0, [1, 2]))
  await l.append(trainEvent(1, 2))
  await l.close()
}

beforeAll(async () => {
  tmp = tempDir('curator-gif-overwrite-')
  session = join(tmp.dir, 'session')
  other = join(tmp.dir, 'other-session')
  await makeSession(session)
  await makeSession(other)
  log = readFileSync(logPath(session))
})
afterAll(() => tmp?.remove())

describe('writeSessionGif onto an existing file', () => {
  it('writes a GIF that says Curator wrote it, and replaces it again without asking', async () => {
    const out = join(tmp.dir, 'out.gif')
    await writeSessionGif(session, out)
    expect(isCuratorGif(out)).toBe(true)
    expect(readGif(readFileSync(out)).frames).toHaveLength(2)
    await writeSessionGif(session, out)
    expect(readGif(readFileSync(out)).frames).toHaveLength(2)
  })

  it('refuses a file of the user (EXISTS) and leaves it as it was; --force replaces it outside a session folder', async () => {
    for (const [name, bytes] of [
      ['notes.txt', Buffer.from('my notes')],
      ['foreign.gif', Buffer.from('GIF89a not by Curator;')],
      ['photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47])]
    ] as const) {
      const f = join(tmp.dir, name)
      writeFileSync(f, bytes)
      await expectCuratorErrorAsync(
        () => writeSessionGif(session, f),
        'EXISTS',
        /exists and is not a GIF Curator wrote \(--force replaces it\)/
      )
      expect(readFileSync(f)).toEqual(bytes)
      await writeSessionGif(session, f, [], true)
      expect(isCuratorGif(f)).toBe(true)
    }
  })

  it('never writes over a session folder’s own files, or a non-GIF name there, even with force', async () => {
    for (const target of [logPath(session), logPath(other), join(session, 'labels.csv'), join(other, 'notes')]) {
      for (const force of [false, true]) {
        await expectCuratorErrorAsync(
          () => writeSessionGif(session, target, [], force),
          'FORBIDDEN',
          /inside a session folder: only a \.gif is written there/
        )
      }
    }
    const foreign = join(other, 'theirs.gif')
    writeFileSync(foreign, 'GIF89a a user file;')
    await expectCuratorErrorAsync(() => writeSessionGif(session, foreign, [], true), 'EXISTS', /in a session folder: choose another name/)
    expect(readFileSync(foreign, 'utf8')).toBe('GIF89a a user file;')
    expect(readFileSync(logPath(session))).toEqual(log)
    expect(existsSync(join(session, 'labels.csv'))).toBe(false)
    // Its own GIF, and a new .gif in the folder, are fine.
    await writeSessionGif(session, join(session, 'session.gif'))
    await writeSessionGif(session, join(session, 'session.gif'), [], true)
    expect(isCuratorGif(join(session, 'session.gif'))).toBe(true)
  })
})

describe('the API and the CLI', () => {
  let ts: TestStudio
  beforeAll(async () => {
    ts = await startTestStudio()
  })
  afterAll(async () => ts?.close())

  it('the studio’s exportGif refuses the session log and a user file', async () => {
    await expectCuratorErrorAsync(() => ts.studio.exportGif(session, logPath(session)), 'FORBIDDEN', /inside a session folder/)
    const f = join(tmp.dir, 'api-user.gif')
    writeFileSync(f, 'mine')
    await expectCuratorErrorAsync(() => ts.studio.exportGif(session, f), 'EXISTS', /not a GIF Curator wrote/)
    expect(readFileSync(f, 'utf8')).toBe('mine')
    expect(readFileSync(logPath(session))).toEqual(log)
  })

  it('`curator replay --gif` onto session.jsonl or a user file: one line, exit 2; --force for the user file', async () => {
    const env = cliEnv(await testBaseModel(), join(tmp.dir, 'cache'))
    const onLog = await runCli(['replay', session, '--gif', logPath(session), '--force'], env)
    expect(onLog.code).toBe(2)
    expect(
      onLog.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('curator replay:'))
    ).toHaveLength(1)
    expect(onLog.stderr).toMatch(/inside a session folder/)
    const f = join(tmp.dir, 'cli-user.txt')
    mkdirSync(tmp.dir, { recursive: true })
    writeFileSync(f, 'keep me')
    const refused = await runCli(['replay', session, '--gif', f], env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/--force replaces it/)
    expect(readFileSync(f, 'utf8')).toBe('keep me')
    const forced = await runCli(['replay', session, '--gif', f, '--force'], env)
    expect(forced.code, forced.stderr).toBe(0)
    expect(isCuratorGif(f)).toBe(true)
    expect(readFileSync(logPath(session))).toEqual(log)
  })
})
