import { describe, expect, it } from 'vitest'
import { addSample, HISTORY_MS, metricsOf, seriesOf, StatsHistory, trimPoints, type TrackPoint } from './stats-history.svelte'
import { audioStats, sample, videoStats } from './test-stats'

const point = (at: number): TrackPoint => ({ at, bitrate: 1, lost: 0, rtt: 10, fps: 30, jitter: 1 })

describe('stats history', () => {
  it('keeps each track of a connection, video first, with the latest figures', () => {
    const history = addSample(addSample(undefined, sample(1_000, [audioStats(), videoStats()])), sample(3_000, [audioStats(), videoStats({ framesDecoded: 400 })]))
    expect(history.tracks.map((track) => [track.mediaType, track.points.length])).toEqual([['video', 2], ['audio', 2]])
    expect(history.tracks[0].latest.framesDecoded).toBe(400)
    expect(history.at).toBe(3_000)
    expect(history.quality.rating).toBe('EXCELLENT')
  })

  it('charts jitter in milliseconds (the SDK reports seconds) and keeps a missing figure as a gap', () => {
    const history = addSample(undefined, sample(0, [videoStats({ jitter: 0.004, rtt: null })]))
    expect(history.tracks[0].points[0]).toMatchObject({ jitter: 4, rtt: null })
  })

  it('forgets points older than two minutes', () => {
    let history = addSample(undefined, sample(0))
    history = addSample(history, sample(HISTORY_MS - 1))
    expect(history.tracks[0].points).toHaveLength(2)
    history = addSample(history, sample(HISTORY_MS + 2_000))
    expect(history.tracks[0].points.map((p) => p.at)).toEqual([HISTORY_MS - 1, HISTORY_MS + 2_000])
  })

  it('stays bounded however often samples come', () => {
    const points = Array.from({ length: 500 }, (_, i) => point(i))
    expect(trimPoints(points, 500, HISTORY_MS, 120)).toHaveLength(120)
    expect(trimPoints(points, 500, HISTORY_MS, 120).at(-1)!.at).toBe(499)
  })

  it('keeps a track that left the samples until its last point is two minutes old', () => {
    let history = addSample(undefined, sample(0, [videoStats(), audioStats()]))
    history = addSample(history, sample(60_000, [videoStats()]))
    expect(history.tracks.map((t) => t.mediaType)).toEqual(['video', 'audio'])
    history = addSample(history, sample(HISTORY_MS + 1, [videoStats()]))
    expect(history.tracks.map((t) => t.mediaType)).toEqual(['video'])
  })

  it('gives a chart seconds before the latest sample and the metric’s values', () => {
    const history = addSample(addSample(undefined, sample(0)), sample(2_000, [videoStats({ bitrate: 2 }), audioStats()]))
    expect(seriesOf(history.tracks[0], 'bitrate', history.at)).toEqual([[-2, 0], [1.25, 2]])
  })

  it('charts fps for video only', () => {
    expect(metricsOf('video')).toContain('fps')
    expect(metricsOf('audio')).not.toContain('fps')
  })

  it('the store keeps one history per connection and forgets one that ended', () => {
    const store = new StatsHistory()
    store.add(sample(0, undefined, 'a'))
    store.add(sample(0, undefined, 'b'))
    expect(store.quality('a')?.rating).toBe('EXCELLENT')
    store.forget('a')
    expect(store.get('a')).toBeNull()
    expect(store.get('b')).not.toBeNull()
    store.clear()
    expect(store.connections.size).toBe(0)
  })
})
