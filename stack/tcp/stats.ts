/** Counters of one TCP layer (cumulative; read by tests, the CLI and the benchmarks). */
export interface TcpStats {
  segmentsIn: number;
  segmentsOut: number;
  /** Segments that failed to parse (bad checksum, bad offset, truncated). */
  badSegments: number;
  /** Segments dropped before any connection saw them (bad source/destination address). */
  martians: number;
  retransmits: number;
  fastRetransmits: number;
  /** Retransmissions found lost in SACK recovery and sent again before the timer (tcb.ts). */
  lostRetransmits: number;
  /** Tail loss probes sent (RFC 8985 §7). */
  tailLossProbes: number;
  /** Segments dropped as old duplicates by PAWS (RFC 7323 §5). */
  pawsDrops: number;
  rtoExpiries: number;
  /** RFC 5961 challenge ACKs sent. */
  challengeAcks: number;
  /** Challenge ACKs suppressed by the per-connection rate limit. */
  challengeAcksLimited: number;
  resetsSent: number;
  resetsReceived: number;
  /** SYNs dropped because a listener's SYN queue was full. */
  synQueueDrops: number;
  /** Handshake ACKs dropped because a listener's accept queue was full. */
  acceptQueueDrops: number;
  windowProbes: number;
  /** Connections closed because R2 retransmissions went unanswered. */
  retransmitTimeouts: number;
  activeOpens: number;
  passiveOpens: number;
}

export function newTcpStats(): TcpStats {
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    badSegments: 0,
    martians: 0,
    retransmits: 0,
    fastRetransmits: 0,
    lostRetransmits: 0,
    tailLossProbes: 0,
    pawsDrops: 0,
    rtoExpiries: 0,
    challengeAcks: 0,
    challengeAcksLimited: 0,
    resetsSent: 0,
    resetsReceived: 0,
    synQueueDrops: 0,
    acceptQueueDrops: 0,
    windowProbes: 0,
    retransmitTimeouts: 0,
    activeOpens: 0,
    passiveOpens: 0,
  };
}
