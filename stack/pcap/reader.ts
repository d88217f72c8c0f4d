import { closeSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../user-error.js';

/**
 * Reads classic pcap (both byte orders, µs and ns magic) and pcapng (SHB, IDB with
 * if_tsresol/if_tsoffset, EPB, SPB, the obsolete Packet Block; other blocks skipped; both byte
 * orders; any number of sections and interfaces). Files are streamed in large chunks, so memory
 * stays bounded for captures of any size: as PcapRecord objects whose bytes are views into their
 * chunk, or through a PcapVisitor that sees each record's fields in place, allocating nothing
 * per record. Timestamps are kept exactly as integer seconds + nanoseconds.
 */

export interface PcapRecord {
  /** 0-based position among the file's packet records. */
  index: number;
  /** Byte offset of the record (classic) or block (pcapng) in the file. */
  offset: number;
  tsSec: number;
  /** 0..999_999_999 (sub-nanosecond pcapng resolutions are truncated). */
  tsNsec: number;
  /** tsSec * 1000 + tsNsec / 1e6, for arithmetic; tsSec/tsNsec are the exact values. */
  timeMs: number;
  caplen: number;
  origLen: number;
  linktype: number;
  /**
   * The captured bytes: a plain Uint8Array view into the buffer or chunk read (never a copy;
   * chunks are not reused, so a view stays valid as long as it is referenced).
   */
  data: Uint8Array;
  /** Interface number counted across the whole file (pcapng sections included); 0 for classic pcap. */
  iface: number;
}

/**
 * Sees one packet record where it lies: its captured bytes are `buf[off, off + caplen)`, valid
 * only during the call (visitPcapFile reuses its chunks). `index` is 0-based among the file's
 * packet records, `iface` counted across the whole file, `offset` the record's (classic) or
 * block's (pcapng) byte offset in the file. Visitors may declare only the leading parameters.
 */
export type PcapVisitor = (
  buf: Uint8Array,
  off: number,
  caplen: number,
  origLen: number,
  tsSec: number,
  tsNsec: number,
  linktype: number,
  index: number,
  iface: number,
  offset: number,
) => void;

/** A file that is not a valid pcap/pcapng capture (the user's file): one line, exit 2. */
export class PcapFormatError extends UsageError {
  override readonly name = 'PcapFormatError';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.offset = offset;
  }
}

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
const NG_SHB = 0x0a0d0d0a;
const NG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const NG_IDB = 1;
const NG_OBSOLETE_PACKET = 2;
const NG_SPB = 3;
const NG_EPB = 6;
const NG_OPT_END = 0;
const NG_OPT_IF_TSRESOL = 9;
const NG_OPT_IF_TSOFFSET = 14;
/** Wireshark's limits: larger captured lengths or blocks mean the file is corrupt. */
const MAX_STANDARD_CAPLEN = 262144;
const MAX_BLOCK = 16 * 1024 * 1024;
const DEFAULT_CHUNK = 4 * 1024 * 1024;

interface NgInterface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol; 10^6 by default). */
  unitsPerSec: number;
  /** if_tsoffset: seconds added to every timestamp. */
  offsetSec: number;
  /** Number across the whole file. */
  global: number;
}

type Format = 'unknown' | 'pcap' | 'pcapng';

/**
 * The format state machine, fed with byte ranges. `parse` consumes every whole unit (file
 * header, record or block) in the range and returns where the first incomplete unit starts;
 * corruption throws PcapFormatError. One parser serves the in-memory and the streaming reader.
 */
class PcapParser {
  private format: Format = 'unknown';
  private le = true;
  private nanos = false;
  private linktype = 0;
  private maxCaplen = MAX_STANDARD_CAPLEN;
  private sectionIfaces: NgInterface[] = [];
  private ifaceCount = 0;
  private index = 0;
  /** Output of ngTimestamp (avoids allocating a pair per record). */
  private tsSec = 0;
  private tsNsec = 0;

  /** `b` holds file bytes starting at file offset `base`; parses b[start, end). */
  parse(b: Uint8Array, dv: DataView, start: number, end: number, base: number, out: PcapVisitor): number {
    let p = start;
    if (this.format === 'unknown') {
      if (end - p < 4) return p;
      const magic = dv.getUint32(p, false);
      if (magic === NG_SHB) this.format = 'pcapng';
      else {
        this.readClassicMagic(dv, p, base);
        if (end - p < 24) return p;
        this.readClassicHeader(dv, p, base);
        p += 24;
      }
    }
    if (this.format === 'pcap') return this.parseClassicRecords(b, dv, p, end, base, out);
    for (;;) {
      const avail = end - p;
      const len = this.ngBlockLength(dv, p, avail, base);
      if (len > avail) return p;
      this.ngBlock(b, dv, p, len, base, out);
      p += len;
    }
  }

