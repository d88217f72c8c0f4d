import { RealClock } from '../../../stack/clock.js';
import { setupLab } from '../../../stack/lab/index.js';
import { PacketSocketLink } from '../../../stack/link/packet-socket.js';
import { Stack } from '../../../stack/stack.js';
import { BENCH_ENDPOINT_IP, BENCH_ENDPOINT_MAC, type Bench, type BenchStackOptions } from './bench.js';
import { Endpoint } from './endpoint.js';
import { RealTime } from './time.js';

/**
 * The bench on a TAP: builds the lab in the current network namespace (it must be a private
 * one: setupLab refuses the host's), runs the stack under test on the TAP's fd, and plays the
 * endpoint on the TAP's *kernel* side through an AF_PACKET socket bound to the interface
 * (stack/link/packet-socket.ts). Frames the endpoint sends reach the stack's fd as any frame
 * from the kernel would; every frame the stack writes reaches the endpoint.
 *
 * The endpoint is 10.77.0.3 with a MAC no interface has, and the kernel owns neither: the
 * stack's frames to it arrive at the kernel as PACKET_OTHERHOST and are dropped before IP, the
 * stack's ARP requests for it are not the kernel's to answer (the endpoint answers them), and
 * the endpoint's own frames leave through the interface without the kernel's IP layer ever
 * seeing them. So the kernel has no socket, no address and no neighbour entry for this peer,
 * and never answers a segment in its place — no stray RST, the classic failure of crafting
 * segments from a kernel-owned address with scapy. Time is real: every expectation states its
 * tolerance. Needs CAP_NET_ADMIN (the TAP) and CAP_NET_RAW (the packet socket).
 */
export function tapBench(opts: BenchStackOptions = {}): Bench {
  const clock = new RealClock();
  const lab = setupLab({ clock });
  let socket: PacketSocketLink | undefined;
  let stack: Stack | undefined;
  try {
    stack = new Stack({ link: lab.link, mac: lab.stackMac, ip: lab.stackIp, prefixLen: lab.prefixLen, clock, seed: 1, ...opts });
    socket = PacketSocketLink.open({ ifname: lab.ifname, clock });
    const time = new RealTime(clock);
    const endpoint = new Endpoint({ link: socket, time, ip: BENCH_ENDPOINT_IP, mac: BENCH_ENDPOINT_MAC, target: { ip: lab.stackIp, mac: lab.stackMac } });
    // Frames leave the socket in order and the TAP keeps it: the stack has learnt the endpoint
    // before the test's first segment arrives.
    endpoint.announce();
    const dut = stack;
    const link = socket;
    return {
      link: 'tap',
      endpoint,
      stack: dut,
      time,
      close: () => {
        link.close();
        dut.close();
        lab.close();
      },
    };
  } catch (e) {
    socket?.close();
    stack?.close();
    lab.close();
    throw e;
  }
}
