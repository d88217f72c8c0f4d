import { BROADCAST_MAC, type Ipv4, type Mac } from '../../stack/addr.js';
import { VirtualClock } from '../../stack/clock.js';
import { createSimWire } from '../../stack/link/sim.js';
import type { Link } from '../../stack/link/link.js';
import { Stack, type StackOptions } from '../../stack/stack.js';
import { ARP_REQUEST, emitArp } from '../../stack/wire/arp.js';
import { ETHERTYPE_ARP, emitEthernet } from '../../stack/wire/ethernet.js';

export const SERVER_IP: Ipv4 = 0x0a4d0002; // 10.77.0.2
export const SERVER_MAC: Mac = 0x020000000002;
export const CLIENT_IP: Ipv4 = 0x0a4d0001; // 10.77.0.1
export const CLIENT_MAC: Mac = 0x020000000001;

/**
 * Two of our stacks on one sim wire, a client and a server, for tests where both ends' TCP
 * matters (a client that retransmits on its own timers, two TCBs to compare). Segment tests
 * that script one end use the bench (fuzzers/raw/testbench) instead. `wrap` may put links
 * (recorder, fault injector) around either end.
 */
export function twoStacks(
  clientOpts: Partial<StackOptions> = {},
  serverOpts: Partial<StackOptions> = {},
  wrap?: (a: Link, b: Link) => [Link, Link],
): { clock: VirtualClock; client: Stack; server: Stack; links: [Link, Link] } {
  const clock = new VirtualClock(1_000_000);
  let [a, b]: [Link, Link] = createSimWire(clock, { latencyMs: 1 });
  if (wrap) [a, b] = wrap(a, b);
  const client = new Stack({ link: a, mac: CLIENT_MAC, ip: CLIENT_IP, clock, seed: 2, ...clientOpts });
  const server = new Stack({ link: b, mac: SERVER_MAC, ip: SERVER_IP, clock, seed: 3, ...serverOpts });
  // Resolve ARP both ways before the test: a request in the client's name teaches the server,
  // the server's reply teaches the client.
  a.send(emitEthernet({ dst: BROADCAST_MAC, src: CLIENT_MAC, ethertype: ETHERTYPE_ARP, payload: emitArp({ op: ARP_REQUEST, senderMac: CLIENT_MAC, senderIp: CLIENT_IP, targetMac: 0, targetIp: SERVER_IP }) }));
  clock.advance(2);
  return { clock, client, server, links: [a, b] };
}
