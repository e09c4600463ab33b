import { SignJWT } from 'jose'

/** The secret of the fuzz relays that authenticate (native, /easyrtc). */
export const FUZZ_SECRET = 'fuzz-secret-not-for-production'

/** A valid HS256 login token for `userId` (an hour long). */
export function tokenFor(userId: string, secret = FUZZ_SECRET, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret))
}

/** Tokens a login must refuse: expired, signed with another secret, for another user, unsigned, junk, too long. */
export async function badTokens(): Promise<string[]> {
  const anHourAgo = Math.floor(Date.now() / 1000) - 3600
  return [
    await tokenFor('fz-someone', FUZZ_SECRET, anHourAgo),
    await tokenFor('fz-someone', 'another-secret'),
    await tokenFor('obs-a'),
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJvYnMtYSJ9.',
    'eyJhbGciOiJIUzI1NiJ9.e30.AAAA',
    'garbage', '', ' ', '{}', 'x'.repeat(9000),
  ]
}
