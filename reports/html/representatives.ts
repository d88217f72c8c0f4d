import type { ConnectionCluster, Finding, SequenceTrace } from '../report.js';
import type { Report } from '../run-report.js';

/**
 * Which kept trace stands for what: each cluster's representative, and for each finding the
 * representative of the largest cluster among its connections. The page, the standalone SVGs and
 * JUnit's pointers all ask here, so they name the same connection.
 */
export class Representatives {
  private readonly traces = new Map<number, SequenceTrace>();
  private readonly clusterOf = new Map<number, number>();
  private readonly clusters = new Map<number, ConnectionCluster>();

  constructor(private readonly report: Report) {
    for (const t of report.traces) this.traces.set(t.stream, t);
    for (const c of report.clusters) {
      this.clusters.set(c.id, c);
      for (const m of c.members) this.clusterOf.set(m, c.id);
    }
    for (const r of report.connections) if (r.cluster !== null) this.clusterOf.set(r.stream, r.cluster);
    for (const e of report.timeline) if (e.cluster !== null) this.clusterOf.set(e.stream, e.cluster);
  }

  /** A cluster's trace (its representative's), when kept. */
  clusterTrace(c: ConnectionCluster): SequenceTrace | undefined {
    return this.traces.get(c.representative);
  }

  cluster(id: number): ConnectionCluster | undefined {
    return this.clusters.get(id);
  }

  clusterOfStream(stream: number): ConnectionCluster | undefined {
    const id = this.clusterOf.get(stream);
    return id === undefined ? undefined : this.clusters.get(id);
  }

  /** The streams a finding names: its instances, and for run findings its jobs' connections. */
  private streams(f: Finding): number[] {
    const out = f.instances.map((i) => i.stream);
    const rows = this.report.run?.job_rows ?? [];
    for (const j of f.jobs ?? []) {
      const s = rows.find((r) => r.job === j)?.stream;
      if (s !== null && s !== undefined) out.push(s);
    }
    return out;
  }

  /** The cluster whose representative shows a finding: the largest with a kept trace among the finding's connections. */
  forFinding(f: Finding): ConnectionCluster | undefined {
    let best: ConnectionCluster | undefined;
    for (const s of this.streams(f)) {
      const c = this.clusterOfStream(s);
      if (c && this.clusterTrace(c) && (!best || c.connections > best.connections)) best = c;
    }
    if (best || f.source === 'run') return best;
    // A capture finding lists at most 100 instances: a cluster of its kind stands in for the rest.
    return this.report.clusters.find((c) => (c.findings as readonly string[]).includes(f.kind) && this.clusterTrace(c));
  }
}

/** The standalone file of a finding's ladder: `ladder-<kind>.svg`, `-<culprit>` added when a kind stands twice. */
export function ladderFileName(findings: readonly Finding[], f: Finding): string {
  const twice = findings.filter((g) => g.kind === f.kind).length > 1;
  return `ladder-${f.kind}${twice ? `-${f.culprit}` : ''}.svg`;
}
