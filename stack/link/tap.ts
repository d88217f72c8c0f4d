import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Clock } from '../clock.js';
import type { Link } from './link.js';

/**
 * A Linux TAP device as a Link: the kernel's network stack on one side, ours on the other.
 * The native addon (native/tap.cc, built by `npm ci` into build/Release/tap.node) does only
 * what JavaScript cannot: TUNSETIFF, polling the fd in libuv, and batched read/write. Link
 * state, addresses and MTU go through iproute2 (`iproute`).
 */

/** Counters of the native device (frames our side read or wrote). */
interface NativeStats {
  rxFrames: number;
  rxBytes: number;
  /** One batch = one readable wake-up = one call into JavaScript. */
  rxBatches: number;
  rxErrors: number;
  txFrames: number;
  txBytes: number;
  /** Frames that met a full device (EAGAIN) and waited for writability. */
  txDeferred: number;
  txQueued: number;
  /** Frames dropped because the wait queue was full or the link closed with frames queued. */
  txQueueDrops: number;
  /** Frames the kernel refused (EINVAL for a runt, EIO when the device is down). */
  txErrors: number;
  lastError: string | undefined;
}

export interface TapStats extends NativeStats {
  /** Frames received while no receiver was registered. */
  rxUnclaimed: number;
  /** Frames handed to send() after close(). */
  txAfterClose: number;
}

interface NativeTapDevice {
  readonly name: string;
  writeBatch(frames: Uint8Array[], count: number): void;
  stats(): NativeStats;
  close(): void;
}

interface TapAddon {
  TapDevice: new (
    name: string,
    lengths: Uint32Array,
    onBatch: (batch: Buffer, count: number) => void,
    onError: (message: string) => void,
  ) => NativeTapDevice;
}

/** Frames per batch; the addon reads at most this many before calling back. */
const BATCH_FRAMES = 256;
const ETHERNET_HEADER_LEN = 14;

let addon: TapAddon | undefined;

function loadAddon(): TapAddon {
  if (addon) return addon;
  // dist/stack/link/tap.js and stack/link/tap.ts both sit three levels below the package root.
  const require = createRequire(import.meta.url);
  const path = '../../../build/Release/tap.node';
  try {
    addon = require(path) as TapAddon;
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

export interface TapOpenOptions {
  /** Interface name (at most 15 characters); the kernel picks tapN when absent. */
  name?: string;
  clock: Clock;
  /** Sets the device MTU with iproute2 before the link reports maxFrame. */
  mtu?: number;
  /**
   * Called when the device fails (read or poll error: the device was deleted under us). The
   * link stops reading. Without a handler the failure is thrown as an uncaught exception,
   * because a run whose TAP died cannot go on.
   */
  onError?: (message: string) => void;
}

export class TapLink implements Link {
  readonly clock: Clock;
  readonly ifname: string;
  readonly maxFrame: number;
  private readonly dev: NativeTapDevice;
  private readonly lengths = new Uint32Array(BATCH_FRAMES);
  private receiver: ((frame: Uint8Array) => void) | undefined;
  private pending: Uint8Array[] = [];
  private flushScheduled = false;
  private closed = false;
  private rxUnclaimed = 0;
  private txAfterClose = 0;

  private constructor(opts: TapOpenOptions) {
    const { TapDevice } = loadAddon();
    this.clock = opts.clock;
    const onError = opts.onError;
    this.dev = new TapDevice(
      opts.name ?? '',
      this.lengths,
      (batch, count) => this.deliver(batch, count),
      (message) => {
        const text = `TAP ${this.ifname}: ${message}`;
        if (onError) onError(text);
        else throw new Error(text);
      },
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

  /** Creates the TAP device (it vanishes when the link closes or the process dies). */
  static open(opts: TapOpenOptions): TapLink {
    return new TapLink(opts);
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

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  get stats(): TapStats {
    return { ...this.dev.stats(), rxUnclaimed: this.rxUnclaimed, txAfterClose: this.txAfterClose };
  }

  /** Writes what is still pending, then closes the device. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.receiver = undefined;
    this.dev.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.dev.writeBatch(frames, frames.length);
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
      if (cb) cb(frame);
      else this.rxUnclaimed++;
    }
  }
}
