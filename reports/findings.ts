import { PAUSE_TAG, type ConnectionFinding, type EndpointCounts, type FindingCause } from './record.js';
import type { Endpoint, Finding, FindingInstance, FindingKind, ShowFilter, Thresholds } from './report.js';

/** Instances kept per finding group in the report (the rest are counted). */
const MAX_INSTANCES = 100;
/** Streams or frames named in one tshark filter. */
const MAX_FILTER_ITEMS = 20;

const SEVERITY: Record<FindingKind, 'error' | 'warning'> = {
  'missing-fin': 'error',
  hang: 'error',
  'retransmit-storm': 'error',
  'retransmit-after-close': 'error',
  reset: 'warning',
  refused: 'warning',
  'unanswered-syn': 'error',
  'slow-handshake': 'warning',
  'zero-window-stall': 'warning',
  'duplicate-ack-after-fin': 'error',
};

interface EndpointTotals {
  endpoint: Endpoint;
  connections: number;
  counts: EndpointCounts;
}

interface Group {
  kind: FindingKind;
  culprit: 'server' | 'client';
  server: Endpoint;
  connections: number;
  instances: FindingInstance[];
  /** Per instance kept in `instances`: packets its stream/frame filter shows. */
  packets: number[];
  tags: Map<string, number>;
  causes: Map<FindingCause, number>;
  /** Smallest and largest `ms` of the group's findings that have one. */
  msRange: [number, number] | null;
}

const endpointKey = (e: Endpoint): string => `${e.ip}:${e.port}`;

/**
 * Groups per-connection findings by kind, culprit and server endpoint ("server 10.77.0.2:19 sent
 * no FIN on 128/128 connections"), and keeps per-server packet counts so that each group's
 * tcpdump/tshark filter comes with the number of packets it shows. Memory grows with the number
 * of server endpoints and finding groups, not with the number of connections.
 */
export class FindingCollector {
  private readonly servers = new Map<string, EndpointTotals>();
  private readonly groups = new Map<string, Group>();

  /**
   * Accounts one finished connection. Its packets count towards the filters of its server
   * endpoint, and towards those of its client endpoint when that endpoint is itself a server
   * already seen (a host:port in both roles is rare outside crafted captures; the counts miss
   * only client-role connections finished before the endpoint first served).
   */
  add(server: Endpoint, client: Endpoint, counts: EndpointCounts, findings: ConnectionFinding[]): void {
    const key = endpointKey(server);
    let tot = this.servers.get(key);
    if (!tot) {
      tot = { endpoint: server, connections: 0, counts: { pkts: [0, 0], fin: [0, 0], rst: [0, 0], syn: [0, 0], synAck: [0, 0], zeroWindow: [0, 0] } };
      this.servers.set(key, tot);
    }
    tot.connections++;
    const asClient = this.servers.get(endpointKey(client));
    for (const k of Object.keys(counts) as Array<keyof EndpointCounts>) {
      tot.counts[k][0] += counts[k][0];
      tot.counts[k][1] += counts[k][1];
      if (asClient && asClient !== tot) {
        // Seen from that endpoint, what the client sent is what it sent (index 1), and vice versa.
        asClient.counts[k][0] += counts[k][1];
        asClient.counts[k][1] += counts[k][0];
      }
    }
    for (const f of findings) {
      const gk = `${f.kind}|${f.culprit}|${key}`;
      let g = this.groups.get(gk);
      if (!g) {
        g = { kind: f.kind, culprit: f.culprit, server, connections: 0, instances: [], packets: [], tags: new Map(), causes: new Map(), msRange: null };
        this.groups.set(gk, g);
      }
      g.connections++;
      if (g.instances.length < MAX_INSTANCES) {
        g.instances.push(f.instance);
        g.packets.push(f.packets);
      }
      if (f.tag) g.tags.set(f.tag, (g.tags.get(f.tag) ?? 0) + 1);
      if (f.cause) g.causes.set(f.cause, (g.causes.get(f.cause) ?? 0) + 1);
      if (f.ms !== undefined) g.msRange = g.msRange ? [Math.min(g.msRange[0], f.ms), Math.max(g.msRange[1], f.ms)] : [f.ms, f.ms];
    }
  }

