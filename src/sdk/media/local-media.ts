/** What a call or a room opens when the page gives no constraints: camera and microphone. */
export const DEFAULT_MEDIA: MediaStreamConstraints = { audio: true, video: true }

/** Camera and microphone. Async so that a page without mediaDevices (http:// off localhost, Node) rejects rather than throws. */
export async function openLocalMedia(constraints: MediaStreamConstraints = DEFAULT_MEDIA): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia(constraints)
}

/** The kinds of track the constraints ask for (those that are not false). */
export function mediaKinds(constraints: MediaStreamConstraints = DEFAULT_MEDIA): ('audio' | 'video')[] {
  return (['audio', 'video'] as const).filter((kind) => Boolean(constraints[kind]))
}

export function stopTracks(stream: MediaStream | null | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop()
}

/** Media opened for something that did not happen is closed again, whenever it opens. */
export function releaseMedia(media: Promise<MediaStream>): void {
  media.then(stopTracks, () => undefined)
}
