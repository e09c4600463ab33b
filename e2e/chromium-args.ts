import { existsSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * The fake camera: a small moving picture (160×120, 15 fps) instead of Chromium's built-in
 * 640×480 one. Rooms put four browsers with three encoders each on two cores; at this size
 * the tests measure signaling and media flow, not the box's encoder. Written once (Y4M).
 */
function fakeCamera(): string {
  const [width, height, frames] = [160, 120, 30]
  const path = join(tmpdir(), `signal-kit-camera-${width}x${height}.y4m`)
  if (existsSync(path)) return path
  const luma = width * height
  const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F15:1 Ip A1:1 C420jpeg\n`)]
  for (let frame = 0; frame < frames; frame++) {
    const picture = Buffer.alloc(luma * 1.5, 128) // grey chroma
    const bar = Math.floor((frame / frames) * width)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) picture[y * width + x] = Math.abs(x - bar) < 12 ? 235 : 16 + ((x + y) % 64)
    parts.push(Buffer.from('FRAME\n'), picture)
  }
  const partial = `${path}.${process.pid}`
  writeFileSync(partial, Buffer.concat(parts))
  renameSync(partial, path) // whole or not at all, whichever worker writes it
  return path
}

/** How every e2e Chromium starts (playwright.config.ts, and the specs that launch their own in a namespace). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  `--use-file-for-fake-video-capture=${fakeCamera()}`,
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-gpu',
]
