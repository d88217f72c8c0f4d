import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Clock } from '../clock.js';
import type { FrameReceiver, Link } from './link.js';

/**
 * A Linux TAP device as a Link: the kernel's network stack on one side, ours on the other.
 * The native addon (native/tap.cc, built by `npm ci` into build/Release/tap.node) does only
 * what JavaScript cannot: TUNSETIFF (and, for packet-socket.ts, an AF_PACKET socket), polling
 * the fd in libuv, and batched read/write. Link state, addresses and MTU go through iproute2
 * (`iproute`).
 */

/** Counters of a native frame device (frames our side read or wrote). */
export interface NativeStats {
  rxFrames: number;
  rxBytes: number;
  /** One batch = one readable wake-up = one call into JavaScript. */
  rxBatches: number;
  rxErrors: number;
  txFrames: number;
  txBytes: number;
  /** Frames that met a full device (EAGAIN) and waited for writability. */
  txDeferred: number;
  /** The longest any of them waited, in milliseconds. */
  txDeferredMaxMs: number;
  txQueued: number;
  /** Frames dropped because the wait queue was full or the link closed with frames queued. */
  txQueueDrops: number;
  /** Frames the kernel refused (EINVAL for a runt, EIO when the device is down). */
  txErrors: number;
  lastError: string | undefined;
}

/** What the JavaScript half of a native link counts on top of the device's own counters. */
export interface LinkCounters {
  /** Frames received while no receiver was registered. */
  rxUnclaimed: number;
  /** Frames handed to send() after close(). */
  txAfterClose: number;
}

export type TapStats = NativeStats & LinkCounters;

/** Both classes of the addon (native/tap.cc's FrameFd) have this shape. */
interface NativeFrameDevice<S extends NativeStats> {
  readonly name: string;
  /** Fills `stamps[i]` with frame i's write time (hrtime ms), NaN when it was queued, -1 when refused or dropped. */
  writeBatch(frames: Uint8Array[], count: number, stamps: Float64Array): void;
  stats(): S;
  close(): void;
}

type NativeFrameDeviceClass<S extends NativeStats> = new (
  name: string,
  lengths: Uint32Array,
  /** Read stamps (hrtime ms) of a batch's frames. */
  stamps: Float64Array,
  onBatch: (batch: Buffer, count: number) => void,
  onError: (message: string) => void,
  /** Write stamps of frames that had been queued, in queue order (-1: refused). */
  onWritten: (stamps: Float64Array) => void,
) => NativeFrameDevice<S>;

/** The packet socket's own counter (native/tap.cc's PacketSocket). */
export interface PacketSocketNativeStats extends NativeStats {
  /** Frames the interface sent (PACKET_OUTGOING), skipped: the reader sees only what arrived. */
  rxOutgoing: number;
}

interface FrameAddon {
  TapDevice: NativeFrameDeviceClass<NativeStats>;
  PacketSocket: NativeFrameDeviceClass<PacketSocketNativeStats>;
}

/** Frames per batch; the addon reads at most this many before calling back. */
const BATCH_FRAMES = 256;
const ETHERNET_HEADER_LEN = 14;

let addon: FrameAddon | undefined;

function loadAddon(): FrameAddon {
  if (addon) return addon;
  // dist/stack/link/tap.js and stack/link/tap.ts both sit three levels below the package root.
  const require = createRequire(import.meta.url);
  const path = '../../../build/Release/tap.node';
  try {
    addon = require(path) as FrameAddon;
  } catch (e) {
    throw new Error(`the TAP addon build/Release/tap.node cannot be loaded (${(e as Error).message.split('\n')[0]}); \`npm ci\` builds it`);
  }
  return addon;
}

/**
 * Runs `ip ARGS…` (iproute2) to completion and returns its stdout; throws an Error whose
 * message is the command and the first line of its complaint. Bounded by a timeout.
 */
export function iproute(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? '').trim().split('\n')[0] || err.message.split('\n')[0];
    throw new Error(`ip ${args.join(' ')}: ${why}`);
  }
}

interface IpLinkJson {
  ifname: string;
  mtu: number;
  address?: string;
  stats64?: { rx: IpLinkCounters; tx: IpLinkCounters };
}

interface IpLinkCounters {
  packets: number;
  bytes: number;
  dropped: number;
}

function showLink(ifname: string, withStats: boolean): IpLinkJson {
  const out = iproute(['-j', ...(withStats ? ['-s'] : []), 'link', 'show', 'dev', ifname]);
  const parsed = JSON.parse(out) as IpLinkJson[];
  const link = parsed[0];
  if (!link) throw new Error(`ip link show dev ${ifname}: no such device`);
  return link;
}

/** The interface's hardware address as `ip` prints it (aa:bb:cc:dd:ee:ff). */
export function linkAddress(ifname: string): string {
  const a = showLink(ifname, false).address;
  if (!a) throw new Error(`${ifname} has no hardware address`);
  return a;
}

/**
 * The kernel's own counters for an interface, from the kernel's side: for a TAP, `tx` is
 * what the kernel sent towards our reader (`tx.dropped` counts frames it dropped because the
 * reader was too slow), `rx` is what we wrote into it.
 */
export function kernelLinkCounters(ifname: string): { rx: IpLinkCounters; tx: IpLinkCounters } {
  const s = showLink(ifname, true).stats64;
  if (!s) throw new Error(`ip -s link show dev ${ifname}: no counters`);
  return s;
}

