import { existsSync, writeFileSync } from 'node:fs';
import { iproute, kernelLinkCounters } from '../link/tap.js';
import { assertNotHostNamespace, LabError } from './namespace.js';

/**
 * The TAP a foreign stack opens (`tap:` targets, docs/foreign-stacks.md): a persistent device
 * (`ip tuntap add … mode tap`) that any program can attach to by name with TUNSETIFF
 * (IFF_TAP | IFF_NO_PI). Its kernel side carries no address and takes no part: ARP is off
 * (IFF_NOARP, so the kernel never answers the stack's ARP requests from this side), IPv6 is off
 * (no router solicitations or DAD), and frames the stack sends to the lab's MAC arrive here as
 * PACKET_OTHERHOST, which IP drops. The harness reads and writes this side through a packet
 * socket and relays to the lab's own TAP, which holds the kernel's address.
 */

export const FOREIGN_IFNAME = 'tcpfuzz1';

export interface ForeignTap {
  readonly ifname: string;
  /** A program has the device open (the kernel's LOWER_UP). */
  carrier(): boolean;
  /**
   * The kernel's counters of the device: `rx` is what the stack wrote, `tx` what reached its fd
   * (`tx.dropped`: frames the kernel dropped because the stack read too slowly, or had exited).
   */
  counters(): ReturnType<typeof kernelLinkCounters>;
  /** Deletes the device. */
  close(): void;
}

/** Creates the foreign stack's TAP in the current (lab) namespace; a LabError says why not. */
export function createForeignTap(ifname = FOREIGN_IFNAME, mtu = 1500): ForeignTap {
  assertNotHostNamespace();
  let created = false;
  try {
    iproute(['tuntap', 'add', 'dev', ifname, 'mode', 'tap']);
    created = true;
    const v6 = `/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`;
    if (existsSync(v6)) writeFileSync(v6, '1');
    // As on the lab's TAP: room for the frames a thousand connections send at once.
    iproute(['link', 'set', 'dev', ifname, 'arp', 'off', 'mtu', String(mtu), 'txqueuelen', '10000', 'up']);
  } catch (e) {
    if (created) iproute(['link', 'delete', 'dev', ifname]);
    throw new LabError(`cannot create the stack's TAP ${ifname}: ${(e as Error).message}`);
  }
  let closed = false;
  return {
    ifname,
    carrier: () => {
      const [link] = JSON.parse(iproute(['-j', 'link', 'show', 'dev', ifname])) as Array<{ flags?: string[] }>;
      return link?.flags?.includes('LOWER_UP') ?? false;
    },
    counters: () => kernelLinkCounters(ifname),
    close: () => {
      if (closed) return;
      closed = true;
      try {
        iproute(['link', 'delete', 'dev', ifname]);
      } catch {
        // The namespace is private to the run and goes away with it; nothing is left behind.
      }
    },
  };
}
