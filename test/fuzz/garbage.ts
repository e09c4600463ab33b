import fc from 'fast-check'
import { Deep } from './json-text'

/**
 * Values a hostile client puts where a protocol expects something else: wrong types,
 * huge strings, deep nesting, prototype keys, NaN-ish numbers, bytes where text goes.
 * Shared by every endpoint's generator.
 */

/** Depths around the frame bound (32), the opaque bound (16) and far past the stack. */
export const deep: fc.Arbitrary<Deep> = fc.record({
  depth: fc.constantFrom(17, 33, 200, 2_000, 20_000),
  shape: fc.constantFrom('array' as const, 'object' as const),
  leaf: fc.constantFrom('0', '"x"', 'null', '{}', '[]'),
}).map(({ depth, shape, leaf }) => new Deep(depth, shape, leaf))

/**
 * Just over 16 KiB (opaque), 32 KB (payload), 64 KiB (PeerJS) and 256 KiB (/ws/calls).
 * The big ones are ASCII so that a frame stays under socket.io's 1 MB (JSON escapes a NUL
 * into six bytes); frames over the transport limits come last in a session instead.
 */
export const hugeString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(16_385, 32_769, 65_537), fc.constantFrom('x', 'é', '😀', '[', '\u0000')), weight: 4 },
  { arbitrary: fc.tuple(fc.constantFrom(262_145), fc.constantFrom('x', '[')), weight: 1 },
).map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)))

export const nanish: fc.Arbitrary<number> = fc.constantFrom(
  NaN, Infinity, -Infinity, -0, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -1, 0.5, 2 ** 31, 2 ** 32, -(2 ** 31), 1e21,
)

export const dangerousKey: fc.Arbitrary<string> = fc.constantFrom(
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON', 'then', '__defineGetter__', '',
)

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))

export const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: loneSurrogate, maxLength: 4 }),
  fc.constantFrom('', ' ', 'a b', '\n', 'null', '[object Object]', '%00', '../..', 'x'.repeat(65), 'x'.repeat(1025)),
)

export const bytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 48 })
/** Binary past the 32 KB payload and the 64 KiB PeerJS limits. */
export const bigBytes: fc.Arbitrary<Uint8Array> = fc.constantFrom(40_000, 70_000).map((length) => new Uint8Array(length).fill(0x5b))

export const leaf: fc.Arbitrary<unknown> = fc.oneof(
  weirdString,
  fc.integer(),
  fc.double(),
  nanish,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  bytes,
)

/** An object with own keys that are dangerous as map keys (`__proto__` stays an own property). */
export function objectOf(value: fc.Arbitrary<unknown>, maxKeys = 4): fc.Arbitrary<Record<string, unknown>> {
  return fc.array(fc.tuple(fc.oneof(dangerousKey, fc.string({ maxLength: 10 })), value), { maxLength: maxKeys })
    .map((entries) => Object.fromEntries(entries))
}

/** Shallow structures of anything (depth ≤ 4), occasionally deep, huge or wide. */
export const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: leaf, weight: 6 },
    { arbitrary: fc.array(tie('value'), { maxLength: 5 }), weight: 2 },
    { arbitrary: objectOf(tie('value')), weight: 2 },
  ),
})).value

/** Mostly small odd values; about one in twenty is deep, huge or wide (those dominate the bytes sent). */
export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: anyValue, weight: 60 },
  { arbitrary: deep, weight: 4 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.constantFrom(1_000, 10_000, 50_000).map((length) => new Array<number>(length).fill(0)), weight: 1 },
  { arbitrary: bigBytes, weight: 1 },
)

type Path = (string | number)[]
type Mutation =
  | { kind: 'delete' | 'wrap' | 'retype' | 'duplicate'; at: number }
  | { kind: 'replace'; at: number; with: unknown }
  | { kind: 'addKey'; at: number; key: string; with: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), with: garbage }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'wrap' as const, 'retype' as const, 'duplicate' as const), at: fc.nat() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('addKey' as const), at: fc.nat(), key: fc.oneof(dangerousKey, weirdString), with: garbage }), weight: 2 },
)

