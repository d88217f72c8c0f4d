import { closeSync, openSync, writeSync } from 'node:fs';
import { LINKTYPE_ETHERNET } from '../wire/frame.js';
import { PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS } from './reader.js';

/**
 * Classic pcap writer (the libpcap format every tool reads). The file is valid at every
 * instant: the 24-byte header is written when the file is opened, and records are only ever
 * appended whole — each flush is one write() of complete records, so a process killed between
 * frames (even by SIGKILL) leaves a file that parses to the last flushed record.
 */

const PCAP_FILE_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;
/** libpcap's default snapshot length, which tcpdump and Wireshark also use. */
export const DEFAULT_SNAPLEN = 262144;
const DEFAULT_FLUSH_MS = 200;
/** Buffered bytes that trigger an immediate flush, so memory stays bounded under bursts. */
const FLUSH_BYTES = 1 << 20;

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanos?: boolean;
  /** Frames longer than this are truncated (original length kept in the record). */
  snaplen?: number;
  /** LINKTYPE_* of every frame; Ethernet by default. */
  linktype?: number;
  /** How long a record may sit in memory before it is written (file writers only). */
  flushMs?: number;
}

/** Writers with a file open; flushed synchronously when the process ends or is signalled. */
const openWriters = new Set<PcapWriter>();
let exitHooksInstalled = false;

function flushAllOpen(): void {
  for (const w of openWriters) {
    try {
      w.flush();
    } catch {
      // A failing disk must not stop the other writers from flushing during shutdown.
    }
  }
}

/**
 * Installed once per process, on the first file writer. 'exit' and 'uncaughtExceptionMonitor'
 * observe without changing what the process does. A signal listener, though, replaces Node's
 * default (terminate); so when ours is the only listener it flushes, removes itself and
 * re-raises the signal, and the process dies by it exactly as it would have without us. When
 * the application listens too, its own handler decides how to shut down.
 */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', flushAllOpen);
  process.on('uncaughtExceptionMonitor', flushAllOpen);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      flushAllOpen();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

export class PcapWriter {
  private readonly nanos: boolean;
  private readonly snaplen: number;
  private readonly flushMs: number;
  private fd: number | undefined;
  /** Whole records not yet written: pending[0, pendingLen). */
  private pending: Buffer;
  private pendingLen = 0;
  private timer: NodeJS.Timeout | undefined;
  /** In-memory writers keep the flushed file here. */
  private readonly memoryChunks: Buffer[] | undefined;
  private closed = false;
  private count = 0;

