/** The tcpdump/tshark filters the finding rules share, with the packet counts they show. */
import type { Endpoint, ShowFilter } from '../report.js';
import type { EndpointTotals, FindingGroup } from './rule.js';

/** Streams or frames named in one tshark filter. */
export const MAX_FILTER_ITEMS = 20;

/** tcpdump and tshark expressions for "packets sent by the server" / "by its clients" / both. */
export function sentBy(ep: Endpoint, by: 'server' | 'client' | 'both'): { tcpdump: string; tshark: string } {
  const srv = { tcpdump: `src host ${ep.ip} and src port ${ep.port}`, tshark: `ip.src==${ep.ip} && tcp.srcport==${ep.port}` };
  const cli = { tcpdump: `dst host ${ep.ip} and dst port ${ep.port}`, tshark: `ip.dst==${ep.ip} && tcp.dstport==${ep.port}` };
  if (by === 'server') return srv;
  if (by === 'client') return cli;
  return { tcpdump: `(${srv.tcpdump}) or (${cli.tcpdump})`, tshark: `(${srv.tshark}) || (${cli.tshark})` };
}

/** Packets the culprit sent with a flag; `counts` is that flag's c2s / s2c pair. */
export function flagFilter(g: FindingGroup, tcpdumpFlag: string, tsharkFlag: string, counts: readonly [number, number]): ShowFilter {
  const by = sentBy(g.server, g.culprit);
  const count = counts[g.culprit === 'client' ? 0 : 1];
  return { tcpdump: `${by.tcpdump} and ${tcpdumpFlag}`, tcpdump_packets: count, tshark: `${by.tshark} && ${tsharkFlag}`, tshark_packets: count };
}

/** tcpdump: every packet to or from the group's server endpoint. */
function everyPacket(g: FindingGroup, tot: EndpointTotals): Pick<ShowFilter, 'tcpdump' | 'tcpdump_packets'> {
  return { tcpdump: sentBy(g.server, 'both').tcpdump, tcpdump_packets: tot.counts.pkts[0] + tot.counts.pkts[1] };
}

/** Every packet of the server endpoint for tcpdump; for tshark the group's first streams, narrowed by `andTshark`. */
export function streamFilter(g: FindingGroup, tot: EndpointTotals, andTshark = ''): ShowFilter {
  // tshark 4.0 wants commas between set members.
  const streams = g.instances.slice(0, MAX_FILTER_ITEMS).map((i) => i.stream);
  return {
    ...everyPacket(g, tot),
    tshark: `tcp.stream in {${streams.join(',')}}${andTshark}`,
    tshark_packets: g.packets.slice(0, MAX_FILTER_ITEMS).reduce((a, b) => a + b, 0),
  };
}

/** Every packet of the server endpoint for tcpdump; for tshark the first frames the group's instances name. */
export function frameFilter(g: FindingGroup, tot: EndpointTotals): ShowFilter {
  const frames = g.instances.flatMap((i) => i.frames).slice(0, MAX_FILTER_ITEMS).sort((a, b) => a - b);
  return {
    ...everyPacket(g, tot),
    tshark: `frame.number in {${frames.join(',')}}`,
    tshark_packets: frames.length,
  };
}
