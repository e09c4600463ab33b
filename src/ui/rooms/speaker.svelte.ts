/** How often the levels are read: cheap (a few analysers) and quick enough for a highlight. */
export const SPEAKER_POLL_MS = 250
/** RMS of the waveform above which someone counts as speaking (about -34 dBFS). */
export const SPEAKING_LEVEL = 0.02
/** Another voice takes the highlight only when this much louder than the current speaker's: no flicker between two voices. */
export const TAKEOVER_RATIO = 1.5
/**
 * How fast a level falls back once the sound stops, per second (a peak meter: it rises at
 * once and falls slowly), so the pauses between words, or a beep now and then, keep the highlight.
 */
const RELEASE_PER_SECOND = 0.2
/** About 340 ms at 48 kHz, longer than a poll: the windows of two reads overlap, so no sound falls between them. */
const FFT_SIZE = 16384
/** About 21 ms: the level of a window is its loudest block's, so a short sound is not drowned in the silence around it. */
const BLOCK_SIZE = 1024

/** Root mean square of a waveform (-1…1 samples). */
export function rms(samples: Float32Array): number {
  let sum = 0
  for (const sample of samples) sum += sample * sample
  return samples.length ? Math.sqrt(sum / samples.length) : 0
}

/** The RMS of the loudest `blockSize` block of a waveform. */
export function loudestBlock(samples: Float32Array, blockSize = BLOCK_SIZE): number {
  let loudest = 0
  for (let start = 0; start < samples.length; start += blockSize) loudest = Math.max(loudest, rms(samples.subarray(start, start + blockSize)))
  return loudest
}

/**
 * Who is highlighted next: the loudest above `threshold`; the current speaker keeps the
 * highlight while still speaking unless someone is TAKEOVER_RATIO louder; nobody when all are quiet.
 */
export function nextSpeaker(levels: ReadonlyMap<string, number>, current: string | null, threshold = SPEAKING_LEVEL): string | null {
  let loudest: string | null = null
  let loudestLevel = threshold
  for (const [key, level] of levels) {
    if (level > loudestLevel) {
      loudest = key
      loudestLevel = level
    }
  }
  const currentLevel = current === null ? 0 : levels.get(current) ?? 0
  if (current !== null && currentLevel > threshold && loudestLevel < currentLevel * TAKEOVER_RATIO) return current
  return loudest
}

/** The parts of Web Audio the detector uses, so a test can hand in a fake. */
export interface LevelMeterContext {
  createMediaStreamSource(stream: MediaStream): { connect(node: AnalyserLike): unknown; disconnect(): void }
  createAnalyser(): AnalyserLike
  resume(): Promise<void>
  close(): Promise<void>
  readonly state: string
}
export interface AnalyserLike { fftSize: number; getFloatTimeDomainData(array: Float32Array<ArrayBuffer>): void }

interface Meter { stream: MediaStream; source: ReturnType<LevelMeterContext['createMediaStreamSource']> | null; analyser: AnalyserLike | null; level: number }

export interface SpeakerDetectorOptions {
  /** Default: a real AudioContext (created on the first stream with audio). */
  createContext?: () => LevelMeterContext
  pollMs?: number
}

/**
 * Who is speaking, from the audio level of each stream (a Web Audio analyser per stream,
 * read every SPEAKER_POLL_MS). Polling runs only while there are streams to measure;
 * `stop` (on leave) ends it and closes the audio context.
 */
export class SpeakerDetector {
  #speaker = $state<string | null>(null)
  readonly #meters = new Map<string, Meter>()
  readonly #createContext: () => LevelMeterContext
  readonly #pollMs: number
  /** RELEASE_PER_SECOND for one poll. */
  readonly #release: number
  #context: LevelMeterContext | null = null
  /** No Web Audio here (or it refused): no highlight, the room works without it. */
  #unavailable = false
  #timer: ReturnType<typeof setInterval> | undefined
  #buffer = new Float32Array(FFT_SIZE)

  constructor(options: SpeakerDetectorOptions = {}) {
    this.#createContext = options.createContext ?? (() => new AudioContext() as unknown as LevelMeterContext)
    this.#pollMs = options.pollMs ?? SPEAKER_POLL_MS
    this.#release = RELEASE_PER_SECOND ** (this.#pollMs / 1000)
  }

  /** The key of whoever speaks now, or null. */
  get speaker(): string | null { return this.#speaker }

  /** Follows exactly these streams (by key: a sessionId); streams gone from the map stop being measured. */
  sync(streams: ReadonlyMap<string, MediaStream | null>): void {
    for (const key of [...this.#meters.keys()]) if (!streams.get(key)) this.#drop(key)
    for (const [key, stream] of streams) if (stream) this.#watch(key, stream)
    this.#schedule()
  }

  /** Stops measuring and closes the audio context (a later `sync` starts again). */
  stop(): void {
    for (const key of [...this.#meters.keys()]) this.#drop(key)
    clearInterval(this.#timer)
    this.#timer = undefined
    const context = this.#context
    this.#context = null
    context?.close().catch((error: unknown) => console.warn('could not close the audio context', error))
    this.#speaker = null
  }

  destroy(): void {
    this.stop()
  }

  #watch(key: string, stream: MediaStream): void {
    const meter = this.#meters.get(key)
    if (meter?.stream === stream && meter.analyser) return
    if (meter && meter.stream !== stream) this.#drop(key)
    // A remote stream may get its audio track after its video: measure once it has one.
    if (stream.getAudioTracks().length === 0) {
      this.#meters.set(key, { stream, source: null, analyser: null, level: 0 })
      return
    }
    const context = this.#audio()
    if (!context) return
    if (context.state === 'suspended') context.resume().catch((error: unknown) => console.warn('could not start the audio context', error))
    const source = context.createMediaStreamSource(stream)
    const analyser = context.createAnalyser()
    analyser.fftSize = FFT_SIZE
    source.connect(analyser)
    this.#meters.set(key, { stream, source, analyser, level: 0 })
  }

  #audio(): LevelMeterContext | null {
    if (this.#context || this.#unavailable) return this.#context
    try {
      this.#context = this.#createContext()
    } catch (error) {
      this.#unavailable = true
      console.warn('no speaker highlight: Web Audio is not available', error)
    }
    return this.#context
  }

  #drop(key: string): void {
    this.#meters.get(key)?.source?.disconnect()
    this.#meters.delete(key)
    if (this.#speaker === key) this.#speaker = null
  }

  #schedule(): void {
    // A stream still without audio is polled too, to pick up its audio track when it comes.
    const measuring = this.#meters.size > 0
    if (measuring && this.#timer === undefined) this.#timer = setInterval(() => this.#poll(), this.#pollMs)
    else if (!measuring && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
      this.#speaker = null
    }
  }

  #poll(): void {
    const levels = new Map<string, number>()
    for (const [key, meter] of this.#meters) {
      if (!meter.analyser) {
        if (meter.stream.getAudioTracks().length > 0) this.#watch(key, meter.stream)
        continue
      }
      const enabled = meter.stream.getAudioTracks().some((track) => track.enabled && track.readyState === 'live')
      meter.analyser.getFloatTimeDomainData(this.#buffer)
      const level = enabled ? loudestBlock(this.#buffer) : 0
      meter.level = Math.max(level, meter.level * this.#release)
      levels.set(key, meter.level)
    }
    const next = nextSpeaker(levels, this.#speaker)
    if (next !== this.#speaker) this.#speaker = next
  }
}
