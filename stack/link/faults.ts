import type { Clock, TimerHandle } from '../clock.js';
import type { Rng } from '../rng.js';
import type { Link } from './link.js';
import { UsageError } from '../user-error.js';

/**
 * Fault injection around any Link, in the spirit of smoltcp's FaultInjector and Linux netem:
 * drop, duplicate, reorder, corrupt, delay with jitter, a size limit and a token-bucket rate
 * limit. Every random choice comes from one seeded Rng and every delay from the link's clock,
 * so on the sim wire the same seed gives the same faults, byte for byte.
 */

export interface FaultSpec {
  /** Probabilities 0..1. */
  drop: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  delayMs: number;
  /** Delay varies uniformly in delayMs ± jitterMs (never below 0); jitter reorders, as netem's does. */
  jitterMs: number;
  /** Frames longer than this (Ethernet header included) are dropped. */
  maxFrame?: number;
  /** Token-bucket limits; frames over the rate are dropped. */
  ratePps?: number;
  /** Bits per second. */
  rateBps?: number;
}

export class FaultSpecError extends UsageError {
  override readonly name = 'FaultSpecError';
}

/** Counters of what the injector did, both directions together. */
export interface FaultStats {
  frames: number;
  dropped: number;
  duplicated: number;
  /** Frames that another frame overtook. */
  reordered: number;
  corrupted: number;
  delayed: number;
  oversize: number;
  rateLimited: number;
}

export const NO_FAULTS: Readonly<FaultSpec> = Object.freeze({ drop: 0, duplicate: 0, reorder: 0, corrupt: 0, delayMs: 0, jitterMs: 0 });

/** A token bucket holds this much time's worth of rate, so short bursts pass (like tc's burst). */
const BURST_MS = 10;
/** A frame held back for reordering goes out after this long if no later frame overtakes it. */
const REORDER_HOLD_MS = 10;

const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const RATE_UNITS: Record<string, { field: 'ratePps' | 'rateBps'; scale: number }> = {
  pps: { field: 'ratePps', scale: 1 },
  kpps: { field: 'ratePps', scale: 1e3 },
  bit: { field: 'rateBps', scale: 1 },
  kbit: { field: 'rateBps', scale: 1e3 },
  mbit: { field: 'rateBps', scale: 1e6 },
  gbit: { field: 'rateBps', scale: 1e9 },
};
const DURATION_UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3 };
const KEYS = 'drop, dup, reorder, corrupt, delay, size, rate';

function num(text: string, what: string): number {
  if (!NUMBER.test(text)) throw new FaultSpecError(`${what}: '${text}' is not a number`);
  return Number(text);
}

function probability(text: string, key: string): number {
  const pct = text.endsWith('%');
  const v = num(pct ? text.slice(0, -1) : text, key);
  const p = pct ? v / 100 : v;
  if (p > 1) throw new FaultSpecError(`${key}=${text}: a probability is at most 100% (or 1)`);
  return p;
}

function duration(text: string, key: string): number {
  const m = /^(.*?)(us|ms|s)?$/.exec(text)!;
  return num(m[1]!, key) * DURATION_UNITS[m[2] ?? 'ms']!;
}

/**
 * Parses `drop=5%,dup=1%,reorder=2%,corrupt=0.1%,delay=20ms±5ms,size=1400,rate=2000pps,rate=10mbit`
 * (`+-` for ±; probabilities as % or fractions; `none` or empty for no faults).
 */
export function parseFaultSpec(text: string): FaultSpec {
  const spec: FaultSpec = { ...NO_FAULTS };
  const seen = new Set<string>();
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return spec;
  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) throw new FaultSpecError(`'${item}' is not key=value (keys: ${KEYS})`);
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim().toLowerCase();
    let slot = key === 'duplicate' ? 'dup' : key;
    switch (key) {
      case 'drop':
        spec.drop = probability(value, key);
        break;
      case 'dup':
      case 'duplicate':
        spec.duplicate = probability(value, key);
        break;
      case 'reorder':
        spec.reorder = probability(value, key);
        break;
      case 'corrupt':
        spec.corrupt = probability(value, key);
        break;
      case 'delay': {
        const [base, jitter, extra] = value.split(/±|\+-/);
        if (extra !== undefined) throw new FaultSpecError(`delay=${value}: expected DELAY or DELAY±JITTER`);
        spec.delayMs = duration(base!, key);
        spec.jitterMs = jitter === undefined ? 0 : duration(jitter, 'delay jitter');
        break;
      }
      case 'size': {
        const n = num(value, key);
        if (!Number.isInteger(n) || n < 14) throw new FaultSpecError(`size=${value}: a frame size is a whole number of bytes >= 14`);
        spec.maxFrame = n;
        break;
      }
      case 'rate': {
        const m = /^(.*?)([a-z]+)$/.exec(value);
        const unit = m ? RATE_UNITS[m[2]!] : undefined;
        if (!m || !unit) {
          throw new FaultSpecError(`rate=${value}: give a unit: pps, kpps, bit, kbit, mbit or gbit ('bps' is ambiguous: tc reads it as bytes)`);
        }
        const r = num(m[1]!, key) * unit.scale;
        if (!(r > 0)) throw new FaultSpecError(`rate=${value}: a rate must be above 0`);
        spec[unit.field] = r;
        slot = unit.field;
        break;
      }
      default:
        throw new FaultSpecError(`unknown fault '${key}' (keys: ${KEYS})`);
    }
    if (seen.has(slot)) throw new FaultSpecError(`'${key}' is given twice`);
    seen.add(slot);
  }
  return spec;
}