  /** Bytes the unit starting at `p` needs in total (its header size while that is incomplete). */
  unitLength(dv: DataView, p: number, avail: number, base: number): number {
    if (this.format === 'unknown') return avail < 4 || dv.getUint32(p, false) !== NG_SHB ? 24 : this.ngBlockLength(dv, p, avail, base);
    if (this.format === 'pcap') return avail < 16 ? 16 : 16 + this.classicCaplen(dv, p, base);
    return this.ngBlockLength(dv, p, avail, base);
  }

  /** The error for a file that ends inside the unit at `p`. */
  truncated(dv: DataView, p: number, avail: number, base: number): PcapFormatError {
    const what = this.format === 'unknown' ? 'file header' : this.format === 'pcap' ? 'packet record' : 'pcapng block';
    if (this.format === 'unknown' && avail === 0) return new PcapFormatError('empty file: not a pcap or pcapng capture', base + p);
    const need = this.unitLength(dv, p, avail, base);
    return new PcapFormatError(`truncated ${what}: needs ${need} bytes but the file ends after ${avail}`, base + p);
  }

  private readClassicMagic(dv: DataView, p: number, base: number): void {
    const magicBe = dv.getUint32(p, false);
    const magicLe = dv.getUint32(p, true);
    if (magicLe === PCAP_MAGIC_MICROS || magicLe === PCAP_MAGIC_NANOS) {
      this.le = true;
      this.nanos = magicLe === PCAP_MAGIC_NANOS;
    } else if (magicBe === PCAP_MAGIC_MICROS || magicBe === PCAP_MAGIC_NANOS) {
      this.le = false;
      this.nanos = magicBe === PCAP_MAGIC_NANOS;
    } else {
      throw new PcapFormatError(`not a pcap or pcapng file (magic 0x${magicBe.toString(16).padStart(8, '0')})`, base + p);
    }
  }

  private readClassicHeader(dv: DataView, p: number, base: number): void {
    const major = dv.getUint16(p + 4, this.le);
    const minor = dv.getUint16(p + 6, this.le);
    if (major !== 2) throw new PcapFormatError(`unsupported pcap version ${major}.${minor} (only 2.x exists)`, base + p + 4);
    const snaplen = dv.getUint32(p + 16, this.le);
    this.maxCaplen = Math.min(Math.max(MAX_STANDARD_CAPLEN, snaplen), MAX_BLOCK);
    // The upper bits carry FCS information (pcap spec, "LinkType and additional information").
    this.linktype = dv.getUint32(p + 20, this.le) & 0xffff;
    this.format = 'pcap';
  }

  private classicCaplen(dv: DataView, p: number, base: number): number {
    const caplen = dv.getUint32(p + 8, this.le);
    if (caplen > this.maxCaplen) {
      throw new PcapFormatError(`corrupt packet record: captured length ${caplen} exceeds the maximum ${this.maxCaplen}`, base + p);
    }
    return caplen;
  }

  /** The hot loop: classic pcap records. */
  private parseClassicRecords(b: Uint8Array, dv: DataView, start: number, end: number, base: number, out: PcapVisitor): number {
    const le = this.le;
    const nsPerUnit = this.nanos ? 1 : 1000;
    const unitsPerSec = this.nanos ? 1e9 : 1e6;
    const linktype = this.linktype;
    const maxCaplen = this.maxCaplen;
    let index = this.index;
    let p = start;
    while (end - p >= 16) {
      let caplen = dv.getUint32(p + 8, le);
      if (caplen > maxCaplen) caplen = this.classicCaplen(dv, p, base); // throws: the cold path
      const dataEnd = p + 16 + caplen;
      if (dataEnd > end) break;
      const tsSec = dv.getUint32(p, le);
      const frac = dv.getUint32(p + 4, le);
      if (frac >= unitsPerSec) {
        throw new PcapFormatError(`corrupt packet record: sub-second timestamp ${frac} is not below ${unitsPerSec}`, base + p + 4);
      }
      out(b, p + 16, caplen, dv.getUint32(p + 12, le), tsSec, frac * nsPerUnit, linktype, index++, 0, base + p);
      p = dataEnd;
    }
    this.index = index;
    return p;
  }

