import { config } from 'zod'

// The relay's CSP forbids eval: zod must not even probe `Function('')` (a CSP violation in the
// console). Its own module, imported first by main.ts, so this runs before any module builds a schema.
config({ jitless: true })
