import { X509Certificate, createPrivateKey } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import QRCode from 'qrcode'
import { generate } from 'selfsigned'

/** A phone keeps its certificate exception for a year; a fresh one is made a month before expiry. */
export const CERT_VALID_DAYS = 365
export const RENEW_BEFORE_DAYS = 30
/** notBefore lies this far in the past so a phone whose clock runs a little behind accepts it. */
const CLOCK_SKEW_MS = 60_000
const DAY_MS = 86_400_000
const LOOPBACK_NAMES = ['localhost', '127.0.0.1']


/** PEM text for `https.createServer`, whether it was made just now, and its SHA-256 fingerprint (colon hex) to show the user. */
export interface SelfSignedCertificate { cert: string; key: string; created: boolean; fingerprint: string }

/**
 * The self-signed certificate of a LAN demo, kept in `<dataDir>/tls/` (self-signed-cert.pem,
 * self-signed-key.pem; the folder 0700, the key 0600) and reused across runs so a phone's
 * certificate exception keeps working. A new one is made when missing, unreadable, expiring
 * within 30 days, or not covering every address in `addresses` (IPs and host names).
 *
 * @example
 * const tls = await selfSignedCertificate('data', [...lanAddresses(), os.hostname()])
 * https.createServer({ cert: tls.cert, key: tls.key }, app)
 */
export async function selfSignedCertificate(
  dataDir: string,
  addresses: string[],
  now = new Date(),
): Promise<SelfSignedCertificate> {
  const dir = join(dataDir, 'tls')
  const certPath = join(dir, 'self-signed-cert.pem')
  const keyPath = join(dir, 'self-signed-key.pem')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700) // mkdir leaves an existing folder's mode alone
  const kept = await readUsable(certPath, keyPath, addresses, now)
  if (kept) return { ...kept.pair, created: false, fingerprint: kept.x509.fingerprint256 }

  const pems = await generate([{ name: 'commonName', value: 'signal-kit LAN demo' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfterDate: new Date(now.getTime() + CERT_VALID_DAYS * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: addresses.map((a) => (isIP(a) ? { type: 7 as const, ip: a } : { type: 2 as const, value: a })) },
    ],
  })
  // Key first: a crash between the two renames leaves a cert that fails checkPrivateKey next run.
  await writePrivately(keyPath, pems.private)
  await writePrivately(certPath, pems.cert)
  return { cert: pems.cert, key: pems.private, created: true, fingerprint: new X509Certificate(pems.cert).fingerprint256 }
}

/** The stored pair when it still serves `addresses` at `now`, otherwise undefined. */
async function readUsable(certPath: string, keyPath: string, addresses: string[], now: Date) {
  let pair: { cert: string; key: string }
  let x509: X509Certificate
  try {
    pair = { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') }
    x509 = new X509Certificate(pair.cert)
    if (!x509.checkPrivateKey(createPrivateKey(pair.key))) return undefined
  } catch {
    return undefined // missing or corrupt files are replaced by a fresh certificate
  }
  const renewAt = new Date(x509.validTo).getTime() - RENEW_BEFORE_DAYS * DAY_MS
  if (now.getTime() >= renewAt || now.getTime() < new Date(x509.validFrom).getTime()) return undefined
  const covers = (a: string) => (isIP(a) ? x509.checkIP(a) : x509.checkHost(a, { subject: 'never' })) !== undefined
  return addresses.every(covers) ? { pair, x509 } : undefined
}

/** Write then rename, so a reader never sees half a PEM; 0600 because the key is secret. */
async function writePrivately(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, text, { mode: 0o600 })
  await chmod(temporary, 0o600) // a leftover temporary file would keep its old mode
  await rename(temporary, path)
}

/**
 * Addresses a LAN visitor can reach this machine at: every non-internal IPv4 and IPv6 (skip
 * link-local fe80:: scoped ones, which a URL cannot carry portably) of `interfaces`, then
 * 'localhost' and '127.0.0.1'; no duplicates.
 */
export function lanAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const found = Object.values(interfaces)
    .flatMap((infos) => infos ?? [])
    .filter((info) => !info.internal && !(info.family === 'IPv6' && /^fe80:/i.test(info.address)))
    .map((info) => info.address)
  return [...new Set([...found, ...LOOPBACK_NAMES])]
}

/** One https URL per address: `https://10.0.0.5:8443/`, IPv6 in brackets, basePath ('' or '/prefix') before the final '/'. */
export function lanUrls(addresses: string[], port: number, basePath = ''): string[] {
  const path = basePath.replace(/\/+$/, '')
  return addresses.map((a) => `https://${isIP(a) === 6 ? `[${a}]` : a}:${port}${path}/`)
}

/**
 * The text `npm start -- --lan` prints: the URLs, a QR code of the first URL a phone can
 * reach (not localhost/127.0.0.1), why the browser warns and how to proceed, and the
 * certificate's SHA-256 fingerprint so a careful user can compare it.
 */
export async function lanBanner(urls: string[], fingerprint: string): Promise<string> {
  const lines = ['signal-kit LAN demo (HTTPS) at:', ...urls.map((url) => `  ${url}`), '']
  const phoneUrl = urls.find((url) => !LOOPBACK_NAMES.includes(new URL(url).hostname))
  if (phoneUrl) {
    lines.push(`Scan with a phone on the same network to open ${phoneUrl}`)
    lines.push(await QRCode.toString(phoneUrl, { type: 'terminal', small: true }))
  } else {
    lines.push('No network address found: only this machine can open the demo.', '')
  }
  lines.push(
    'The browser will warn that the connection is not private because this certificate was made on this machine for this demo, not by a public authority: choose Advanced → Proceed (Chrome; in Firefox Advanced → Accept the Risk) or Show details → visit this website (Safari).',
    `Certificate SHA-256 fingerprint: ${fingerprint}`,
  )
  return lines.join('\n')
}