/** A valid frame from `template`, then one to four random mutations at random places in it. */
export function mutated<T>(template: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(template, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([frame, mutations]) => {
    let value: unknown = copy(frame)
    for (const change of mutations) value = applyMutation(value, change)
    return value
  })
}

function applyMutation(root: unknown, change: Mutation): unknown {
  const paths = pathsOf(root)
  const path = paths[change.at % paths.length]
  const current = get(root, path)
  let next: unknown
  switch (change.kind) {
    case 'replace': next = change.with; break
    case 'wrap': next = [current]; break
    case 'retype': next = retype(current); break
    case 'duplicate': next = typeof current === 'string' ? duplicate(current, change.at) : [current, current]; break
    case 'addKey': {
      if (!isContainer(current)) return root
      Object.defineProperty(current, change.key, { value: change.with, enumerable: true, configurable: true, writable: true })
      return root
    }
    case 'delete': {
      if (path.length === 0) return undefined
      const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>
      if (Array.isArray(parent)) removeAt(parent, path.at(-1) as number)
      else delete parent[path.at(-1)!]
      return root
    }
  }
  return set(root, path, next)
}

/** A string repeated a few times, or (one time in eight) up to about 200 KB of JSON. */
function duplicate(text: string, at: number): string {
  const times = at % 8 === 0 ? Math.ceil(200_000 / Math.max(1, JSON.stringify(text).length)) : 2 + (at % 15)
  return text.repeat(times)
}

/** Array removal without splice: an array given an own `constructor` key breaks Array.prototype.splice. */
function removeAt(array: unknown[], index: number): void {
  for (let i = index; i < array.length - 1; i++) array[i] = array[i + 1]
  array.length = Math.max(0, array.length - 1)
}

/** Same information, other type: '5' ↔ 5, true ↔ 'true', object ↔ its JSON text, bytes ↔ text. */
function retype(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 0 && !Number.isNaN(Number(value)) ? Number(value) : new TextEncoder().encode(value)
  if (typeof value === 'number') return String(value)
  if (typeof value === 'boolean') return value ? 1 : 'false'
  if (value instanceof Uint8Array) return Array.from(value)
  if (Array.isArray(value)) return Object.fromEntries(Array.from(value, (item, index) => [String(index), item]))
  if (value && typeof value === 'object') return JSON.stringify(Object.keys(value))
  return value === null ? 'null' : null
}

/** Every place in a (shallow) value, the root included; Deep and bytes are leaves. */
function pathsOf(root: unknown): Path[] {
  const paths: Path[] = []
  const stack: Path[] = [[]]
  while (stack.length > 0 && paths.length < 200) {
    const path = stack.pop()!
    paths.push(path)
    const node = get(root, path)
    if (!isContainer(node) || path.length > 6) continue
    for (const key of Array.isArray(node) ? node.keys() : Object.keys(node)) stack.push([...path, key])
  }
  return paths
}

function get(root: unknown, path: Path): unknown {
  let node = root
  for (const key of path) node = (node as Record<string | number, unknown>)[key]
  return node
}

function set(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value
  const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>
  Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, configurable: true, writable: true })
  return root
}

/** Plain objects and arrays; markers (Deep, NextId) and bytes are leaves. */
function isContainer(value: unknown): value is Record<string | number, unknown> {
  if (value === null || typeof value !== 'object') return false
  return Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype
}

/** A copy that keeps markers and bytes (structuredClone would turn them into plain objects). */
function copy<T>(value: T): T {
  if (!isContainer(value)) return value
  if (Array.isArray(value)) return Array.from(value, copy) as T
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) Object.defineProperty(out, key, { value: copy((value as Record<string, unknown>)[key]), enumerable: true, configurable: true, writable: true })
  return out as T
}
