/**
 * What the endpoint keeps of the segments it receives, and the small surface a connection
 * (conn.ts) needs of its endpoint (endpoint.ts implements it), so the two depend on this
 * module and not on each other.
 */
import type { Ipv4, Mac } from '../../../stack/addr.js';
import type { TcpRepr } from '../../../stack/wire/tcp.js';
import type { RelativeTo, SegmentFields } from './match.js';

/** A TCP segment the stack sent to the endpoint. */
export interface Received {
  /** Its frame number at the endpoint (1-based, every frame counted). */
  frame: number;
  timeMs: number;
  src: Ipv4;
  seg: TcpRepr;
}

/** How long to wait for a segment; the tolerance is always the caller's to state. */
export interface ExpectOptions {
  timeoutMs: number;
}

/** Which received segments an expectation looks at, and how it names and numbers them. */
export interface Scope {
  name: string;
  includes(r: Received): boolean;
  /** ISNs for showing numbers relative to them. */
  relative(): RelativeTo;
  /** Called for each segment an expectation takes (a connection learns from it). */
  took(r: Received): void;
}

/** What a connection uses of its endpoint. */
export interface SegmentEndpoint {
  readonly ip: Ipv4;
  readonly target: { ip: Ipv4; mac: Mac };
  send(seg: SegmentFields & Pick<TcpRepr, 'srcPort' | 'dstPort' | 'flags'>): TcpRepr;
  expectIn(scope: Scope, fields: SegmentFields, opts: ExpectOptions): Promise<Received>;
  expectNoneIn(scope: Scope, fields: SegmentFields, opts: ExpectOptions): Promise<void>;
}