export interface NativeLinkOptions {
  clock: Clock;
  /** Sets the interface MTU with iproute2 before the link reports maxFrame. */
  mtu?: number;
  /**
   * Called when the device fails (read or poll error: the device was deleted under us). The
   * link stops reading. Without a handler the failure is thrown as an uncaught exception,
   * because a run whose link died cannot go on.
   */
  onError?: (message: string) => void;
}

/**
 * A Link over one of the addon's frame devices: sends are batched per turn of the event loop,
 * received batches are handed out frame by frame. TapLink (our stack's side of a TAP) and
 * PacketSocketLink (the kernel's side of an interface) are the two.
 */
export abstract class NativeFrameLink<S extends NativeStats> implements Link {
  readonly clock: Clock;
  readonly ifname: string;
  readonly maxFrame: number;
  private readonly dev: NativeFrameDevice<S>;
  private readonly lengths = new Uint32Array(BATCH_FRAMES);
  private readonly stamps = new Float64Array(BATCH_FRAMES);
  private txStamps = new Float64Array(BATCH_FRAMES);
  /** The addon's hrtime milliseconds to the link clock's time (both run at the same rate on a RealClock). */
  private readonly toClockMs: number;
  private receiver: FrameReceiver | undefined;
  private sentHook: ((frame: Uint8Array, atMs: number) => void) | undefined;
  private pending: Uint8Array[] = [];
  /** Frames the device queued for writability, waiting for their write stamps (onWritten). */
  private deferred: Uint8Array[] = [];
  private flushScheduled = false;
  private closed = false;
  private rxUnclaimed = 0;
  private txAfterClose = 0;

  /** `kind` names the addon class, `label` the link in error messages ("TAP", "packet socket"). */
  protected constructor(kind: keyof FrameAddon, label: string, name: string, opts: NativeLinkOptions) {
    const Device = loadAddon()[kind] as NativeFrameDeviceClass<S>;
    this.clock = opts.clock;
    this.toClockMs = opts.clock.now() - Number(process.hrtime.bigint()) / 1e6;
    const onError = opts.onError;
    this.dev = new Device(
      name,
      this.lengths,
      this.stamps,
      (batch, count) => this.deliver(batch, count),
      (message) => {
        const text = `${label} ${this.ifname}: ${message}`;
        if (onError) onError(text);
        else throw new Error(text);
      },
      (stamps) => this.written(stamps),
    );
    this.ifname = this.dev.name;
    try {
      if (opts.mtu !== undefined) iproute(['link', 'set', 'dev', this.ifname, 'mtu', String(opts.mtu)]);
      this.maxFrame = showLink(this.ifname, false).mtu + ETHERNET_HEADER_LEN;
    } catch (e) {
      this.dev.close();
      throw e;
    }
  }

  /**
   * Queues the frame; everything sent in one turn of the event loop (e.g. all replies to one
   * received batch) reaches the kernel in one native call, in order.
   */
  send(frame: Uint8Array): void {
    if (this.closed) {
      this.txAfterClose++;
      return;
    }
    this.pending.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  onFrame(cb: FrameReceiver): void {
    this.receiver = cb;
  }

  /** Every frame the device took, with the time its write(2) returned (a refused one is not reported). */
  onSent(cb: (frame: Uint8Array, atMs: number) => void): void {
    this.sentHook = cb;
  }

  get stats(): S & LinkCounters {
    return { ...this.dev.stats(), rxUnclaimed: this.rxUnclaimed, txAfterClose: this.txAfterClose };
  }

  /** Writes what is still pending, then closes the device. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.receiver = undefined;
    this.sentHook = undefined;
    this.deferred = [];
    this.dev.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    if (this.txStamps.length < frames.length) this.txStamps = new Float64Array(frames.length);
    this.dev.writeBatch(frames, frames.length, this.txStamps);
    for (let i = 0; i < frames.length; i++) {
      const at = this.txStamps[i]!;
      if (Number.isNaN(at)) this.deferred.push(frames[i]!);
      else if (at >= 0) this.sentHook?.(frames[i]!, at + this.toClockMs);
    }
  }

  private written(stamps: Float64Array): void {
    const frames = this.deferred.splice(0, stamps.length);
    for (let i = 0; i < frames.length; i++) if (stamps[i]! >= 0) this.sentHook?.(frames[i]!, stamps[i]! + this.toClockMs);
  }

  /**
   * One batch: frames packed back to back in `batch`, their lengths in `this.lengths`. Each
   * frame is a view into the batch buffer (no copy); views do not overlap, so each receiver
   * owns its frame.
   */
  private deliver(batch: Buffer, count: number): void {
    let off = batch.byteOffset;
    for (let i = 0; i < count && !this.closed; i++) {
      const len = this.lengths[i]!;
      const frame = new Uint8Array(batch.buffer, off, len);
      off += len;
      const cb = this.receiver;
      if (cb) cb(frame, this.stamps[i]! + this.toClockMs);
      else this.rxUnclaimed++;
    }
  }
}

export interface TapOpenOptions extends NativeLinkOptions {
  /** Interface name (at most 15 characters); the kernel picks tapN when absent. */
  name?: string;
}

export class TapLink extends NativeFrameLink<NativeStats> {
  private constructor(opts: TapOpenOptions) {
    super('TapDevice', 'TAP', opts.name ?? '', opts);
  }

  /** Creates the TAP device (it vanishes when the link closes or the process dies). */
  static open(opts: TapOpenOptions): TapLink {
    return new TapLink(opts);
  }
}