  /** Total length of the block at `p`, validated; 12 (the minimum) while the header is incomplete. */
  private ngBlockLength(dv: DataView, p: number, avail: number, base: number): number {
    if (avail < 12) return 12;
    let le = this.le;
    if (dv.getUint32(p, false) === NG_SHB) {
      // A section header declares its own byte order (pcapng §4.1).
      const bom = dv.getUint32(p + 8, true);
      if (bom === NG_BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new PcapFormatError(`corrupt section header: byte-order magic 0x${bom.toString(16)}`, base + p + 8);
    }
    const len = dv.getUint32(p + 4, le);
    if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) {
      throw new PcapFormatError(`corrupt pcapng block: total length ${len} (must be a multiple of 4, 12..${MAX_BLOCK})`, base + p + 4);
    }
    return len;
  }

  private ngBlock(b: Uint8Array, dv: DataView, p: number, len: number, base: number, out: PcapVisitor): void {
    const type = dv.getUint32(p, this.le);
    if (type === NG_SHB) this.ngSectionHeader(dv, p, len, base);
    const le = this.le;
    const trailer = dv.getUint32(p + len - 4, le);
    if (trailer !== len) {
      throw new PcapFormatError(`corrupt pcapng block: trailing length ${trailer} differs from leading length ${len}`, base + p + len - 4);
    }
    switch (type) {
      case NG_SHB:
        return;
      case NG_IDB:
        return this.ngInterface(dv, p, len, base);
      case NG_EPB:
      case NG_OBSOLETE_PACKET: {
        const fixed = 28; // block header 8 + interface 4 + timestamp 8 + lengths 8
        if (len < fixed + 4) throw new PcapFormatError(`corrupt packet block: length ${len} below ${fixed + 4}`, base + p);
        const ifId = type === NG_EPB ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
        const caplen = dv.getUint32(p + 20, le);
        if (fixed + caplen + 4 > len) {
          throw new PcapFormatError(`corrupt packet block: captured length ${caplen} overruns the block of ${len} bytes`, base + p + 20);
        }
        const iface = this.ngIface(ifId, base + p + 8);
        this.ngTimestamp(dv.getUint32(p + 12, le), dv.getUint32(p + 16, le), iface);
        this.pushNg(b, p, p + fixed, caplen, dv.getUint32(p + 24, le), iface, base, out);
        return;
      }
      case NG_SPB: {
        if (len < 16) throw new PcapFormatError(`corrupt simple packet block: length ${len} below 16`, base + p);
        const iface = this.ngIface(0, base + p);
        const origLen = dv.getUint32(p + 8, le);
        // An SPB's captured length is implied: the original length cut to the snaplen (pcapng §4.4).
        let caplen = Math.min(origLen, len - 16);
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        this.tsSec = 0;
        this.tsNsec = 0;
        this.pushNg(b, p, p + 12, caplen, origLen, iface, base, out);
        return;
      }
      default:
        return; // Statistics, name resolution, decryption secrets, custom blocks: not needed.
    }
  }

  private ngSectionHeader(dv: DataView, p: number, len: number, base: number): void {
    this.le = dv.getUint32(p + 8, true) === NG_BYTE_ORDER_MAGIC;
    if (len < 28) throw new PcapFormatError(`corrupt section header: length ${len} below 28`, base + p);
    const major = dv.getUint16(p + 12, this.le);
    if (major !== 1) throw new PcapFormatError(`unsupported pcapng version ${major}.${dv.getUint16(p + 14, this.le)}`, base + p + 12);
    // Interface numbers restart in every section (pcapng §4.2).
    this.sectionIfaces = [];
    this.format = 'pcapng';
  }

  private ngInterface(dv: DataView, p: number, len: number, base: number): void {
    if (len < 20) throw new PcapFormatError(`corrupt interface description block: length ${len} below 20`, base + p);
    const le = this.le;
    const iface: NgInterface = {
      linktype: dv.getUint16(p + 8, le),
      snaplen: dv.getUint32(p + 12, le),
      unitsPerSec: 1e6,
      offsetSec: 0,
      global: this.ifaceCount++,
    };
    const optEnd = p + len - 4;
    for (let o = p + 16; o + 4 <= optEnd; ) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === NG_OPT_END) break;
      if (o + 4 + olen > optEnd) throw new PcapFormatError(`corrupt interface option ${code}: length ${olen} overruns the block`, base + o);
      if (code === NG_OPT_IF_TSRESOL && olen >= 1) {
        const v = dv.getUint8(o + 4);
        // MSB clear: 10^-v seconds; set: 2^-(v & 0x7f) (pcapng §4.2, if_tsresol).
        const units = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
        if (!Number.isSafeInteger(units)) throw new PcapFormatError(`unsupported if_tsresol 0x${v.toString(16)}`, base + o + 4);
        iface.unitsPerSec = units;
      } else if (code === NG_OPT_IF_TSOFFSET && olen >= 8) {
        iface.offsetSec = Number(dv.getBigInt64(o + 4, le));
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.sectionIfaces.push(iface);
  }

