import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import type { NetworkInterfaceInfo } from 'node:os'
import os from 'node:os'
import { join } from 'node:path'
import QRCode from 'qrcode'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { lanAddresses, lanBanner, lanUrls, selfSignedCertificate } from './lan'

const ADDRESSES = ['192.168.1.20', 'fd00::20', 'laptop.local', 'localhost', '127.0.0.1']
const DAY_MS = 86_400_000

describe('the self-signed certificate of npm start -- --lan', () => {
  let dataDir: string
  beforeEach(async () => { dataDir = await mkdtemp(join(os.tmpdir(), 'signal-kit-lan-')) })
  afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

  it('is made on first run and covers every address, IPs and host names', async () => {
    const tls = await selfSignedCertificate(dataDir, ADDRESSES)
    expect(tls.created).toBe(true)
    const x509 = new X509Certificate(tls.cert)
    expect(tls.fingerprint).toBe(x509.fingerprint256)
    expect(tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(x509.subject).toContain('CN=signal-kit LAN demo')
    expect(x509.checkIP('192.168.1.20')).toBe('192.168.1.20')
    expect(x509.checkIP('fd00::20')).toBeDefined()
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(x509.checkIP('10.9.9.9')).toBeUndefined()
    expect(x509.checkHost('laptop.local')).toBe('laptop.local')
    expect(x509.subjectAltName).toContain('DNS:localhost')
    expect(x509.ca).toBe(false)
    expect(x509.checkPrivateKey(createPrivateKey(tls.key))).toBe(true)
  })

  it('is valid for a year, starting a little in the past', async () => {
    const now = new Date()
    const x509 = new X509Certificate((await selfSignedCertificate(dataDir, ADDRESSES, now)).cert)
    expect(new Date(x509.validFrom).getTime()).toBeLessThan(now.getTime())
    expect(new Date(x509.validTo).getTime()).toBeGreaterThan(now.getTime() + 364 * DAY_MS)
  })

  it('is reused on the next run with the same addresses, so the phone exception keeps working', async () => {
    const first = await selfSignedCertificate(dataDir, ADDRESSES)
    const second = await selfSignedCertificate(dataDir, [...ADDRESSES].reverse())
    expect(second.created).toBe(false)
    expect(second.fingerprint).toBe(first.fingerprint)
    expect(second.key).toBe(first.key)
  })

  it('is made anew when the machine got a new address', async () => {
    const first = await selfSignedCertificate(dataDir, ADDRESSES)
    const second = await selfSignedCertificate(dataDir, [...ADDRESSES, '10.0.0.7'])
    expect(second.created).toBe(true)
    expect(second.fingerprint).not.toBe(first.fingerprint)
    expect(new X509Certificate(second.cert).checkIP('10.0.0.7')).toBe('10.0.0.7')
  })

  it('is made anew when it expires within 30 days', async () => {
    const first = await selfSignedCertificate(dataDir, ADDRESSES)
    const later = new Date(Date.now() + 340 * DAY_MS)
    const second = await selfSignedCertificate(dataDir, ADDRESSES, later)
    expect(second.created).toBe(true)
    expect(second.fingerprint).not.toBe(first.fingerprint)
    expect(new Date(new X509Certificate(second.cert).validTo).getTime()).toBeGreaterThan(later.getTime() + 364 * DAY_MS)
  })

  it('keeps the key readable only by its owner, in a folder only its owner can enter', async () => {
    await selfSignedCertificate(dataDir, ADDRESSES)
    expect((await stat(join(dataDir, 'tls'))).mode & 0o777).toBe(0o700)
    expect((await stat(join(dataDir, 'tls', 'self-signed-key.pem'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(dataDir, 'tls', 'self-signed-cert.pem'))).mode & 0o777).toBe(0o600)
  })

  it('replaces a corrupt certificate file', async () => {
    const first = await selfSignedCertificate(dataDir, ADDRESSES)
    await writeFile(join(dataDir, 'tls', 'self-signed-cert.pem'), '-----BEGIN CERTIFICATE-----\ngarbage\n')
    const second = await selfSignedCertificate(dataDir, ADDRESSES)
    expect(second.created).toBe(true)
    expect(second.fingerprint).not.toBe(first.fingerprint)
    expect((await selfSignedCertificate(dataDir, ADDRESSES)).created).toBe(false)
  })
})

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false, scopeid = 0): NetworkInterfaceInfo {
  const common = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null }
  return family === 'IPv4' ? { ...common, family } : { ...common, family, scopeid }
}

describe('the addresses and URLs a LAN visitor can use', () => {
  it('lists every outside address, skips loopback and link-local ones, then localhost and 127.0.0.1 once', () => {
    const addresses = lanAddresses({
      lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
      eth0: [iface('192.168.1.20', 'IPv4'), iface('fe80::1c2b:3ff:fe4d:5e6f', 'IPv6', false, 2), iface('fd00::20', 'IPv6')],
      wlan0: [iface('10.0.0.5', 'IPv4'), iface('192.168.1.20', 'IPv4')],
      down: undefined,
    })
    expect(addresses).toEqual(['192.168.1.20', 'fd00::20', '10.0.0.5', 'localhost', '127.0.0.1'])
  })

  it('reads the real interfaces by default', () => {
    expect(lanAddresses().slice(-2)).toEqual(['localhost', '127.0.0.1'])
  })

  it('makes one https URL per address, IPv6 in brackets, under the base path', () => {
    expect(lanUrls(['10.0.0.5', 'fd00::20', 'localhost'], 8443)).toEqual([
      'https://10.0.0.5:8443/', 'https://[fd00::20]:8443/', 'https://localhost:8443/',
    ])
    expect(lanUrls(['10.0.0.5'], 8443, '/signal')).toEqual(['https://10.0.0.5:8443/signal/'])
  })
})

describe('the banner of npm start -- --lan', () => {
  const FINGERPRINT = 'AB:CD:EF:01'

  it('lists every URL, the fingerprint and why the browser warns', async () => {
    const urls = ['https://localhost:8443/', 'https://10.0.0.5:8443/', 'https://127.0.0.1:8443/']
    const banner = await lanBanner(urls, FINGERPRINT)
    for (const url of urls) expect(banner).toContain(url)
    expect(banner).toContain(FINGERPRINT)
    expect(banner).toMatch(/made on this machine for this demo.*Advanced → Proceed.*Show details → visit this website/)
  })

  it('shows a QR code of the first URL a phone can reach, not localhost', async () => {
    const banner = await lanBanner(['https://localhost:8443/', 'https://10.0.0.5:8443/', 'https://[fd00::20]:8443/'], FINGERPRINT)
    expect(banner).toMatch(/[▄▀█]/)
    expect(banner).toContain('to open https://10.0.0.5:8443/')
    expect(banner).toContain(await QRCode.toString('https://10.0.0.5:8443/', { type: 'terminal', small: true }))
  })

  it('says so instead of a QR code when only this machine can open it', async () => {
    const banner = await lanBanner(['https://localhost:8443/', 'https://127.0.0.1:8443/'], FINGERPRINT)
    expect(banner).not.toMatch(/[▄▀█]/)
    expect(banner).toContain('only this machine')
  })
})