  /** Finding groups, most connections first, errors before warnings. */
  build(t: Thresholds): Finding[] {
    const out: Finding[] = [];
    for (const g of this.groups.values()) {
      const tot = this.servers.get(endpointKey(g.server))!;
      for (const i of g.instances) i.frames.sort((a, b) => a - b);
      g.instances.sort((a, b) => a.stream - b.stream);
      out.push({
        source: 'capture',
        kind: g.kind,
        severity: SEVERITY[g.kind],
        culprit: g.culprit,
        server: g.server,
        title: title(g, tot.connections, t),
        explanation: explanation(g, t),
        connections: g.connections,
        of_connections: tot.connections,
        instances: g.instances,
        instances_omitted: g.connections - g.instances.length,
        show: showFilter(g, tot),
      });
    }
    const rank = (f: Finding): number => (f.severity === 'error' ? 0 : 1);
    return out.sort((a, b) => rank(a) - rank(b) || b.connections - a.connections || a.kind.localeCompare(b.kind));
  }
}

function who(g: Group): string {
  const ep = endpointKey(g.server);
  return g.culprit === 'server' ? `server ${ep}` : `clients of ${ep}`;
}

function title(g: Group, total: number, t: Thresholds): string {
  const n = `${g.connections}/${total} connections`;
  const ep = endpointKey(g.server);
  switch (g.kind) {
    case 'missing-fin':
      return `${who(g)} sent no FIN on ${n}`;
    case 'hang':
      return `${n} to ${ep} hang: no payload for ≥ ${t.hang_ms / 1000} s, nobody closed`;
    case 'retransmit-storm':
      return `${who(g)} sent one segment ≥ ${t.storm_count} times on ${n}`;
    case 'retransmit-after-close':
      return `${who(g)} retransmitted after the connection was closed on ${n}`;
    case 'reset':
      return `${who(g)} reset ${n}`;
    case 'refused':
      return `${ep} refused ${n}`;
    case 'unanswered-syn':
      return `${ep} answered no SYN on ${n}`;
    case 'slow-handshake': {
      const paused = g.tags.get(PAUSE_TAG) ?? 0;
      const pause = `paused ${msRange(g)} ms after the handshake`;
      const why = `it resent its SYN/ACK instead of taking the client's ACK`;
      if (paused === g.connections) return `${who(g)} ${pause} on ${n}: ${why}`;
      return `${n} to ${ep} took ≥ ${t.slow_handshake_ms} ms to connect${paused > 0 ? `; on ${paused} the server ${pause}: ${why}` : ''}`;
    }
    case 'zero-window-stall':
      return `${who(g)} held a zero window ≥ ${t.zero_window_ms} ms on ${n}`;
    case 'duplicate-ack-after-fin':
      return `${who(g)} kept sending duplicate ACKs after FIN on ${n}`;
  }
}

