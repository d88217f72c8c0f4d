import { ipv4ToString } from '../addr.js';
import type { Clock } from '../clock.js';
import { readU32 } from '../wire/bytes.js';
import { LINKTYPE_ETHERNET, locateIpv4 } from '../wire/frame.js';
import { ipv4Dst, ipv4FragmentOffset, ipv4HeaderLength, ipv4MoreFragments, ipv4Protocol, ipv4Src, ipv4TotalLength, IPPROTO_TCP } from '../wire/ipv4.js';
import { ACK, SYN, tcpDstPort, tcpFlags, tcpHeaderLength, tcpOptionSpan, tcpSrcPort, TCP_MIN_HEADER_LEN, TCPOPT_EOL, TCPOPT_TIMESTAMPS } from '../wire/tcp.js';
import type { FrameReceiver, Link } from './link.js';

/**
 * RFC 7323 §5.4 recommends a TSval clock between 1 ms and 1 s a tick; Linux ticks every
 * millisecond (tcp_time_stamp_ms), which is what the lag is measured against.
 */
const TSVAL_TICK_MS = 1;

/** How late the capture point read one connection's frames, by the sender's own clock. */
export interface FlowLag {
  /** Frames with timestamps seen from the far side. */
  frames: number;
  /** The most any of them was read behind the least delayed one, by TSval progress (ms). */
  maxLagMs: number;
  /** Capture time of the most delayed frame. */
  atMs: number;
}

/** A connection's key whichever side speaks: both `ip:port` ends, in string order. */
export function flowKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

interface FlowState extends FlowLag {
  /** Smallest and largest (capture time − TSval time) seen: the least and the most delayed frame. */
  minOffsetMs: number;
  maxOffsetMs: number;
}

/**
 * A pass-through link that measures the harness's own lag: for every TCP frame arriving from the
 * far side with a timestamp option, how much later it was read than its TSval progress says it
 * was sent (RFC 7323's TSval is the sender's clock). A frame read 226 ms late although its
 * sender's clock advanced 86 ms since the connection's least delayed frame shows 140 ms of lag
 * that is ours, not the peer's: the frame waited in the device while the event loop was busy.
 * Bounded: one small record per connection.
 */
export class LagMeterLink implements Link {
  readonly clock: Clock;
  readonly maxFrame: number;
  readonly onSent?: (cb: (frame: Uint8Array, atMs: number) => void) => void;
  private readonly flows = new Map<string, FlowState>();
  private receiver: FrameReceiver | undefined;

  constructor(private readonly inner: Link) {
    this.clock = inner.clock;
    this.maxFrame = inner.maxFrame;
    if (inner.onSent) this.onSent = (cb) => inner.onSent!(cb);
    inner.onFrame((frame, atMs) => {
      const at = atMs ?? this.clock.now();
      this.measure(frame, at);
      this.receiver?.(frame, at);
    });
  }

  send(frame: Uint8Array): void {
    this.inner.send(frame);
  }

  onFrame(cb: FrameReceiver): void {
    this.receiver = cb;
  }

  close(): void {
    this.receiver = undefined;
    this.inner.close();
  }

  /** Every connection's lag, keyed by flowKey. */
  lags(): ReadonlyMap<string, FlowLag> {
    return this.flows;
  }

  private measure(frame: Uint8Array, atMs: number): void {
    const ip = locateIpv4(frame, LINKTYPE_ETHERNET);
    if (ip === undefined || frame.length < ip + 20 || ipv4Protocol(frame, ip) !== IPPROTO_TCP) return;
    if (ipv4FragmentOffset(frame, ip) !== 0 || ipv4MoreFragments(frame, ip)) return;
    const t = ip + ipv4HeaderLength(frame, ip);
    const end = Math.min(frame.length, ip + ipv4TotalLength(frame, ip));
    if (end < t + TCP_MIN_HEADER_LEN) return;
    // A SYN can wait in its sender's own neighbour queue while ARP resolves (RFC 1122 §2.3.2.2):
    // a delay before it left, not ours. Every later segment of the connection shows our lag.
    if ((tcpFlags(frame, t) & (SYN | ACK)) === SYN) return;
    const tsval = timestampValue(frame, t + TCP_MIN_HEADER_LEN, Math.min(end, t + tcpHeaderLength(frame, t)));
    if (tsval === undefined) return;
    const key = flowKey(`${ipv4ToString(ipv4Src(frame, ip))}:${tcpSrcPort(frame, t)}`, `${ipv4ToString(ipv4Dst(frame, ip))}:${tcpDstPort(frame, t)}`);
    const offset = atMs - tsval * TSVAL_TICK_MS;
    const f = this.flows.get(key);
    if (!f) {
      this.flows.set(key, { frames: 1, maxLagMs: 0, atMs, minOffsetMs: offset, maxOffsetMs: offset });
      return;
    }
    // TSval wraps after 2^32 ms (49 days); a connection of a run never sees it.
    f.frames++;
    if (offset < f.minOffsetMs) f.minOffsetMs = offset;
    if (offset > f.maxOffsetMs) {
      f.maxOffsetMs = offset;
      f.atMs = atMs;
    }
    // The most delayed frame against the least delayed one, whichever came first.
    f.maxLagMs = f.maxOffsetMs - f.minOffsetMs;
  }
}

/** TSval of the timestamps option between `start` and `end`, walking the options as stack/wire does. */
function timestampValue(b: Uint8Array, start: number, end: number): number | undefined {
  for (let i = start; i < end; ) {
    if (b[i] === TCPOPT_EOL) return undefined;
    const len = tcpOptionSpan(b, i, end);
    if (len < 0) return undefined;
    if (b[i] === TCPOPT_TIMESTAMPS && len === 10) return readU32(b, i + 2);
    i += len;
  }
  return undefined;
}
