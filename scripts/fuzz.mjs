#!/usr/bin/env node
// The fuzz suite at any size: `npm run fuzz -- --frames 100000 [--seed N] [--no-browser]`.
// Runs test/fuzz (the relay's four endpoints as a child process) and, unless --no-browser,
// e2e/fuzz-coordinator.spec.ts (tabs and mesh coordinator pages) inside scripts/netns-run,
// both with FUZZ_FRAMES frames per endpoint and one FUZZ_SEED (printed; pass it to replay).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const valueOf = (name) => {
  const at = args.indexOf(name)
  if (at === -1) return undefined
  const value = args[at + 1]
  if (value === undefined || !/^\d+$/.test(value)) fail(`${name} needs a whole number`)
  return value
}
const unknown = args.filter((arg, i) => !['--frames', '--seed', '--no-browser'].includes(arg) && !['--frames', '--seed'].includes(args[i - 1]))
if (unknown.length > 0) fail(`unknown argument ${unknown[0]}; usage: npm run fuzz -- --frames N [--seed N] [--no-browser]`)

const frames = valueOf('--frames') ?? process.env.FUZZ_FRAMES ?? '2500'
const seed = valueOf('--seed') ?? process.env.FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31))
const env = { ...process.env, FUZZ_FRAMES: frames, FUZZ_SEED: seed }
const root = fileURLToPath(new URL('..', import.meta.url))
console.log(`fuzz: ${frames} frames per endpoint, seed ${seed}`)

const run = (command, commandArgs) => spawnSync(command, commandArgs, { cwd: root, env, stdio: 'inherit' }).status ?? 1
let status = run('npx', ['vitest', 'run', 'test/fuzz'])
if (!args.includes('--no-browser')) status = run('scripts/netns-run', ['npx', 'playwright', 'test', 'e2e/fuzz-coordinator.spec.ts']) || status
console.log(`fuzz: ${status === 0 ? 'passed' : 'FAILED'} (${frames} frames per endpoint, seed ${seed}; replay with --seed ${seed})`)
process.exit(status)

function fail(message) {
  console.error(`fuzz: ${message}`)
  process.exit(2)
}
