import type { Ipv4 } from '../stack/addr.js';

/**
 * One TCP segment as the analysis needs it: the header fields, the segment length and the few
 * options that change the analysis. The decoder fills ONE reusable instance per frame (no
 * allocation on the hot path); consumers copy what they keep.
 */
export interface TcpSegment {
  /** 1-based frame number, as Wireshark and tshark count (`frame.number`). */
  frame: number;
  /**
   * Nanoseconds since TIME_BASE_NS before the first record of the capture: always positive even
   * when timestamps go backwards, and exact in a double for about 100 days.
   */
  tNs: number;
  src: Ipv4;
  dst: Ipv4;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The 12 flag bits (NS..FIN), as in the header. */
  flags: number;
  /** Raw 16-bit window field, unscaled. */
  window: number;
  /** TCP payload length: IP total length minus both header lengths (Wireshark's `tcp.len`). */
  len: number;
  /** Data offset in bytes (may be < 20 in hostile frames; Wireshark still analyses those). */
  hdrLen: number;
  /** Window-scale shift from a well-formed option (clamped to 14, RFC 7323 §2.3), else -1. */
  wscale: number;
  /** MSS option value, else -1. */
  mss: number;
  sackPermitted: boolean;
  timestamps: boolean;
  /** RFC 7323 TSval and TSecr when `timestamps` is set (0 otherwise). */
  tsval: number;
  tsecr: number;
}

/** The first record of a capture is at this time; earlier (out-of-order) records stay positive. */
export const TIME_BASE_NS = 86_400e9;

export function emptySegment(): TcpSegment {
  return {
    frame: 0,
    tNs: 0,
    src: 0,
    dst: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    len: 0,
    hdrLen: 20,
    wscale: -1,
    mss: -1,
    sackPermitted: false,
    timestamps: false,
    tsval: 0,
    tsecr: 0,
  };
}
