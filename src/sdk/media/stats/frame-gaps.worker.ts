/**
 * The frame-gaps worker (see frame-gaps.ts): reads each watched track's decoded frames as
 * they come, off the main thread, and times them on this thread's clock.
 */
import { FreezeMeter } from './freeze'
import type { FrameGapsReply, FrameGapsRequest } from './frame-gaps'

interface Watched { meter: FreezeMeter; reader: ReadableStreamDefaultReader<{ close(): void }> }

// The DOM lib types `self` as a Window; this is all of the worker scope used here.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<FrameGapsRequest>) => void) | null
  postMessage(reply: FrameGapsReply): void
}

const watched = new Map<number, Watched>()

scope.onmessage = ({ data }) => {
  switch (data.type) {
    case 'watch': {
      const entry = { meter: new FreezeMeter(), reader: data.readable.getReader() }
      watched.set(data.key, entry)
      void read(entry)
      break
    }
    case 'unwatch':
      void watched.get(data.key)?.reader.cancel().catch(() => undefined)
      watched.delete(data.key)
      break
    case 'period':
      scope.postMessage({ type: 'period', requestId: data.requestId, lag: watched.get(data.key)?.meter.period(performance.now()) ?? null })
      break
    default:
      data satisfies never
  }
}

/** Times every frame until the track ends or is unwatched; a track that ended keeps its open gap counting. */
async function read({ meter, reader }: Watched): Promise<void> {
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      meter.frame(performance.now())
      value.close()
    }
  } catch {
    // Cancelled by unwatch or the stream errored: no more frames to time.
  }
}
