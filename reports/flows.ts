import { ACK, SYN } from '../stack/wire/tcp.js';
import { Connection } from './connection.js';
import type { TcpSegment } from './segment.js';
import { A_REUSED_PORTS } from './tcp-analysis.js';

/**
 * TCP connections keyed by their 4-tuple, as Wireshark's conversation table sees them: the
 * newest conversation of a 4-tuple receives its segments, a SYN with another ISN than the one
 * the direction started with opens a new conversation (port reuse), and stream numbers count
 * conversations in order of creation — so `stream` equals tshark's `tcp.stream`.
 */
export class FlowTable {
  /** Keyed by the flow1 endpoint (ip·2^16 + port, exact in a double), then the flow2 endpoint. */
  private readonly table = new Map<number, Map<number, Connection>>();
  private nextStream = 0;
  size = 0;
  /** Set by lookup(): which side sent the segment, and the flags the lookup decided. */
  side: 0 | 1 = 0;
  preFlags = 0;

  /** `retire` receives a conversation replaced by a new one on the same 4-tuple. */
  constructor(private readonly retire: (conn: Connection) => void) {}

  lookup(s: TcpSegment): Connection {
    // Wireshark's flow1 is the greater address (the greater port when the addresses are equal).
    const side: 0 | 1 = s.src > s.dst || (s.src === s.dst && s.srcPort > s.dstPort) ? 0 : 1;
    const a = side === 0 ? s.src * 65536 + s.srcPort : s.dst * 65536 + s.dstPort;
    const b = side === 0 ? s.dst * 65536 + s.dstPort : s.src * 65536 + s.srcPort;
    this.side = side;
    this.preFlags = 0;
    let inner = this.table.get(a);
    if (!inner) {
      inner = new Map();
      this.table.set(a, inner);
    }
    let conn = inner.get(b);
    if (!conn) return this.create(inner, b, s, side);

    const fwd = conn.analysis.sides[side];
    const synAck = s.flags & (SYN | ACK);
    if (synAck === SYN && fwd.baseSeqSet) {
      if (s.seq !== fwd.baseSeq) {
        this.preFlags = A_REUSED_PORTS;
        this.retire(conn);
        this.size--;
        conn = this.create(inner, b, s, side);
      } else {
        // Same ISN: a retransmitted SYN, analysed as a retransmission. Wireshark restores nextseq
        // first (its issue 17616: a RST may carry any sequence number and derail the tracking).
        fwd.nextseq = fwd.maxseqtobeacked;
      }
    } else if (synAck === (SYN | ACK) && fwd.baseSeqSet && s.seq !== fwd.baseSeq) {
      this.preFlags = A_REUSED_PORTS;
      fwd.baseSeq = s.seq;
    }
    return conn;
  }

  /** Removes a finished connection (it is finalised by the caller). */
  remove(conn: Connection): void {
    const inner = this.table.get(conn.ip[0] * 65536 + conn.port[0]);
    const key = conn.ip[1] * 65536 + conn.port[1];
    if (inner?.get(key) !== conn) return;
    inner.delete(key);
    if (inner.size === 0) this.table.delete(conn.ip[0] * 65536 + conn.port[0]);
    this.size--;
  }

  *connections(): IterableIterator<Connection> {
    for (const inner of this.table.values()) yield* inner.values();
  }

  private create(inner: Map<number, Connection>, key: number, s: TcpSegment, side: 0 | 1): Connection {
    const conn = new Connection(this.nextStream++, s, side);
    inner.set(key, conn);
    this.size++;
    return conn;
  }
}
