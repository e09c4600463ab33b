// The relay's CSP forbids eval: zod must not even probe `Function('')` (a CSP violation in the
// console). Set before any module builds a schema (main.ts imports this first), and without
// importing zod: zod 4 keeps its settings on globalThis (`__zod_globalConfig`, shared by every
// copy of zod on a page), so the validators stay out of the first download and load with the
// panels and replies that need them.
const shared = globalThis as { __zod_globalConfig?: Record<string, unknown> }
shared.__zod_globalConfig = { ...shared.__zod_globalConfig, jitless: true }
