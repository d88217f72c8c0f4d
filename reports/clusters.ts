import type { ConnectionCluster, ConnectionRecord, ShapeStep } from './report.js';
import { shapeKey, shapeText } from './shape.js';

/** Shapes kept; the connections of further shapes are counted only (a capture of all-different connections stays bounded). */
export const MAX_CLUSTERS = 1000;
/** Member streams listed per cluster. */
export const MAX_MEMBERS = 1000;

/**
 * Connections grouped by shape as they are finalised: the shape's text, the verdict and the
 * findings make the key, so 128 identical goodbye connections are one cluster of 128. The first
 * connection of a cluster is its representative (the analyzer keeps its trace).
 */
export class ClusterTable {
  private readonly byKey = new Map<string, ConnectionCluster>();
  unclustered = 0;

  /** Files a finalised record under its shape; returns its cluster (`isNew` for its first member), or null past MAX_CLUSTERS. */
  add(record: ConnectionRecord, shape: ShapeStep[]): { id: number; isNew: boolean } | null {
    const key = `${shapeKey(shape)}|${record.close.verdict}|${record.findings.join(',')}`;
    const c = this.byKey.get(key);
    if (c) {
      c.connections++;
      if (c.members.length < MAX_MEMBERS) c.members.push(record.stream);
      else c.members_omitted++;
      if (record.t_first < c.t_first) c.t_first = record.t_first;
      if (record.t_last > c.t_last) c.t_last = record.t_last;
      return { id: c.id, isNew: false };
    }
    if (this.byKey.size >= MAX_CLUSTERS) {
      this.unclustered++;
      return null;
    }
    const id = this.byKey.size;
    this.byKey.set(key, {
      id,
      signature: shapeText(shape),
      shape,
      verdict: record.close.verdict,
      findings: [...record.findings],
      connections: 1,
      representative: record.stream,
      members: [record.stream],
      members_omitted: 0,
      t_first: record.t_first,
      t_last: record.t_last,
    });
    return { id, isNew: true };
  }

  /** The clusters, most members first (then flagged before clean, then by id); members in stream order. */
  build(): ConnectionCluster[] {
    const out = [...this.byKey.values()].map((c) => ({ ...c, members: [...c.members].sort((a, b) => a - b) }));
    return out.sort((a, b) => b.connections - a.connections || b.findings.length - a.findings.length || a.id - b.id);
  }
}
