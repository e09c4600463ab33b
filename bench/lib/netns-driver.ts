import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NETNS_RUN = fileURLToPath(new URL('../../scripts/netns-run', import.meta.url))
/** How long a driver may take to close its browser and relay after printing its result. */
const CLEANUP_GRACE_MS = 5_000

export interface NetnsDriverOptions {
  /** The driver script (run with `node --import tsx` inside scripts/netns-run). */
  driver: string
  /** The driver's result: the first stdout line this accepts. */
  isResult: (line: string) => boolean
  timeoutMs: number
  /** Extra environment for the driver. */
  env?: Record<string, string>
}

/**
 * Runs a browser driver inside scripts/netns-run (WebRTC never uses loopback) and resolves
 * with its result line as soon as it is printed (or when it exits), never waiting for stdout
 * to close: a leftover Chromium helper can hold the pipe open long after the driver is gone.
 * The driver leads its own process group, so whatever it leaves behind is ended with it.
 */
export function runNetnsDriver({ driver, isResult, timeoutMs, env }: NetnsDriverOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NETNS_RUN, [process.execPath, '--import', 'tsx', driver], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    let result: string | null = null
    let exited = false
    const endGroup = (signal: NodeJS.Signals) => {
      try { process.kill(-child.pid!, signal) } catch { /* the group is already gone */ }
    }
    const finish = (error: Error | null) => {
      clearTimeout(timer)
      child.stdout.destroy()
      child.stderr.destroy()
      if (error) reject(error)
      else resolve(result!)
      // Let the driver close its browser and relay itself; end what is still there after that.
      if (exited) endGroup('SIGKILL')
      else setTimeout(() => endGroup('SIGKILL'), CLEANUP_GRACE_MS).unref()
    }
    const found = (lines: string[]) => lines.find(isResult) ?? null
    child.stdout.on('data', (chunk: Buffer) => {
      if (result !== null) return
      stdout += chunk
      result = found(stdout.split('\n').slice(0, -1))
      if (result !== null) finish(null)
    })
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk).slice(-4000) })
    const timer = setTimeout(() => endGroup('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      exited = true
      if (result !== null) return endGroup('SIGKILL')
      result = found(stdout.split('\n'))
      if (result !== null) return finish(null)
      finish(new Error(`driver ${driver} failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, timed out after ${timeoutMs / 1000} s` : ''}): ${stderr || stdout}`))
    })
  })
}

/** A driver's result line that carries `samples` (the calls and rooms drivers). */
export function isSamplesLine(line: string): boolean {
  if (!line.startsWith('{')) return false
  try {
    return Array.isArray((JSON.parse(line) as { samples?: unknown }).samples)
  } catch {
    return false
  }
}
