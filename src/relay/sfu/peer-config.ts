import {
  RTCPeerConnection, RTCRtpCodecParameters, useAbsSendTime, useAudioLevelIndication, useSdesMid, useSdesRTPStreamId,
  type RTCPeerConnectionConfig,
} from 'werift'
import { udpPortRange } from '../env-limits'

/**
 * How the worker's peer connections are made: options from the environment, the codecs and
 * header extensions of each kind of connection, and the SDP the members get.
 */

export interface PeerOptions {
  /** Public address written over host candidate addresses (behind 1:1 NAT). */
  announcedAddress?: string
  /** UDP port range [min, max] for ICE. */
  portRange?: [number, number]
  /** Gather only on this local address. */
  interfaceAddress?: string
}

export function peerOptionsFromEnv(env: NodeJS.ProcessEnv): PeerOptions {
  const options: PeerOptions = {}
  if (env.SFU_ANNOUNCED_ADDRESS) options.announcedAddress = env.SFU_ANNOUNCED_ADDRESS
  if (env.SFU_INTERFACE_ADDRESS) options.interfaceAddress = env.SFU_INTERFACE_ADDRESS
  if (env.SFU_UDP_PORTS) options.portRange = udpPortRange(env.SFU_UDP_PORTS)
  return options
}

// No transport-cc anywhere: with werift's transport-cc feedback Chrome's estimate stays at
// ~300 kbit/s (FACTS "werift as an SFU"); with goog-remb Chrome uses REMB both ways.
const START_BITRATE_KBPS = 1500
const videoFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }]
// Without transport-cc Chrome's sender starts at 300 kbit/s and grows by loss alone (some 8 %
// a second): ~20 s before it can afford the top simulcast layer. Its start bitrate comes from
// the remote description's fmtp, so the SFU's answer names one the top layer fits in.
const vp8 = () => new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: videoFeedback, parameters: `x-google-start-bitrate=${START_BITRATE_KBPS}` })
const opus = () => new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, parameters: 'minptime=10;useinbandfec=1' })

function baseConfig(options: PeerOptions): RTCPeerConnectionConfig {
  const config: RTCPeerConnectionConfig = {
    iceServers: [],
    bundlePolicy: 'max-bundle',
    iceUseIpv6: false,
    iceUseTcp: false,
    codecs: { video: [vp8()], audio: [opus()] },
  }
  if (options.portRange) config.icePortRange = options.portRange
  if (options.interfaceAddress) {
    // Only this address: no host addresses of our own (IPv4 off), this one added and bound.
    config.iceUseIpv4 = false
    config.iceAdditionalHostAddresses = [options.interfaceAddress]
    config.iceInterfaceAddresses = { udp4: options.interfaceAddress }
  }
  return config
}

/** The connection a member receives on: the SFU sends video and audio slots. abs-send-time lets Chrome estimate bandwidth for its REMB. */
export function receivePeer(options: PeerOptions): RTCPeerConnection {
  return new RTCPeerConnection({
    ...baseConfig(options),
    headerExtensions: { video: [useSdesMid(), useAbsSendTime()], audio: [useSdesMid(), useAudioLevelIndication()] },
  })
}

/** The connection a publisher sends on: rid for simulcast, the audio level for loudest-N. */
export function sendPeer(options: PeerOptions): RTCPeerConnection {
  return new RTCPeerConnection({
    ...baseConfig(options),
    headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId(), useAbsSendTime()], audio: [useSdesMid(), useAudioLevelIndication()] },
  })
}

/** Longest wait for ICE gathering (host candidates only: normally a few ms). */
export const GATHER_TIMEOUT_MS = 5000

export function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error('ICE gathering timed out'))
    }, GATHER_TIMEOUT_MS)
    const { unSubscribe: unsubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return
      clearTimeout(timer)
      unsubscribe()
      resolve()
    })
  })
}

/** The local SDP as members get it: host candidate addresses replaced by the announced one (duplicates dropped). */
export function localSdp(pc: RTCPeerConnection, options: PeerOptions): string {
  const sdp = pc.localDescription?.sdp
  if (!sdp) throw new Error('no local description')
  return options.announcedAddress ? announce(sdp, options.announcedAddress) : sdp
}

export function announce(sdp: string, address: string): string {
  let section = 0
  const seen = new Set<string>()
  const lines: string[] = []
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) section++
    const match = /^a=candidate:(\S+) (\d+) (\S+) (\d+) \S+ (\d+) typ host(.*)$/.exec(line)
    if (!match) {
      lines.push(line)
      continue
    }
    const [, foundation, component, protocol, priority, port, rest] = match
    // Several local addresses on one port would all read as the announced one: keep the first.
    const key = `${section}:${protocol}:${port}:${component}`
    if (seen.has(key)) continue
    seen.add(key)
    lines.push(`a=candidate:${foundation} ${component} ${protocol} ${priority} ${address} ${port} typ host${rest}`)
  }
  return lines.join('\r\n')
}
