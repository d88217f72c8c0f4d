import { existsSync, writeFileSync } from 'node:fs';
import { ipv4ToString, parseMac, type Ipv4, type Mac } from '../addr.js';
import type { Clock } from '../clock.js';
import { iproute, linkAddress, TapLink } from '../link/tap.js';
import { assertNotHostNamespace, currentLab, LabError } from './namespace.js';

/**
 * The lab's TAP set-up, inside the lab namespace: a TAP device whose kernel side has
 * 10.77.0.1/24 and whose other side is our stack at 10.77.0.2. Nothing routes out of the
 * namespace.
 */

export const LAB_KERNEL_IP: Ipv4 = 0x0a4d0001; // 10.77.0.1
export const LAB_STACK_IP: Ipv4 = 0x0a4d0002; // 10.77.0.2
export const LAB_PREFIX_LEN = 24;
/** Locally administered (bit 1 of the first octet), unicast. */
export const LAB_STACK_MAC: Mac = 0x02_77_00_00_00_02;
export const LAB_IFNAME = 'tcpfuzz0';

export interface LabOptions {
  clock: Clock;
  ifname?: string;
  kernelIp?: Ipv4;
  stackIp?: Ipv4;
  prefixLen?: number;
  stackMac?: Mac;
  mtu?: number;
  /** See TapOpenOptions.onError. */
  onError?: (message: string) => void;
}

export interface Lab {
  link: TapLink;
  ifname: string;
  kernelIp: Ipv4;
  /** The kernel side's MAC (the TAP device's own address). */
  kernelMac: Mac;
  stackIp: Ipv4;
  stackMac: Mac;
  prefixLen: number;
  /** The named namespace, undefined for a private one. */
  netns: string | undefined;
  /** Closes the TAP link; the device and its address vanish with it. */
  close(): void;
}

/**
 * Builds the lab inside the current namespace: `lo` up, the TAP device, IPv6 off on it (no
 * router solicitations or MLD reports in the capture), the kernel's address on it, link up.
 * Refuses to run in the host's namespace, so a forgotten `enterLabNamespace` cannot put a
 * 10.77.0.0/24 interface on the host. Every failure is a LabError.
 */
export function setupLab(opts: LabOptions): Lab {
  const kernelIp = opts.kernelIp ?? LAB_KERNEL_IP;
  const stackIp = opts.stackIp ?? LAB_STACK_IP;
  const prefixLen = opts.prefixLen ?? LAB_PREFIX_LEN;
  const stackMac = opts.stackMac ?? LAB_STACK_MAC;
  checkAddresses(kernelIp, stackIp, prefixLen);
  assertNotHostNamespace();
  let link: TapLink | undefined;
  try {
    iproute(['link', 'set', 'dev', 'lo', 'up']);
    link = TapLink.open({ name: opts.ifname ?? LAB_IFNAME, clock: opts.clock, mtu: opts.mtu, onError: opts.onError });
    const ifname = link.ifname;
    // Before the link goes up: IPv6 would otherwise send DAD, MLD and router solicitations.
    const v6 = `/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`;
    if (existsSync(v6)) writeFileSync(v6, '1');
    iproute(['addr', 'add', `${ipv4ToString(kernelIp)}/${prefixLen}`, 'dev', ifname]);
    // The TAP's queue toward our reader holds what the kernel sends while JS is busy; the default
    // (1000 frames) overflows when a thousand connections open at once, and a frame dropped there
    // is a frame the capture never saw. 10,000 frames is about 15 MB at most.
    iproute(['link', 'set', 'dev', ifname, 'txqueuelen', '10000']);
    iproute(['link', 'set', 'dev', ifname, 'up']);
    const kernelMac = parseMac(linkAddress(ifname));
    if (kernelMac === undefined) throw new Error(`${ifname}: unreadable hardware address`);
    const tap = link;
    return {
      link: tap,
      ifname,
      kernelIp,
      kernelMac,
      stackIp,
      stackMac,
      prefixLen,
      netns: currentLab()?.netns,
      close: () => tap.close(),
    };
  } catch (e) {
    link?.close();
    // Whatever fails here is the machine's or the namespace's state (a name in use, no
    // privilege, a missing tool): the user's to fix, so one line and exit 2.
    throw new LabError(`cannot build the lab: ${(e as Error).message}`);
  }
}

function checkAddresses(kernelIp: Ipv4, stackIp: Ipv4, prefixLen: number): void {
  if (!Number.isInteger(prefixLen) || prefixLen < 1 || prefixLen > 30) throw new LabError(`bad prefix length /${prefixLen} (1..30)`);
  const mask = (0xffffffff << (32 - prefixLen)) >>> 0;
  if (kernelIp === stackIp) throw new LabError(`kernel and stack addresses are both ${ipv4ToString(kernelIp)}`);
  if (((kernelIp & mask) >>> 0) !== ((stackIp & mask) >>> 0)) {
    throw new LabError(`${ipv4ToString(stackIp)} is not in ${ipv4ToString(kernelIp)}/${prefixLen}`);
  }
}
