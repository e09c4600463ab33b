// The relay's CSP forbids eval: zod must not even probe `Function('')` (a CSP violation in the
// console). zod 4 keeps its settings in one object on globalThis (`__zod_globalConfig`, shared
// by every copy of zod on a page), which this fills in place — whether zod's chunk loaded first
// (bundled chunks run before the entry's own code) or not — without importing zod, so the
// validators stay out of the first download.
const shared = globalThis as { __zod_globalConfig?: Record<string, unknown> }
shared.__zod_globalConfig ??= {}
shared.__zod_globalConfig.jitless = true