/** "3000" or "2990–3010" (rounded ms). */
function msRange(g: Group): string {
  const [lo, hi] = (g.msRange ?? [0, 0]).map(Math.round) as [number, number];
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

const connections = (n: number): string => `${n} connection${n === 1 ? '' : 's'}`;

/** "FIN_WAIT2 on 128 connections, FIN_WAIT1 on 3" from a group's tag counts. */
function tagSummary(g: Group): string {
  return [...g.tags.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([tag, n], i) => `${tag} on ${n}${i === 0 ? ` connection${n === 1 ? '' : 's'}` : ''}`)
    .join(', ');
}

/** Grammar for "the server" (one endpoint) versus "the clients" (many). */
interface Party {
  name: string;
  /** "its" / "their" */
  its: string;
  /** "waits" / "wait" */
  s: string;
  possessive: string;
}

const SERVER: Party = { name: 'the server', its: 'its', s: 's', possessive: "the server's" };
const CLIENTS: Party = { name: 'the clients', its: 'their', s: '', possessive: "the clients'" };

function explanation(g: Group, t: Thresholds): string {
  const self = g.culprit === 'server' ? SERVER : CLIENTS;
  const peer = g.culprit === 'server' ? CLIENTS : SERVER;
  const Cap = (p: Party): string => p.name[0]!.toUpperCase() + p.name.slice(1);
  switch (g.kind) {
    case 'missing-fin':
      return (
        `${Cap(peer)} closed ${peer.its} side (sent FIN) and ${self.name} never sent ${self.its} own FIN by the end of the capture` +
        `${t.fin_wait_ms > 0 ? ` (${t.fin_wait_ms} ms or more later)` : ''}: ` +
        `${peer.name} wait${peer.s} in FIN_WAIT2 (FIN acknowledged) or FIN_WAIT1 (not even acknowledged) — here ${tagSummary(g)} — ` +
        `and ${self.possessive} sockets sit in CLOSE_WAIT. An application that reads end-of-file and never calls close(), ` +
        `or a stack whose close is lost, does this; the half-open sockets pile up until a timeout (RFC 9293 §3.6).`
      );
    case 'hang':
      return (
        `Neither side sent FIN or RST, no payload moved for at least ${t.hang_ms / 1000} s before the capture ended, ` +
        `and one side is still waiting (${tagSummary(g)}): unacked-data = sent data nobody acknowledged, ` +
        `zero-window = a receiver stopped reading, no-response = the client's last message was never answered. ` +
        `Keep-alives and bare ACKs do not count as progress.`
      );
    case 'retransmit-storm': {
      const held = g.causes.get('server-held-ack') ?? 0;
      return (
        `A segment is sent again when its acknowledgement does not arrive before the retransmission timer fires ` +
        `(RFC 6298), and the timer doubles each time. Sending one segment ${t.storm_count} or more times (${tagSummary(g)}) ` +
        `means the peer never acknowledged it: the packets are lost on the way, or the peer ignores them — ` +
        `e.g. a server resending SYN/ACK because it never processed the client's ACK.` +
        (held > 0
          ? ` On ${connections(held)} the resending began while the server had not yet taken the client's handshake ACK ` +
            `(it resent its SYN/ACK afterwards): a server stuck before ESTABLISHED acknowledges nothing, so here the server ` +
            `held back its ACK, not the network.`
          : '')
      );
    }
    case 'retransmit-after-close':
      return (
        `After the peer's FIN acknowledged everything, or after a RST ended the connection, there is nothing left to resend; ` +
        `yet ${self.name} retransmitted at least ${t.after_close_count} times (${tagSummary(g)}). A state machine that missed the ACK ` +
        `or the close does this — e.g. a SYN/ACK resent after the client's FIN is the mark of a listener that handed the connection ` +
        `to the application before processing the handshake's final ACK. (One such packet can be an ACK lost after the capture point.)`
      );
    case 'reset':
      return (
        `A RST aborts a connection at once and discards unread data (RFC 9293 §3.5.2). ${Cap(self)} sent it` +
        `${g.tags.has('after-fin') ? ` (after a FIN on ${g.tags.get('after-fin')}: an abortive close)` : ''}. ` +
        `Servers do this when they close with unread input or crash, clients when they abort; check that it was meant.`
      );
    case 'refused':
      return `The SYN was answered with RST and no SYN/ACK: nothing was listening on that port, or a firewall rejected the connection.`;
    case 'unanswered-syn':
      return (
        `The client's SYN and its retransmissions got neither SYN/ACK nor RST: the server is down or unreachable, ` +
        `its listen queue is full, or a filter drops the packets.`
      );
    case 'slow-handshake': {
      const paused = g.tags.get(PAUSE_TAG) ?? 0;
      const slow =
        `SYN → SYN/ACK measures how fast the server's stack answers; SYN → ACK adds the client's side. Over ${t.slow_handshake_ms} ms ` +
        `usually means a SYN or SYN/ACK was lost and resent after the 1 s initial timeout (RFC 6298 §2), or an overloaded listener.`;
      const pause =
        `A connection opens with three segments: the client's SYN, the server's SYN/ACK and the client's ACK (RFC 9293 §3.5). ` +
        `The client's ACK completed the handshake on the wire and the client went on to send, yet the server resent its SYN/ACK ` +
        `as if that ACK had never come: it had not processed it (or the ACK was lost after the capture point). Until then the server ` +
        `held the connection half-open (SYN-RECEIVED): it acknowledged nothing and sent nothing, and waited for its retransmission ` +
        `timer. Only the client's answer to the resent SYN/ACK let the connection in, ${msRange(g)} ms after the handshake: ` +
        `a connection that opens at once and then sits silent before any data. A listener that hands the new connection to the ` +
        `application before it processes the handshake's final ACK does this.`;
      if (paused === 0) return slow;
      if (paused === g.connections) return pause;
      return `${slow} On ${connections(paused)} the server paused after the handshake instead: ${pause}`;
    }
    case 'zero-window-stall':
      return (
        `A zero window means the receiver's buffer is full because its application is not reading. The sender must stop ` +
        `and probe (RFC 9293 §3.8.6.1) until the window opens; ${self.name} kept ${self.its} window closed for at least ${t.zero_window_ms} ms.`
      );
    case 'duplicate-ack-after-fin':
      return (
        `After FIN, ${self.name} kept repeating the same acknowledgement because ${peer.name} kept resending data or SYN/ACK ` +
        `that had already been acknowledged: ${peer.name} ${peer === SERVER ? 'is' : 'are'} not processing ACKs.`
      );
  }
}

/** tcpdump and tshark expressions for "packets sent by the server" / "by its clients" / both. */
function sentBy(ep: Endpoint, by: 'server' | 'client' | 'both'): { tcpdump: string; tshark: string } {
  const srv = { tcpdump: `src host ${ep.ip} and src port ${ep.port}`, tshark: `ip.src==${ep.ip} && tcp.srcport==${ep.port}` };
  const cli = { tcpdump: `dst host ${ep.ip} and dst port ${ep.port}`, tshark: `ip.dst==${ep.ip} && tcp.dstport==${ep.port}` };
  if (by === 'server') return srv;
  if (by === 'client') return cli;
  return { tcpdump: `(${srv.tcpdump}) or (${cli.tcpdump})`, tshark: `(${srv.tshark}) || (${cli.tshark})` };
}

function showFilter(g: Group, tot: EndpointTotals): ShowFilter {
  const c = tot.counts;
  const dir = g.culprit === 'client' ? 0 : 1;
  const by = sentBy(g.server, g.culprit);
  const all = sentBy(g.server, 'both');
  const allPkts = c.pkts[0] + c.pkts[1];
  const streams = g.instances.slice(0, MAX_FILTER_ITEMS);
  const streamPackets = g.packets.slice(0, MAX_FILTER_ITEMS).reduce((a, b) => a + b, 0);
  // tshark 4.0 wants commas between set members.
  const streamSet = `tcp.stream in {${streams.map((i) => i.stream).join(',')}}`;
  const flagged = (tcpdumpFlag: string, tsharkFlag: string, count: number): ShowFilter => ({
    tcpdump: `${by.tcpdump} and ${tcpdumpFlag}`,
    tcpdump_packets: count,
    tshark: `${by.tshark} && ${tsharkFlag}`,
    tshark_packets: count,
  });
  switch (g.kind) {
    case 'missing-fin':
      return flagged('tcp[tcpflags] & tcp-fin != 0', 'tcp.flags.fin==1', c.fin[dir]);
    case 'reset':
      return flagged('tcp[tcpflags] & tcp-rst != 0', 'tcp.flags.reset==1', c.rst[dir]);
    case 'refused':
      return flagged('tcp[tcpflags] & tcp-rst != 0', 'tcp.flags.reset==1', c.rst[1]);
    case 'unanswered-syn':
      return {
        tcpdump: `${sentBy(g.server, 'client').tcpdump} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`,
        tcpdump_packets: c.syn[0],
        tshark: `${sentBy(g.server, 'client').tshark} && tcp.flags.syn==1 && tcp.flags.ack==0`,
        tshark_packets: c.syn[0],
      };
    case 'slow-handshake': {
      const n = c.syn[0] + c.syn[1] + c.synAck[0] + c.synAck[1];
      return {
        tcpdump: `(${all.tcpdump}) and tcp[tcpflags] & tcp-syn != 0`,
        tcpdump_packets: n,
        tshark: `(${all.tshark}) && tcp.flags.syn==1`,
        tshark_packets: n,
      };
    }
    case 'zero-window-stall':
      return flagged('tcp[14:2] = 0', 'tcp.window_size_value==0', c.zeroWindow[dir]);
    case 'hang':
      return { tcpdump: all.tcpdump, tcpdump_packets: allPkts, tshark: streamSet, tshark_packets: streamPackets };
    case 'retransmit-storm':
      return {
        tcpdump: all.tcpdump,
        tcpdump_packets: allPkts,
        tshark: `${streamSet} && ${by.tshark} && tcp.analysis.retransmission`,
        tshark_packets: streamPackets,
      };
    case 'retransmit-after-close':
    case 'duplicate-ack-after-fin': {
      const frames = g.instances.flatMap((i) => i.frames).slice(0, MAX_FILTER_ITEMS).sort((a, b) => a - b);
      return { tcpdump: all.tcpdump, tcpdump_packets: allPkts, tshark: `frame.number in {${frames.join(',')}}`, tshark_packets: frames.length };
    }
  }
}
