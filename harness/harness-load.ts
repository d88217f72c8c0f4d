import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { flowKey, type FlowLag, type LagMeterLink } from '../stack/link/lag-meter.js';
import { kernelLinkCounters, type TapStats } from '../stack/link/tap.js';
import type { HarnessLoad } from '../reports/run-report.js';

/**
 * Past this lag a connection's findings are not charged to the target: Linux's minimum RTO
 * (TCP_RTO_MIN, 200 ms; RFC 6298 §2.4 allows a lower one) — a peer whose frames we read later
 * than that has already retransmitted because of us, and its retransmissions echo ACKs that had
 * not left yet.
 */
export const OVERLOAD_BOUND_MS = 200;

/** Set-apart reason of a connection the harness fell behind on (report.set_apart). */
export const HARNESS_OVERLOADED = 'harness-overloaded';

/** What a TAP run measured of the harness itself. */
export interface HarnessSample {
  lags: ReadonlyMap<string, FlowLag>;
  /** When the frame thread's event loop stood still longer than the bound: [from, to] in clock ms. */
  stalls: ReadonlyArray<readonly [number, number]>;
  eventLoop: { maxMs: number; p99Ms: number; meanMs: number };
  device: TapStats;
  kernelLink: { tx_dropped: number; rx_dropped: number } | null;
}

/** How often the probe looks at the clock to find the event loop's stalls, and how many it keeps. */
const TICK_MS = 10;
const MAX_STALLS = 10_000;

/**
 * Watches the frame thread's event loop while the jobs run (a histogram of its delay, and when it
 * stalled: while it stands still our timers fire late — a delayed ACK past the peer's RTO — even
 * though every frame is read on time); reads the counters at the end.
 */
export class LoadProbe {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly stalls: Array<[number, number]> = [];
  private readonly ticker: NodeJS.Timeout;
  private last: number;

  constructor(
    private readonly meter: LagMeterLink,
    private readonly device: { readonly ifname: string; readonly stats: TapStats },
    private readonly clock: { now(): number },
  ) {
    this.delay.enable();
    this.last = clock.now();
    this.ticker = setInterval(() => {
      const now = this.clock.now();
      if (now - this.last - TICK_MS > OVERLOAD_BOUND_MS && this.stalls.length < MAX_STALLS) this.stalls.push([this.last, now]);
      this.last = now;
    }, TICK_MS);
    this.ticker.unref();
  }

  finish(): HarnessSample {
    clearInterval(this.ticker);
    this.delay.disable();
    const ms = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
    let kernelLink: HarnessSample['kernelLink'] = null;
    try {
      const k = kernelLinkCounters(this.device.ifname);
      kernelLink = { tx_dropped: k.tx.dropped, rx_dropped: k.rx.dropped };
    } catch {
      // The device can be gone when the run was interrupted: the counters are then unknown.
    }
    return {
      lags: this.meter.lags(),
      stalls: this.stalls,
      eventLoop: { maxMs: ms(this.delay.max), p99Ms: ms(this.delay.percentile(99)), meanMs: ms(this.delay.mean) },
      device: this.device.stats,
      kernelLink,
    };
  }
}

/**
 * Whether the harness fell behind on the connection between `client` and `server` (`ip:port`)
 * that lived from `fromMs` to `toMs`: it read its frames too late, or its event loop stalled
 * past the bound while the connection was open.
 */
export function harnessFellBehind(sample: HarnessSample, client: string, server: string, fromMs: number, toMs: number): boolean {
  if ((sample.lags.get(flowKey(client, server))?.maxLagMs ?? 0) > OVERLOAD_BOUND_MS) return true;
  return sample.stalls.some(([a, b]) => a <= toMs && b >= fromMs);
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** The report's account of the sample (pure). */
export function harnessLoad(sample: HarnessSample): HarnessLoad {
  const lags = [...sample.lags.values()].map((l) => l.maxLagMs).sort((a, b) => a - b);
  const over = lags.filter((l) => l > OVERLOAD_BOUND_MS).length;
  const max = lags[lags.length - 1] ?? 0;
  const p99 = lags[Math.min(lags.length - 1, Math.floor(lags.length * 0.99))] ?? 0;
  const d = sample.device;
  const dropped = d.txQueueDrops + (sample.kernelLink?.tx_dropped ?? 0) + (sample.kernelLink?.rx_dropped ?? 0);
  const reasons: string[] = [];
  if (over > 0) reasons.push(`frames of ${over} connection${over === 1 ? '' : 's'} read up to ${Math.round(max)} ms later than their senders' timestamps say they left`);
  if (sample.eventLoop.maxMs > OVERLOAD_BOUND_MS) reasons.push(`the frame thread's event loop stalled for up to ${Math.round(sample.eventLoop.maxMs)} ms`);
  if (d.txDeferredMaxMs > OVERLOAD_BOUND_MS) reasons.push(`frames waited up to ${Math.round(d.txDeferredMaxMs)} ms for the device`);
  if (dropped > 0) reasons.push(`${dropped} frame${dropped === 1 ? '' : 's'} dropped between our stack and the kernel`);
  const numeric: Record<string, number> = {};
  for (const [k, v] of Object.entries(d)) if (typeof v === 'number') numeric[k] = v;
  return {
    bound_ms: OVERLOAD_BOUND_MS,
    overloaded: reasons.length > 0,
    summary:
      reasons.length > 0
        ? `the harness was overloaded: ${reasons.join('; ')} (bound ${OVERLOAD_BOUND_MS} ms); findings on the connections it fell behind on are not charged to the target`
        : `the harness kept up: lag at most ${Math.round(max)} ms, event loop delay at most ${Math.round(sample.eventLoop.maxMs)} ms (bound ${OVERLOAD_BOUND_MS} ms)`,
    lag_ms: { max: round(max), p99: round(p99), connections_measured: lags.length, connections_over_bound: over },
    event_loop_delay_ms: { max: round(sample.eventLoop.maxMs), p99: round(sample.eventLoop.p99Ms), mean: round(sample.eventLoop.meanMs) },
    device: numeric,
    kernel_link: sample.kernelLink,
  };
}
