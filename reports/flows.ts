import { ACK, SYN } from '../stack/wire/tcp.js';
import { Connection } from './connection.js';
import type { TcpSegment } from './segment.js';
import { A_REUSED_PORTS } from './tcp-analysis.js';
import type { TraceArena } from './trace-arena.js';

/**
 * TCP connections keyed by their 4-tuple, as Wireshark's conversation table sees them: the
 * newest conversation of a 4-tuple receives its segments, a SYN with another ISN than the one
 * the direction started with opens a new conversation (port reuse), and stream numbers count
 * conversations in order of creation — so `stream` equals tshark's `tcp.stream`.
 */
export class FlowTable {
  /**
   * Buckets keyed by a 32-bit hash of the 4-tuple (a small integer key: no allocation per
   * lookup), each a chain through Connection.nextInBucket.
   */
  private readonly buckets = new Map<number, Connection>();
  private nextStream = 0;
  size = 0;
  /** Set by lookup(): which side sent the segment, and the flags the lookup decided. */
  side: 0 | 1 = 0;
  preFlags = 0;

  /**
   * `retire` receives a conversation replaced by a new one on the same 4-tuple; connections keep
   * their traces in `arena`.
   */
  constructor(
    private readonly retire: (conn: Connection) => void,
    private readonly arena: TraceArena,
    /** Connections count data not moving for longer than this as a stall gap. */
    private readonly stallNs: number,
  ) {}

  lookup(s: TcpSegment): Connection {
    // Wireshark's flow1 is the greater address (the greater port when the addresses are equal).
    const side: 0 | 1 = s.src > s.dst || (s.src === s.dst && s.srcPort > s.dstPort) ? 0 : 1;
    const ip0 = side === 0 ? s.src : s.dst;
    const ip1 = side === 0 ? s.dst : s.src;
    const port0 = side === 0 ? s.srcPort : s.dstPort;
    const port1 = side === 0 ? s.dstPort : s.srcPort;
    this.side = side;
    this.preFlags = 0;
    const key = tupleHash(ip0, port0, ip1, port1);
    let conn = this.buckets.get(key);
    while (conn && !(conn.ip[0] === ip0 && conn.ip[1] === ip1 && conn.port[0] === port0 && conn.port[1] === port1)) {
      conn = conn.nextInBucket;
    }
    if (!conn) return this.create(key, s, side);

    const fwd = conn.analysis.sides[side];
    const synAck = s.flags & (SYN | ACK);
    if (synAck === SYN && fwd.baseSeqSet) {
      if (s.seq !== fwd.baseSeq) {
        this.preFlags = A_REUSED_PORTS;
        this.retire(conn);
        this.remove(conn);
        conn = this.create(key, s, side);
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

  /** Removes a connection from the table (it is finalised by the caller). */
  remove(conn: Connection): void {
    const key = tupleHash(conn.ip[0], conn.port[0], conn.ip[1], conn.port[1]);
    let prev: Connection | undefined;
    for (let c = this.buckets.get(key); c; prev = c, c = c.nextInBucket) {
      if (c !== conn) continue;
      if (prev) prev.nextInBucket = c.nextInBucket;
      else if (c.nextInBucket) this.buckets.set(key, c.nextInBucket);
      else this.buckets.delete(key);
      c.nextInBucket = undefined;
      this.size--;
      return;
    }
  }

  *connections(): IterableIterator<Connection> {
    for (const head of this.buckets.values()) for (let c: Connection | undefined = head; c; c = c.nextInBucket) yield c;
  }

  private create(key: number, s: TcpSegment, side: 0 | 1): Connection {
    const conn = new Connection(this.nextStream++, s, side, this.arena, this.stallNs);
    conn.nextInBucket = this.buckets.get(key);
    this.buckets.set(key, conn);
    this.size++;
    return conn;
  }
}

/** 32-bit mix of a 4-tuple (murmur3-style multiply/rotate); collisions are resolved by chaining. */
function tupleHash(ip0: number, port0: number, ip1: number, port1: number): number {
  let h = Math.imul(ip0 ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ ip1;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= (port0 << 16) | port1;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}