/** The shortest decimal that gives back exactly `value` through `toValue` (so format → parse round-trips). */
function exactDecimal(value: number, scale: number, toValue: (n: number) => number): string | undefined {
  for (let digits = 1; digits <= 17; digits++) {
    const text = String(Number((value / scale).toPrecision(digits)));
    if (toValue(Number(text)) === value) return text;
  }
  return undefined;
}

function formatProbability(p: number): string {
  const percent = exactDecimal(p, 0.01, (n) => n / 100);
  return percent === undefined ? String(p) : `${percent}%`;
}

function formatRate(value: number, units: string[]): string {
  for (const unit of units) {
    const scale = RATE_UNITS[unit]!.scale;
    const text = exactDecimal(value, scale, (n) => n * scale);
    if (text !== undefined && (Number(text) >= 1 || unit === units[units.length - 1])) return `${text}${unit}`;
  }
  return `${value}${units[units.length - 1]}`;
}

/** The canonical text of a spec; `parseFaultSpec(formatFaultSpec(s))` equals `s`. */
export function formatFaultSpec(spec: FaultSpec): string {
  const parts: string[] = [];
  if (spec.drop > 0) parts.push(`drop=${formatProbability(spec.drop)}`);
  if (spec.duplicate > 0) parts.push(`dup=${formatProbability(spec.duplicate)}`);
  if (spec.reorder > 0) parts.push(`reorder=${formatProbability(spec.reorder)}`);
  if (spec.corrupt > 0) parts.push(`corrupt=${formatProbability(spec.corrupt)}`);
  if (spec.delayMs > 0 || spec.jitterMs > 0) parts.push(`delay=${spec.delayMs}ms${spec.jitterMs > 0 ? `±${spec.jitterMs}ms` : ''}`);
  if (spec.maxFrame !== undefined) parts.push(`size=${spec.maxFrame}`);
  if (spec.ratePps !== undefined) parts.push(`rate=${formatRate(spec.ratePps, ['pps'])}`);
  if (spec.rateBps !== undefined) parts.push(`rate=${formatRate(spec.rateBps, ['gbit', 'mbit', 'kbit', 'bit'])}`);
  return parts.length > 0 ? parts.join(',') : 'none';
}

/** One direction's faults: frames enter `process` and leave through `forward`. */
/** What the injector did to one frame (the FaultStats counter it bumped). */
export type FaultKind = Exclude<keyof FaultStats, 'frames'>;

/**
 * Which way a faulted frame was going: `out` sent by the stack this link wraps, `in` received
 * for it from the inner link.
 */
export type FaultDirection = 'out' | 'in';

/** Sees every fault as it is applied, with the frame as it was before the fault and its direction. */
export type FaultObserver = (kind: FaultKind, frame: Uint8Array, direction: FaultDirection) => void;

