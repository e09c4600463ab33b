import { describe, expect, it } from 'vitest'
import { KeyframeLimiter } from './keyframe-limiter'

describe('keyframe request limiting', () => {
  it('one request per key per interval; keys are independent', () => {
    const l = new KeyframeLimiter<string>(500)
    expect(l.request('a:h', 0)).toBe(true)
    expect(l.request('a:h', 100)).toBe(false)
    expect(l.request('a:l', 100)).toBe(true)
    expect(l.request('a:h', 500)).toBe(true)
  })

  it('an ask inside the interval is kept and comes due once it has passed, once', () => {
    const l = new KeyframeLimiter<string>(500)
    l.request('a:h', 0)
    l.request('a:h', 100)
    l.request('a:h', 200)
    expect(l.due(300)).toEqual([])
    expect(l.due(500)).toEqual(['a:h'])
    expect(l.due(2000)).toEqual([])
    expect(l.request('a:h', 600)).toBe(false)
  })

  it('forget drops a key entirely', () => {
    const l = new KeyframeLimiter<string>(500)
    l.request('a:h', 0)
    l.request('a:h', 1)
    l.forget('a:h')
    expect(l.due(1000)).toEqual([])
    expect(l.request('a:h', 2)).toBe(true)
  })
})
