import type { Endpoint, Finding, FindingInstance } from '../report.js';
import { sentBy } from './filters.js';
import { endpointKey } from './grammar.js';
import type { CaptureWideRule } from './rule.js';

/** ISNs kept per server endpoint (the first ones; enough to judge, bounded whatever the capture). */
const MAX_ISNS = 4096;
/** Instances listed in the finding. */
const MAX_INSTANCES = 20;
/**
 * A step this small between consecutive ISNs is a counter, not RFC 6528's keyed hash: for
 * hashed ISNs the chance of a step in (0, 2^20) is 2^-12, so most steps being that small is no
 * accident.
 */
const SMALL_STEP = 2 ** 20;

interface Isn {
  isn: number;
  tNs: number;
  stream: number;
  client: Endpoint;
  server: Endpoint;
  frame: number;
  t: number;
}

/**
 * Predictable initial sequence numbers (RFC 6528; RFC 9293 §3.4.1 MUST-8): the server's ISNs
 * across its connections repeat or move in small steps, so an off-path attacker who sees (or
 * guesses) one can guess the next and inject into, or reset, the connection.
 */
export const predictableIsn: CaptureWideRule = {
  kind: 'predictable-isn',
  severity: 'warning',
  summary: "A server's initial sequence numbers across its connections repeat or advance in small steps (RFC 6528): an attacker can guess them.",

  start(t) {
    const byServer = new Map<string, { server: Endpoint; isns: Isn[]; synAcks: number }>();
    return {
      add(conn, record, c) {
        const s = (c ^ 1) as 0 | 1;
        if (conn.stats[s].synAck === 0) return;
        const key = endpointKey(record.server);
        let e = byServer.get(key);
        if (!e) byServer.set(key, (e = { server: record.server, isns: [], synAcks: 0 }));
        e.synAcks += conn.stats[s].synAck;
        if (e.isns.length < MAX_ISNS) {
          e.isns.push({ isn: conn.analysis.sides[s].baseSeq, tNs: conn.firstSynAckNs, stream: record.stream, client: record.client, server: record.server, frame: record.frames.first, t: record.t_first });
        }
      },
      findings() {
        const out: Finding[] = [];
        for (const { server, isns, synAcks } of byServer.values()) {
          if (isns.length < t.isn_min_connections) continue;
          isns.sort((a, b) => a.tNs - b.tNs || a.stream - b.stream);
          const counts = new Map<number, number>();
          for (const i of isns) counts.set(i.isn, (counts.get(i.isn) ?? 0) + 1);
          const repeated = isns.length - counts.size;
          let small = 0;
          for (let i = 1; i < isns.length; i++) {
            const step = (isns[i]!.isn - isns[i - 1]!.isn) >>> 0;
            if (step > 0 && step < SMALL_STEP) small++;
          }
          const steps = isns.length - 1;
          const isRepeated = repeated >= Math.max(2, isns.length / 8);
          const isProgression = small >= (3 * steps) / 4;
          if (!isRepeated && !isProgression) continue;
          const [top, topCount] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
          const how = isRepeated
            ? `${repeated} of ${isns.length} repeat an earlier one (ISN ${top} on ${topCount} connections)`
            : `${small} of ${steps} steps between consecutive connections are under 2^20 (${isns.slice(0, 4).map((i) => i.isn).join(', ')} …)`;
          const instances: FindingInstance[] = isns.slice(0, MAX_INSTANCES).map((i) => ({
            stream: i.stream,
            client: i.client,
            server: i.server,
            frames: [i.frame],
            t: i.t,
            t_end: null,
            detail: `SYN/ACK with ISN ${i.isn}`,
          }));
          const by = sentBy(server, 'server');
          out.push({
            source: 'capture',
            kind: predictableIsn.kind,
            severity: predictableIsn.severity,
            culprit: 'server',
            server,
            title: `server ${endpointKey(server)} chose predictable ISNs on ${isns.length} connections: ${how}`,
            explanation:
              `RFC 6528 (and RFC 9293 §3.4.1) want each connection's initial sequence number to be a keyed hash of its 4-tuple plus a clock, ` +
              `so nobody off the path can guess it. These ISNs ${isRepeated ? 'repeat' : 'advance like a counter'}: an attacker who learns one ` +
              `can guess the next and inject data into, or reset, a connection (RFC 5961's attacks get easy). See them with tshark ` +
              `-o tcp.relative_sequence_numbers:FALSE.`,
            connections: isns.length,
            of_connections: isns.length,
            instances,
            instances_omitted: isns.length - instances.length,
            show: {
              tcpdump: `${by.tcpdump} and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)`,
              tcpdump_packets: synAcks,
              tshark: `${by.tshark} && tcp.flags.syn==1 && tcp.flags.ack==1`,
              tshark_packets: synAcks,
            },
          });
        }
        return out;
      },
    };
  },
};