  private ngIface(id: number, offset: number): NgInterface {
    const iface = this.sectionIfaces[id];
    if (!iface) throw new PcapFormatError(`packet refers to interface ${id}, but the section describes ${this.sectionIfaces.length}`, offset);
    return iface;
  }

  /**
   * Splits a 64-bit count of 1/unitsPerSec units into seconds and nanoseconds without losing
   * precision: directly below 2^53 units; above, long division in 16-bit limbs keeps every
   * intermediate below 2^53 for decimal resolutions up to nanoseconds; other resolutions take
   * the BigInt path.
   */
  private ngTimestamp(hi: number, lo: number, iface: NgInterface): void {
    const d = iface.unitsPerSec;
    if (hi < 0x200000 && d <= 1e9 && 1e9 % d === 0) {
      // Below 2^53 units (e.g. any µs timestamp) the count is exact as a double; the division's
      // rounding is corrected through the exact remainder.
      const units = hi * 4294967296 + lo;
      let sec = Math.floor(units / d);
      let rem = units - sec * d;
      if (rem < 0) {
        sec -= 1;
        rem += d;
      } else if (rem >= d) {
        sec += 1;
        rem -= d;
      }
      this.tsSec = sec + iface.offsetSec;
      this.tsNsec = rem * (1e9 / d);
    } else if (d <= 1e9 && 1e9 % d === 0) {
      let cur = hi >>> 16;
      const q3 = Math.floor(cur / d);
      cur = (cur - q3 * d) * 65536 + (hi & 0xffff);
      const q2 = Math.floor(cur / d);
      cur = (cur - q2 * d) * 65536 + (lo >>> 16);
      const q1 = Math.floor(cur / d);
      cur = (cur - q1 * d) * 65536 + (lo & 0xffff);
      const q0 = Math.floor(cur / d);
      this.tsSec = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0 + iface.offsetSec;
      this.tsNsec = (cur - q0 * d) * (1e9 / d);
    } else {
      const units = (BigInt(hi) << 32n) | BigInt(lo);
      const big = BigInt(d);
      this.tsSec = Number(units / big) + iface.offsetSec;
      this.tsNsec = Number(((units % big) * 1_000_000_000n) / big);
    }
  }

  private pushNg(b: Uint8Array, p: number, data: number, caplen: number, origLen: number, iface: NgInterface, base: number, out: PcapVisitor): void {
    out(b, data, caplen, origLen, this.tsSec, this.tsNsec, iface.linktype, this.index++, iface.global, base + p);
  }
}

