import { describe, expect, it } from 'vitest'
import { connectionStateLabel, diagnosisChecks, diagnosisSummary, figuresOf, ratingLabel, signalingStateLabel, stateTone } from './quality-words'
import { audioStats, report, videoStats } from './test-stats'

describe('quality in words', () => {
  it('names each rating', () => {
    expect([ratingLabel('EXCELLENT'), ratingLabel('GOOD'), ratingLabel('POOR')]).toEqual(['Excellent', 'Good', 'Poor'])
  })

  it('lists a video track’s figures with their raw values and readable text', () => {
    const figures = Object.fromEntries(figuresOf(videoStats()).map((figure) => [figure.id, figure]))
    expect(figures['frames-decoded']).toMatchObject({ label: 'Frames decoded', value: 298, text: '298' })
    expect(figures.bitrate).toMatchObject({ value: 1.25, text: '1.25 Mbps' })
    expect(figures.lost).toMatchObject({ label: 'Packets lost', value: 10, text: '10 of 1000 (0.5 % now)' })
    expect(figures.resolution.text).toBe('640 × 480')
    expect(figures.decoder.text).toBe('libvpx (software)')
    expect(figures.rtt).toMatchObject({ label: 'Round trip', text: '42 ms' })
    expect(figures.jitter.text).toBe('4.0 ms')
  })

  it('leaves out what the browser did not give (an audio track has no frames)', () => {
    const ids = figuresOf(audioStats()).map((figure) => figure.id)
    expect(ids).not.toContain('frames-decoded')
    expect(ids).not.toContain('decoder')
    expect(ids).toContain('audio-level')
  })

  it('lists a diagnosis’s checks with the failures first', () => {
    const failing = report({ diag_error: 'video decode: no frames decoded' })
    failing.result[0].remote!.video_decode = 'no frames decoded'
    const checks = diagnosisChecks(failing)
    expect(checks[0]).toMatchObject({ side: 'remote', check: 'video_decode', ok: false, value: 'no frames decoded', label: 'Video decodes' })
    expect(checks.slice(1).every((check) => check.ok)).toBe(true)
    expect(checks.filter((check) => check.side === 'field').map((check) => check.check)).toEqual(['signal_connect', 'media_connect', 'video_transfer', 'video_capture', 'video_encode'])
    expect(checks.find((check) => check.check === 'remote_mqtt_connect')?.label).toBe('Our link to the server')
  })

  it('sums up a side’s last 30 seconds in a sentence', () => {
    expect(diagnosisSummary(report().result[0].remote!)).toBe('1100 kbps, 29 fps, 0.5 % lost, 42 ms round trip, frozen 2.0 % of the time')
    expect(diagnosisSummary({ bps: [], fps: [], lost: [], rtt: [] })).toBe('no figures yet')
  })

  it('says connection and signaling states in words, with a tone', () => {
    expect(connectionStateLabel('disconnected')).toBe('Interrupted')
    expect(signalingStateLabel('scheduling')).toBe('Setting up')
    expect(signalingStateLabel(null)).toBe('Not started')
    expect([stateTone('connected'), stateTone('connecting'), stateTone('failed')]).toEqual(['good', 'wait', 'bad'])
  })
})
