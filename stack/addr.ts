/**
 * Addresses as numbers: an IPv4 address is an unsigned 32-bit integer and a MAC address a 48-bit
 * integer (exact in a double). Numbers compare and hash cheaply on the hot path; these helpers
 * convert at the edges (CLI, logs, reports).
 */
export type Ipv4 = number;
export type Mac = number;

export function ipv4ToString(ip: Ipv4): string {
  return `${(ip >>> 24) & 0xff}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** Parses dotted-quad text; undefined when it is not exactly four decimal octets. */
export function parseIpv4(text: string): Ipv4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

export function macToString(mac: Mac): string {
  const parts: string[] = [];
  for (let i = 5; i >= 0; i--) parts.push((Math.floor(mac / 2 ** (8 * i)) % 256).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function parseMac(text: string): Mac | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) return undefined;
  return m.slice(1).reduce((acc, h) => acc * 256 + parseInt(h, 16), 0);
}

export const BROADCAST_MAC: Mac = 0xffffffffffff;

/** Reads a 48-bit MAC at `off`. */
export function readMac(b: Uint8Array, off: number): Mac {
  return ((b[off]! << 8) | b[off + 1]!) * 2 ** 32 + (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/** Writes a 48-bit MAC at `off`. */
export function writeMac(b: Uint8Array, off: number, mac: Mac): void {
  const hi = Math.floor(mac / 2 ** 32);
  const lo = mac >>> 0;
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 0xff;
  b[off + 4] = (lo >>> 8) & 0xff;
  b[off + 5] = lo & 0xff;
}
