#!/usr/bin/env node
// The installed `curator` command: runs the CLI built by `npm run build`.
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const cli = join(__dirname, '..', 'out', 'main', 'cli.js')
if (!existsSync(cli)) {
  console.error('curator: the CLI is not built yet. Run `npm run build` first.')
  process.exit(2)
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code
  })