  private constructor(opts: PcapWriterOptions, fd: number | undefined) {
    this.nanos = opts.nanos ?? false;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff) {
      throw new RangeError(`pcap snaplen must be a positive integer, got ${this.snaplen}`);
    }
    this.fd = fd;
    this.memoryChunks = fd === undefined ? [] : undefined;
    this.pending = Buffer.allocUnsafe(64 * 1024);
    const header = Buffer.alloc(PCAP_FILE_HEADER_LEN);
    header.writeUInt32LE(this.nanos ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS, 0);
    header.writeUInt16LE(2, 4); // version 2.4, the only one in use since 1998
    header.writeUInt16LE(4, 6);
    // thiszone and sigfigs stay 0, as libpcap writes them.
    header.writeUInt32LE(this.snaplen, 16);
    header.writeUInt32LE((opts.linktype ?? LINKTYPE_ETHERNET) & 0xffff, 20);
    this.output(header);
  }

  /** Creates (truncates) `path` and writes the file header immediately. */
  static open(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    const fd = openSync(path, 'w');
    let w: PcapWriter;
    try {
      w = new PcapWriter(opts, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    installExitHooks();
    openWriters.add(w);
    return w;
  }

  /** A writer that keeps the file in memory; `bytes()` returns it. */
  static memory(opts: PcapWriterOptions = {}): PcapWriter {
    return new PcapWriter(opts, undefined);
  }

  /** Number of records written (buffered ones included). */
  get frames(): number {
    return this.count;
  }

  /** Appends one frame stamped `timeMs` milliseconds since the Unix epoch (fractions kept). */
  write(timeMs: number, frame: Uint8Array): void {
    // The integer second comes from floor(), never from rounding the whole value, and the
    // fraction is rounded once, at the file's resolution (carrying into the second).
    const sec = Math.floor(timeMs / 1000);
    this.append(sec, Math.round((timeMs - sec * 1000) * (this.nanos ? 1e6 : 1e3)), frame, frame.length);
  }

  /**
   * Appends one frame with an exact timestamp (seconds + nanoseconds), e.g. copied from a
   * record read with the pcap reader. `origLen` defaults to the frame's length.
   */
  writeExact(tsSec: number, tsNsec: number, frame: Uint8Array, origLen = frame.length): void {
    if (!(Number.isInteger(tsNsec) && tsNsec >= 0 && tsNsec < 1e9)) {
      throw new RangeError(`pcap timestamp nanoseconds out of range: ${tsNsec}`);
    }
    this.append(tsSec, this.nanos ? tsNsec : Math.round(tsNsec / 1000), frame, origLen);
  }

  /** `frac` is in the file's unit (µs or ns) and may equal one full second after rounding. */
  private append(tsSec: number, frac: number, frame: Uint8Array, origLen: number): void {
    if (this.closed) throw new Error('pcap writer is closed');
    const unitsPerSec = this.nanos ? 1e9 : 1e6;
    let sec = tsSec;
    if (frac >= unitsPerSec) {
      sec += 1;
      frac -= unitsPerSec;
    }
    if (!(Number.isInteger(sec) && sec >= 0 && sec <= 0xffffffff)) {
      throw new RangeError(`pcap timestamp seconds out of range (0..2^32-1): ${sec}`);
    }
    const caplen = Math.min(frame.length, this.snaplen);
    const need = this.pendingLen + PCAP_RECORD_HEADER_LEN + caplen;
    if (need > this.pending.length) this.growPending(need);
    const b = this.pending;
    let p = this.pendingLen;
    b.writeUInt32LE(sec, p);
    b.writeUInt32LE(frac, p + 4);
    b.writeUInt32LE(caplen, p + 8);
    b.writeUInt32LE(Math.max(origLen, caplen), p + 12);
    p += PCAP_RECORD_HEADER_LEN;
    b.set(caplen === frame.length ? frame : frame.subarray(0, caplen), p);
    this.pendingLen = p + caplen;
    this.count++;
    if (this.pendingLen >= FLUSH_BYTES) this.flush();
    else this.armTimer();
  }

  /** Writes every buffered record now, in one write of whole records. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingLen === 0) return;
    const out = this.pending.subarray(0, this.pendingLen);
    this.pendingLen = 0;
    this.output(out);
  }

  /** Flushes and closes the file; later writes throw. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    openWriters.delete(this);
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** The whole file so far (in-memory writers only; buffered records are flushed first). */
  bytes(): Uint8Array {
    if (!this.memoryChunks) throw new Error('bytes() is only available on PcapWriter.memory()');
    this.flush();
    return Buffer.concat(this.memoryChunks);
  }

  private output(data: Buffer): void {
    if (this.memoryChunks) {
      this.memoryChunks.push(Buffer.from(data));
      return;
    }
    // Regular files take the whole write at once; the loop only guards the rare short write.
    let off = 0;
    for (let tries = 0; off < data.length && tries < 1000; tries++) {
      off += writeSync(this.fd!, data, off, data.length - off);
    }
    if (off < data.length) throw new Error(`pcap write stalled after ${off} of ${data.length} bytes`);
  }

  private growPending(need: number): void {
    let size = this.pending.length * 2;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.pending.copy(bigger, 0, 0, this.pendingLen);
    this.pending = bigger;
  }

  private armTimer(): void {
    if (this.timer || this.memoryChunks) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushMs);
    // The timer is a deadline for data already written by the caller, not a reason to live.
    this.timer.unref();
  }
}
