import { isIP, isIPv6 } from 'node:net';
import { domainToUnicode } from 'node:url';

/**
 * The host pathod puts in the automatic Host header when the path is an absolute URL
 * (`get:'http://Foo.com:8080/x'` → `Host: foo.com`): mitmproxy's `url.parse` over Python's
 * `urllib.parse.urlparse`, reproduced step by step: the host is lower-cased, the port dropped;
 * a path that is not a URL with a valid host gives undefined (pathod then uses the host it
 * connected to).
 */
export function hostFromUrl(path: Uint8Array): string | undefined {
  // decode("ascii", errors="ignore"), then urlsplit's clean-up of the input.
  let url = Buffer.from(path.filter((b) => b < 0x80)).toString('latin1');
  url = url.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  const colon = url.indexOf(':');
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) url = url.slice(colon + 1);
  if (!url.startsWith('//')) return undefined;
  const rest = url.slice(2);
  const stop = rest.search(/[/?#]/);
  const netloc = stop < 0 ? rest : rest.slice(0, stop);
  if (netloc.includes('[') !== netloc.includes(']')) return undefined;

  const hostinfo = netloc.slice(netloc.lastIndexOf('@') + 1);
  let hostname: string;
  let port: string;
  const open = hostinfo.indexOf('[');
  if (open >= 0) {
    const close = hostinfo.indexOf(']', open);
    if (open > 0 || close < 0) return undefined;
    hostname = hostinfo.slice(1, close);
    const after = hostinfo.slice(close + 1);
    if (after && !after.startsWith(':')) return undefined;
    if (!isIPv6(hostname)) return undefined;
    port = after.slice(1);
  } else {
    const c = hostinfo.indexOf(':');
    hostname = c < 0 ? hostinfo : hostinfo.slice(0, c);
    port = c < 0 ? '' : hostinfo.slice(c + 1);
  }
  if (!hostname) return undefined;
  const pct = hostname.indexOf('%');
  const host = pct < 0 ? hostname.toLowerCase() : hostname.slice(0, pct).toLowerCase() + hostname.slice(pct);

  // Python's idna codec, ASCII fast path: no empty or over-long labels.
  const labels = host.split('.');
  if (labels.slice(0, -1).some((l) => l.length === 0 || l.length > 63) || labels.at(-1)!.length > 63) return undefined;
  if (port && (!/^\d+$/.test(port) || Number(port) > 65535)) return undefined;
  return isValidHost(host) ? host : undefined;
}

/** mitmproxy `net/check.py` is_valid_host: a DNS name (underscores allowed) or an IP address. */
function isValidHost(host: string): boolean {
  if (host.split('.').some((l) => l.toLowerCase().startsWith('xn--') && domainToUnicode(l) === '')) return false;
  if (host.length > 255) return false;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.split('.').every((l) => /^(?!-)[A-Za-z\d\-_]{1,63}(?<!-)$/.test(l))) return true;
  return isIP(name) !== 0;
}
