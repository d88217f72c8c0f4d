import type { CongestionControlName } from './congestion/index.js';

/**
 * Tunables of the TCP layer. Times are milliseconds. Defaults follow the RFCs; tests and the
 * sim wire shrink the timers (MSL, RTO floor) so that runs stay fast.
 */
export interface TcpConfig {
  /** MSS we announce (RFC 9293 §3.7.1); the Stack derives it from the link MTU when unset. */
  mss: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2×MSL (MUST-13). 30 s gives Linux's 60 s TIME-WAIT. */
  msl: number;
  /** RFC 6298 §2.1: 1 s. */
  initialRto: number;
  /** RFC 6298 §2.4: 1 s (configurable down for tests). */
  minRto: number;
  /** RFC 6298 §2.5: at least 60 s. */
  maxRto: number;
  /** R2 for data and FIN (RFC 9293 §3.8.3): retransmissions before the connection is reset. */
  maxRetries: number;
  /** R2 for SYN and SYN,ACK; with the defaults the total wait exceeds 3 minutes (MUST-23). */
  maxSynRetries: number;
  /** Idle limit in FIN-WAIT-2 (not in the RFC; every practical stack has one — mirage 10 s, Linux 60 s). */
  finWait2Timeout: number;
  /** Delayed-ACK limit (MUST-40: < 500 ms); 0 acknowledges every segment at once. */
  delayedAckMs: number;
  /** Bytes the application may queue before write() applies back-pressure. */
  sendBuffer: number;
  /** Receive buffer; the advertised window is what is left of it. */
  receiveBuffer: number;
  /** Offer window scaling (RFC 7323). */
  windowScaling: boolean;
  /** Offer SACK (RFC 2018): report out-of-order data, recover from several losses per window (RFC 6675). */
  sack: boolean;
  /** Offer timestamps (RFC 7323): RTT measurement on every flight and PAWS. */
  timestamps: boolean;
  /** Congestion controller (congestion/index.ts): 'new-reno' is RFC 5681 with RFC 6582 recovery, RFC 6675 with SACK. */
  congestionControl: CongestionControlName;
  /** Nagle's algorithm (RFC 9293 §3.7.4); off by default, settable per socket (MUST-17). */
  nagle: boolean;
  /** Most disjoint out-of-order blocks held per connection. */
  reassemblyBlocks: number;
  /** RFC 5961 §7: challenge ACKs allowed per connection per second. */
  challengeAcksPerSecond: number;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mss: 1460,
  msl: 30_000,
  initialRto: 1000,
  minRto: 1000,
  maxRto: 60_000,
  maxRetries: 12,
  maxSynRetries: 7,
  finWait2Timeout: 60_000,
  delayedAckMs: 200,
  sendBuffer: 256 * 1024,
  receiveBuffer: 256 * 1024,
  windowScaling: true,
  sack: true,
  timestamps: true,
  congestionControl: 'new-reno',
  nagle: false,
  reassemblyBlocks: 256,
  challengeAcksPerSecond: 1,
};
