import { isRtmError } from '../../sdk'

/** An SDK error as a panel shows it: code, name and reason, so a CAS conflict is recognisable. */
export function describeError(error: unknown): string {
  if (isRtmError(error)) return `${error.errorCode} ${error.name}: ${error.reason}`
  return error instanceof Error ? error.message : String(error)
}
