/**
 * Just enough of the VP8 RTP payload format (RFC 7741) for a forwarding unit: is this packet
 * the first packet of a keyframe? Switching what a slot carries is only safe there.
 */

/**
 * True when `payload` starts a VP8 keyframe: S=1 and partition 0 in the payload descriptor
 * (RFC 7741 §4.2), then the P bit of the VP8 payload header clear (§4.3: 0 = key frame).
 */
export function isVp8KeyframeStart(payload: Uint8Array): boolean {
  if (payload.length < 1) return false
  const first = payload[0]
  const start = (first & 0x10) !== 0
  const partition = first & 0x0f
  if (!start || partition !== 0) return false
  let offset = 1
  if (first & 0x80) {
    // X: the extension byte says which optional fields follow.
    if (payload.length < 2) return false
    const ext = payload[1]
    offset = 2
    if (ext & 0x80) offset += payload.length > offset && payload[offset] & 0x80 ? 2 : 1 // I: PictureID, M bit = 15 bits
    if (ext & 0x40) offset += 1 // L: TL0PICIDX
    if (ext & 0x30) offset += 1 // T or K: TID/Y/KEYIDX
  }
  if (payload.length <= offset) return false
  return (payload[offset] & 0x01) === 0
}
