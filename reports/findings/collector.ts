import type { Endpoint, Finding, FindingInstance, Thresholds } from '../report.js';
import { endpointKey } from './grammar.js';
import type { CaptureFindingRule } from './registry.js';
import type { Culprit, EndpointCounts, EndpointTotals } from './rule.js';

/** Instances kept per finding group in the report (the rest are counted). */
const MAX_INSTANCES = 100;

/** A finding about one connection, before findings are grouped per server. */
export interface ConnectionFinding {
  rule: CaptureFindingRule;
  culprit: Culprit;
  instance: FindingInstance;
  /** Packets of this connection that the finding's tshark filter shows. */
  packets: number;
  /** A sub-case counted in the group's explanation ('' when none). */
  tag: string;
  cause: string | undefined;
  ms: number | undefined;
}

/** A FindingGroup (what the rule tells) while it is being collected. */
interface Group {
  rule: CaptureFindingRule;
  culprit: Culprit;
  server: Endpoint;
  connections: number;
  instances: FindingInstance[];
  packets: number[];
  tags: Map<string, number>;
  causes: Map<string, number>;
  msRange: [number, number] | null;
}

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
      const gk = `${f.rule.kind}|${f.culprit}|${key}`;
      let g = this.groups.get(gk);
      if (!g) {
        g = { rule: f.rule, culprit: f.culprit, server, connections: 0, instances: [], packets: [], tags: new Map(), causes: new Map(), msRange: null };
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
        kind: g.rule.kind,
        severity: g.rule.severity,
        culprit: g.culprit,
        server: g.server,
        title: g.rule.title(g, tot.connections, t),
        explanation: g.rule.explain(g, t),
        connections: g.connections,
        of_connections: tot.connections,
        instances: g.instances,
        instances_omitted: g.connections - g.instances.length,
        show: g.rule.show(g, tot),
      });
    }
    const rank = (f: Finding): number => (f.severity === 'error' ? 0 : 1);
    return out.sort((a, b) => rank(a) - rank(b) || b.connections - a.connections || a.kind.localeCompare(b.kind));
  }
}