class FaultPipe {
  private packetTokens: number;
  private bitTokens: number;
  private lastRefill: number;
  private held: Uint8Array | undefined;
  private heldTimer: TimerHandle | undefined;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    private readonly spec: FaultSpec,
    private readonly rng: Rng,
    private readonly clock: Clock,
    private readonly stats: FaultStats,
    private readonly linkMaxFrame: number,
    private readonly forward: (frame: Uint8Array) => void,
    private readonly observe: ((kind: FaultKind, frame: Uint8Array) => void) | undefined,
  ) {
    this.packetTokens = this.packetCapacity();
    this.bitTokens = this.bitCapacity();
    this.lastRefill = clock.now();
  }

  process(frame: Uint8Array): void {
    const s = this.spec;
    this.stats.frames++;
    if (s.maxFrame !== undefined && frame.length > s.maxFrame) {
      this.stats.oversize++;
      this.observe?.('oversize', frame);
      return;
    }
    if (!this.admit(frame.length)) {
      this.stats.rateLimited++;
      this.observe?.('rateLimited', frame);
      return;
    }
    if (this.rng.chance(s.drop)) {
      this.stats.dropped++;
      this.observe?.('dropped', frame);
      return;
    }
    let f = frame;
    if (frame.length > 0 && this.rng.chance(s.corrupt)) {
      // One flipped bit: the checksums (RFC 1071) are guaranteed to catch it, as on a real link.
      const bit = this.rng.int(frame.length * 8);
      f = frame.slice();
      f[bit >>> 3]! ^= 1 << (bit & 7);
      this.stats.corrupted++;
      this.observe?.('corrupted', frame);
    }
    const dup = this.rng.chance(s.duplicate);
    this.reorderOrSend(f);
    if (dup) {
      this.stats.duplicated++;
      this.observe?.('duplicated', f);
      this.reorderOrSend(f.slice());
    }
  }

  close(): void {
    for (const t of this.timers) this.clock.clearTimer(t);
    this.timers.clear();
    this.held = undefined;
  }

  /** A held frame goes out right after the next frame, which thereby overtakes it. */
  private reorderOrSend(frame: Uint8Array): void {
    const held = this.held;
    if (held) {
      this.held = undefined;
      this.cancel(this.heldTimer);
      this.stats.reordered++;
      this.observe?.('reordered', held);
      this.delayAndSend(frame);
      this.delayAndSend(held);
      return;
    }
    if (this.rng.chance(this.spec.reorder)) {
      this.held = frame;
      this.heldTimer = this.after(REORDER_HOLD_MS, () => {
        this.held = undefined;
        this.delayAndSend(frame);
      });
      return;
    }
    this.delayAndSend(frame);
  }

  private delayAndSend(frame: Uint8Array): void {
    const s = this.spec;
    const delay = s.jitterMs > 0 ? Math.max(0, s.delayMs + (this.rng.float() * 2 - 1) * s.jitterMs) : s.delayMs;
    if (delay <= 0) {
      this.forward(frame);
      return;
    }
    this.stats.delayed++;
    this.observe?.('delayed', frame);
    this.after(delay, () => this.forward(frame));
  }

  private after(ms: number, cb: () => void): TimerHandle {
    const h = this.clock.setTimer(ms, () => {
      this.timers.delete(h);
      cb();
    });
    this.timers.add(h);
    return h;
  }

  private cancel(h: TimerHandle | undefined): void {
    if (!h) return;
    this.clock.clearTimer(h);
    this.timers.delete(h);
  }

  private packetCapacity(): number {
    return this.spec.ratePps === undefined ? 0 : Math.max(1, (this.spec.ratePps * BURST_MS) / 1000);
  }

  private bitCapacity(): number {
    return this.spec.rateBps === undefined ? 0 : Math.max(this.linkMaxFrame * 8, (this.spec.rateBps * BURST_MS) / 1000);
  }

  /** Token buckets refilled continuously from the clock; a frame needs one packet token and its bits. */
  private admit(bytes: number): boolean {
    const { ratePps, rateBps } = this.spec;
    if (ratePps === undefined && rateBps === undefined) return true;
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.lastRefill);
    this.lastRefill = now;
    if (ratePps !== undefined) this.packetTokens = Math.min(this.packetCapacity(), this.packetTokens + (elapsed * ratePps) / 1000);
    if (rateBps !== undefined) this.bitTokens = Math.min(this.bitCapacity(), this.bitTokens + (elapsed * rateBps) / 1000);
    if (ratePps !== undefined && this.packetTokens < 1) return false;
    if (rateBps !== undefined && this.bitTokens < bytes * 8) return false;
    if (ratePps !== undefined) this.packetTokens -= 1;
    if (rateBps !== undefined) this.bitTokens -= bytes * 8;
    return true;
  }
}

/**
 * Wraps `inner` and applies `spec` to frames in both directions (or `opts.inbound` to received
 * frames, when given). Without delay or reorder a frame passes synchronously. `opts.onFault`
 * sees each fault with its frame, so a run can tell which connections the injector touched.
 */
export class FaultyLink implements Link {
  readonly clock: Clock;
  readonly maxFrame: number;
  readonly stats: FaultStats = { frames: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0, delayed: 0, oversize: 0, rateLimited: 0 };
  private readonly outbound: FaultPipe;
  private readonly inbound: FaultPipe;
  private receiver: ((frame: Uint8Array) => void) | undefined;

  constructor(
    private readonly inner: Link,
    spec: FaultSpec,
    rng: Rng,
    opts: { inbound?: FaultSpec; onFault?: FaultObserver } = {},
  ) {
    this.clock = inner.clock;
    this.maxFrame = inner.maxFrame;
    const observe = (direction: FaultDirection): ((kind: FaultKind, frame: Uint8Array) => void) | undefined =>
      opts.onFault ? (kind, frame) => opts.onFault!(kind, frame, direction) : undefined;
    this.outbound = new FaultPipe(spec, rng, inner.clock, this.stats, inner.maxFrame, (f) => inner.send(f), observe('out'));
    this.inbound = new FaultPipe(opts.inbound ?? spec, rng, inner.clock, this.stats, inner.maxFrame, (f) => this.receiver?.(f), observe('in'));
    inner.onFrame((f) => this.inbound.process(f));
  }

  send(frame: Uint8Array): void {
    this.outbound.process(frame);
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  close(): void {
    this.outbound.close();
    this.inbound.close();
    this.receiver = undefined;
    this.inner.close();
  }
}