/** A visitor that appends PcapRecord objects (views into the chunk) to `batch()`. */
function collect(batch: () => PcapRecord[]): PcapVisitor {
  return (buf, off, caplen, origLen, tsSec, tsNsec, linktype, index, iface, offset) => {
    batch().push({
      index,
      offset,
      tsSec,
      tsNsec,
      timeMs: tsSec * 1000 + tsNsec / 1e6,
      caplen,
      origLen,
      linktype,
      data: new Uint8Array(buf.buffer, buf.byteOffset + off, caplen),
      iface,
    });
  };
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Parses a whole capture held in memory: every good record, and the error that stopped it, if any. */
export function parsePcapBuffer(buf: Uint8Array): { records: PcapRecord[]; error?: PcapFormatError } {
  const parser = new PcapParser();
  const dv = dataView(buf);
  const records: PcapRecord[] = [];
  try {
    const stop = parser.parse(buf, dv, 0, buf.length, 0, collect(() => records));
    if (stop < buf.length || buf.length === 0) return { records, error: parser.truncated(dv, stop, buf.length - stop, 0) };
    return { records };
  } catch (e) {
    if (e instanceof PcapFormatError) return { records, error: e };
    throw e;
  }
}

interface Chunk {
  buf: Buffer;
  /** File offset of buf[CARRY_ROOM]. */
  pos: number;
  bytes: number;
}

/**
 * Bytes kept free in front of each chunk, so the incomplete record at the end of the previous
 * chunk can be put before the new data without copying the chunk (any standard record fits).
 */
const CARRY_ROOM = MAX_STANDARD_CAPLEN + 64;

/**
 * Reads `size` bytes at `pos` into `buf` (a fresh buffer when none is given), after the carry
 * room. Synchronous: from the page cache a read costs half of an asynchronous one, which also
 * waits for a thread-pool hand-off per chunk, and one chunk blocks the event loop for well under
 * a millisecond.
 */
function readChunk(fd: number, pos: number, size: number, buf: Buffer = Buffer.allocUnsafe(CARRY_ROOM + size)): Chunk {
  let bytes = 0;
  // Regular files return whole reads except at the end; the bound only guards odd files.
  for (let tries = 0; bytes < size && tries < 1000; tries++) {
    const bytesRead = readSync(fd, buf, CARRY_ROOM + bytes, size - bytes, pos + bytes);
    if (bytesRead === 0) break;
    bytes += bytesRead;
  }
  return { buf, pos, bytes };
}

/**
 * Parses a file chunk by chunk into `out`, yielding after each chunk. With `reuse`, two chunk
 * buffers take turns (nothing a visitor saw stays valid); otherwise every chunk is a fresh
 * buffer, so views into earlier chunks stay valid while referenced. Throws PcapFormatError
 * after every good record went to `out`.
 */
async function* parseChunks(path: string, chunkBytes: number, reuse: boolean, out: PcapVisitor): AsyncGenerator<void> {
  const fd = openSync(path, 'r');
  const parser = new PcapParser();
  /** A chunk buffer nobody reads from any more (reuse only). */
  let spare: Buffer | undefined;
  try {
    const first = readChunk(fd, 0, chunkBytes);
    let chunk = first.buf;
    let buf = chunk;
    let dv = dataView(buf);
    let start = CARRY_ROOM;
    let end = CARRY_ROOM + first.bytes;
    /** File offset of buf[0]. */
    let base = -CARRY_ROOM;
    let filePos = first.bytes;
    let eof = first.bytes < chunkBytes;
    for (;;) {
      const stop = parser.parse(buf, dv, start, end, base, out);
      yield;
      const left = end - stop;
      if (eof) {
        if (left > 0 || filePos === 0) throw parser.truncated(dv, stop, left, base);
        return;
      }
      const next = readChunk(fd, filePos, chunkBytes, spare);
      filePos += next.bytes;
      eof = next.bytes < chunkBytes;
      if (left <= CARRY_ROOM) {
        next.buf.set(buf.subarray(stop, end), CARRY_ROOM - left);
        buf = next.buf;
        start = CARRY_ROOM - left;
        end = CARRY_ROOM + next.bytes;
      } else {
        // A unit larger than the room (big pcapng blocks, tiny test chunks): join the two.
        const joined = Buffer.allocUnsafe(left + next.bytes);
        joined.set(buf.subarray(stop, end), 0);
        joined.set(next.buf.subarray(CARRY_ROOM, CARRY_ROOM + next.bytes), left);
        buf = joined;
        start = 0;
        end = joined.length;
      }
      // The chunk just parsed was carried over or joined: its buffer is free.
      if (reuse) spare = chunk;
      chunk = next.buf;
      // The carried bytes began at file offset next.pos - left, and now sit at buf[start].
      base = next.pos - left - start;
      dv = dataView(buf);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams a capture as batches of records, one batch per chunk read (no per-record promise).
 * Each chunk is a fresh buffer, so records of earlier batches stay valid while referenced.
 * Every good record is yielded before a PcapFormatError.
 */
export async function* readPcapBatches(path: string, opts: { chunkBytes?: number } = {}): AsyncGenerator<PcapRecord[]> {
  let batch: PcapRecord[] = [];
  try {
    for await (const _ of parseChunks(path, opts.chunkBytes ?? DEFAULT_CHUNK, false, collect(() => batch))) {
      if (batch.length > 0) yield batch;
      batch = [];
    }
  } catch (e) {
    if (batch.length > 0) yield batch;
    throw e;
  }
}

/**
 * Calls `visit` for every record of a capture, in file order, without allocating per record:
 * the fast path for analysers. Chunk buffers are reused, so a visitor copies what it keeps.
 * Throws PcapFormatError after the last good record was visited.
 */
export async function visitPcapFile(path: string, visit: PcapVisitor, opts: { chunkBytes?: number } = {}): Promise<void> {
  for await (const _ of parseChunks(path, opts.chunkBytes ?? DEFAULT_CHUNK, true, visit));
}

/** Streams a capture record by record (bounded memory); throws PcapFormatError after the last good record. */
export async function* readPcapFile(path: string): AsyncGenerator<PcapRecord> {
  for await (const batch of readPcapBatches(path)) yield* batch;
}
