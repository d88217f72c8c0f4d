import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapFormatError, parsePcapBuffer, readPcapBatches, readPcapFile, visitPcapFile, type PcapRecord } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { Rng } from '../stack/rng.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tcpfuzz-pcap-'));
}

async function readAll(path: string): Promise<{ records: PcapRecord[]; error?: PcapFormatError }> {
  const records: PcapRecord[] = [];
  try {
    for await (const r of readPcapFile(path)) records.push({ ...r, data: Uint8Array.from(r.data) });
  } catch (e) {
    if (e instanceof PcapFormatError) return { records, error: e };
    throw e;
  }
  return { records };
}

/** Little helper for hand-built files: a growable byte builder with chosen endianness. */
class Bytes {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  raw(b: Uint8Array | number[]): this {
    this.parts.push(...b);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A pcapng block: type, total length, body (padded), total length. */
function ngBlock(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = new Bytes(le).raw(body).pad4().bytes();
  const len = 12 + padded.length;
  return new Bytes(le).u32(type).u32(len).raw(padded).u32(len).bytes();
}

function shb(le: boolean): Uint8Array {
  // byte-order magic, version 1.0, section length -1 (unknown)
  return ngBlock(le, 0x0a0d0d0a, new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes());
}

function idb(le: boolean, linktype: number, snaplen: number, tsresol?: number, tsoffset?: number): Uint8Array {
  const b = new Bytes(le).u16(linktype).u16(0).u32(snaplen);
  if (tsresol !== undefined) b.u16(9).u16(1).u8(tsresol).pad4();
  if (tsoffset !== undefined) b.u16(14).u16(8).u32(le ? tsoffset : 0).u32(le ? 0 : tsoffset);
  b.u16(0).u16(0);
  return ngBlock(le, 1, b.bytes());
}

function epb(le: boolean, iface: number, units: bigint, data: Uint8Array, origLen = data.length): Uint8Array {
  const b = new Bytes(le)
    .u32(iface)
    .u32(Number(units >> 32n))
    .u32(Number(units & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .raw(data)
    .pad4()
    // an epb_flags option (code 2, 4 bytes) and opt_endofopt: options must be skipped
    .u16(2)
    .u16(4)
    .u32(1)
    .u16(0)
    .u16(0);
  return ngBlock(le, 6, b.bytes());
}

function spb(le: boolean, origLen: number, data: Uint8Array): Uint8Array {
  return ngBlock(le, 3, new Bytes(le).u32(origLen).raw(data).bytes());
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function frames(n: number, seed = 1): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.fill(new Uint8Array(14 + rng.int(1500))));
}

test('writer → reader round trip, µs and ns: bytes, lengths and exact timestamps', () => {
  for (const nanos of [false, true]) {
    const w = PcapWriter.memory({ nanos });
    const fs = frames(50);
    const times = fs.map((_, i) => 1_700_000_000_000 + i * 1.234567);
    fs.forEach((f, i) => w.write(times[i]!, f));
    w.writeExact(4_000_000_000, 999_999_999, Uint8Array.of(1, 2, 3), 60);
    assert.equal(w.frames, 51);
    const { records, error } = parsePcapBuffer(w.bytes());
    assert.equal(error, undefined);
    assert.equal(records.length, 51);
    records.slice(0, 50).forEach((r, i) => {
      assert.deepEqual(r.data, fs[i]);
      assert.equal(r.caplen, fs[i]!.length);
      assert.equal(r.origLen, fs[i]!.length);
      assert.equal(r.linktype, 1);
      assert.equal(r.index, i);
      const sec = Math.floor(times[i]! / 1000);
      assert.equal(r.tsSec, sec);
      const fracNs = (times[i]! - sec * 1000) * 1e6;
      // One rounding, at the file's resolution.
      assert.equal(r.tsNsec, nanos ? Math.round(fracNs) : Math.round(fracNs / 1000) * 1000);
    });
    const last = records[50]!;
    // Seconds above 2^31 stay unsigned; nanoseconds are kept exactly (or rounded to µs with carry).
    assert.deepEqual([last.tsSec, last.tsNsec, last.origLen], nanos ? [4_000_000_000, 999_999_999, 60] : [4_000_000_001, 0, 60]);
  }
});

test('writer truncates at snaplen and keeps the original length; honours linktype', () => {
  const w = PcapWriter.memory({ snaplen: 100, linktype: 101 });
  w.write(0, new Uint8Array(300).fill(7));
  const { records } = parsePcapBuffer(w.bytes());
  assert.equal(records[0]!.caplen, 100);
  assert.equal(records[0]!.origLen, 300);
  assert.equal(records[0]!.linktype, 101);
});

test('classic pcap in big-endian byte order (hand-built), µs and ns magic', () => {
  for (const [magic, scale] of [
    [0xa1b2c3d4, 1000],
    [0xa1b23c4d, 1],
  ] as const) {
    const data = Uint8Array.from({ length: 42 }, (_, i) => i);
    const file = new Bytes(false)
      .u32(magic)
      .u16(2)
      .u16(4)
      .u32(0)
      .u32(0)
      .u32(65535)
      .u32(1)
      .u32(0xfffffffe) // seconds above 2^31 (unsigned)
      .u32(123456)
      .u32(42)
      .u32(60)
      .raw(data)
      .bytes();
    const { records, error } = parsePcapBuffer(file);
    assert.equal(error, undefined);
    assert.equal(records.length, 1);
    const r = records[0]!;
    assert.equal(r.tsSec, 0xfffffffe);
    assert.equal(r.tsNsec, 123456 * scale);
    assert.equal(r.origLen, 60);
    assert.deepEqual(r.data, data);
    assert.equal(r.offset, 24);
  }
});

test('pcapng, both byte orders: sections, interfaces, if_tsresol/if_tsoffset, EPB, SPB, unknown blocks', () => {
  for (const le of [true, false]) {
    const d1 = Uint8Array.of(1, 2, 3, 4, 5);
    const d2 = new Uint8Array(64).fill(9);
    const d3 = Uint8Array.of(7, 7, 7);
    const file = concat(
      shb(le),
      idb(le, 1, 0), // default µs
      idb(le, 101, 0, 9), // ns
      ngBlock(le, 0x0bad, Uint8Array.of(1, 2, 3, 4)), // unknown block: skipped
      epb(le, 0, 1_700_000_000_123_456n, d1),
      epb(le, 1, 1_700_000_000_987_654_321n, d2, 1500),
      ngBlock(le, 5, new Bytes(le).u32(0).u32(0).u32(0).u16(0).u16(0).bytes()), // interface statistics
      // second section: interface numbers restart; binary resolution 2^-10 and a +100 s offset
      shb(!le),
      idb(!le, 1, 4, 0x80 | 10, 100),
      epb(!le, 0, (5n << 10n) + 512n, d3),
      spb(!le, 3, d3), // caplen cut to the interface snaplen (4) and the origLen (3)
    );
    const { records, error } = parsePcapBuffer(file);
    assert.equal(error, undefined);
    assert.equal(records.length, 4);
    const [a, b, c, d] = records as [PcapRecord, PcapRecord, PcapRecord, PcapRecord];
    assert.deepEqual([a.tsSec, a.tsNsec, a.linktype, a.iface, a.caplen, a.origLen], [1_700_000_000, 123_456_000, 1, 0, 5, 5]);
    assert.deepEqual(a.data, d1);
    assert.deepEqual([b.tsSec, b.tsNsec, b.linktype, b.iface, b.caplen, b.origLen], [1_700_000_000, 987_654_321, 101, 1, 64, 1500]);
    assert.deepEqual(b.data, d2);
    assert.deepEqual([c.tsSec, c.tsNsec, c.iface, c.linktype], [105, 500_000_000, 2, 1]);
    assert.deepEqual(c.data, d3);
    assert.deepEqual([d.tsSec, d.tsNsec, d.caplen, d.origLen, d.iface], [0, 0, 3, 3, 2]);
    assert.deepEqual(d.data, d3);
    assert.deepEqual(
      records.map((r) => r.index),
      [0, 1, 2, 3],
    );
    // Offsets point at the packet blocks (EPB = 6, SPB = 3), read in each section's byte order.
    const dv = new DataView(file.buffer, file.byteOffset);
    assert.deepEqual(
      records.map((r) => dv.getUint32(r.offset, r.iface < 2 ? le : !le)),
      [6, 6, 6, 3],
    );
  }
});

test('nanosecond pcapng timestamps beyond 2^53 units are split exactly', () => {
  const units = 4_102_444_800_999_999_999n; // 2100-01-01 + 999 999 999 ns: far beyond 2^53
  const { records } = parsePcapBuffer(concat(shb(true), idb(true, 1, 0, 9), epb(true, 0, units, Uint8Array.of(0))));
  assert.equal(records[0]!.tsSec, 4_102_444_800);
  assert.equal(records[0]!.tsNsec, 999_999_999);
});

test('pcapng timestamps split into seconds + ns exactly as integer arithmetic does, for every decimal resolution', () => {
  const rng = new Rng(11);
  for (let digits = 0; digits <= 9; digits++) {
    const perSec = 10n ** BigInt(digits);
    const values = [0n, perSec - 1n, perSec, 1_700_000_000n * perSec - 1n, 1_700_000_000n * perSec, (1n << 53n) - 1n, 1n << 53n, (1n << 63n) + 12345n];
    for (let i = 0; i < 50; i++) values.push((BigInt(rng.u32()) << 32n) | BigInt(rng.u32()), BigInt(rng.u32()) * perSec + BigInt(rng.int(Number(perSec))));
    const blocks = [shb(true), idb(true, 1, 0, digits), ...values.map((v) => epb(true, 0, v, Uint8Array.of(1)))];
    const { records, error } = parsePcapBuffer(concat(...blocks));
    assert.equal(error, undefined);
    records.forEach((r, i) => {
      const v = values[i]!;
      const want = [Number(v / perSec), Number((v % perSec) * 10n ** BigInt(9 - digits))];
      if (want[0]! <= Number.MAX_SAFE_INTEGER) assert.deepEqual([r.tsSec, r.tsNsec], want, `${v} at 10^-${digits}`);
    });
  }
});

test('truncated files: the error names the byte offset and every earlier record is kept', () => {
  const w = PcapWriter.memory();
  const fs = frames(5, 2);
  fs.forEach((f, i) => w.write(i, f));
  const whole = w.bytes();
  const recordStart = parsePcapBuffer(whole).records[3]!.offset;
  for (const cut of [recordStart + 7, recordStart + 16 + 3]) {
    const { records, error } = parsePcapBuffer(whole.subarray(0, cut));
    assert.equal(records.length, 3);
    assert.ok(error instanceof PcapFormatError);
    assert.equal(error.offset, recordStart);
    assert.match(error.message, new RegExp(`truncated packet record: .* at byte ${recordStart}$`));
  }
  assert.match(parsePcapBuffer(new Uint8Array(0)).error!.message, /empty file/);
  assert.match(parsePcapBuffer(whole.subarray(0, 10)).error!.message, /truncated file header.* at byte 0/);
  const ng = concat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, Uint8Array.of(1)), epb(true, 0, 2n, Uint8Array.of(2)));
  const cutNg = parsePcapBuffer(ng.subarray(0, ng.length - 5));
  assert.equal(cutNg.records.length, 1);
  assert.match(cutNg.error!.message, /truncated pcapng block/);
});

test('corrupt files: clear errors with offsets, earlier records kept', () => {
  const w = PcapWriter.memory();
  frames(3, 3).forEach((f, i) => w.write(i, f));
  const good = Buffer.from(w.bytes());
  const second = parsePcapBuffer(good).records[1]!.offset;
  const badLen = Buffer.from(good);
  badLen.writeUInt32LE(10_000_000, second + 8);
  let r = parsePcapBuffer(badLen);
  assert.equal(r.records.length, 1);
  assert.equal(r.error!.offset, second);
  assert.match(r.error!.message, /captured length 10000000 exceeds/);
  const badUsec = Buffer.from(good);
  badUsec.writeUInt32LE(1_000_000, second + 4);
  r = parsePcapBuffer(badUsec);
  assert.equal(r.records.length, 1);
  assert.equal(r.error!.offset, second + 4);
  r = parsePcapBuffer(Buffer.from('GIF89a this is not a capture at all'));
  assert.match(r.error!.message, /not a pcap or pcapng file \(magic 0x47494638\) at byte 0/);
  const ng = Buffer.from(concat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, Uint8Array.of(1)), epb(true, 0, 2n, Uint8Array.of(2))));
  const lastBlock = ng.length - 48;
  const badTrailer = Buffer.from(ng);
  badTrailer.writeUInt32LE(99, ng.length - 4);
  r = parsePcapBuffer(badTrailer);
  assert.equal(r.records.length, 1);
  assert.equal(r.error!.offset, ng.length - 4);
  assert.match(r.error!.message, /trailing length 99 differs from leading length 48/);
  const badIface = Buffer.from(ng);
  badIface.writeUInt32LE(3, lastBlock + 8);
  r = parsePcapBuffer(badIface);
  assert.equal(r.records.length, 1);
  assert.match(r.error!.message, /interface 3, but the section describes 1/);
});

test('streaming reader: identical records to the in-memory parser across chunk boundaries, error after good records', async () => {
  const dir = tempDir();
  try {
    const w = PcapWriter.memory({ nanos: true });
    const fs = frames(200, 4);
    fs.forEach((f, i) => w.write(1e12 + i, f));
    const whole = w.bytes();
    const path = join(dir, 'a.pcap');
    writeFileSync(path, whole);
    const expected = parsePcapBuffer(whole).records;
    // Chunks smaller than a record force the carry-over and the growing buffer.
    for (const chunkBytes of [100, 1000, 4096, 1 << 22]) {
      const got: PcapRecord[] = [];
      for await (const batch of readPcapBatches(path, { chunkBytes })) got.push(...batch);
      assert.equal(got.length, 200);
      got.forEach((r, i) => {
        assert.deepEqual({ ...r, data: [...r.data] }, { ...expected[i]!, data: [...expected[i]!.data] });
      });
    }
    writeFileSync(path, whole.subarray(0, whole.length - 1));
    const cut = await readAll(path);
    assert.equal(cut.records.length, 199);
    assert.equal(cut.error!.offset, expected[199]!.offset);
    const ngPath = join(dir, 'b.pcapng');
    writeFileSync(ngPath, concat(shb(false), idb(false, 1, 0, 9), epb(false, 0, 5n, Uint8Array.of(5))));
    const ng = await readAll(ngPath);
    assert.deepEqual(ng.records.map((r) => [r.tsSec, r.tsNsec, [...r.data]]), [[0, 5, [5]]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every record visitPcapFile shows, copied out of its reused chunk, and the chunk buffers it used. */
async function visitAll(path: string, chunkBytes?: number): Promise<{ records: PcapRecord[]; buffers: Set<ArrayBufferLike>; error?: PcapFormatError }> {
  const records: PcapRecord[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const visit = (buf: Uint8Array, off: number, caplen: number, origLen: number, tsSec: number, tsNsec: number, linktype: number, index: number, iface: number, offset: number): void => {
    buffers.add(buf.buffer);
    const data = Uint8Array.from(buf.subarray(off, off + caplen));
    records.push({ index, offset, tsSec, tsNsec, timeMs: tsSec * 1000 + tsNsec / 1e6, caplen, origLen, linktype, data, iface });
  };
  try {
    await visitPcapFile(path, visit, chunkBytes === undefined ? {} : { chunkBytes });
  } catch (e) {
    if (e instanceof PcapFormatError) return { records, buffers, error: e };
    throw e;
  }
  return { records, buffers };
}

test('record visitor: the same records as the in-memory parser, in place in two reused chunks, error after good records', async () => {
  const dir = tempDir();
  try {
    const w = PcapWriter.memory({ nanos: true });
    frames(300, 5).forEach((f, i) => w.write(1e12 + i * 0.5, f));
    const whole = w.bytes();
    const path = join(dir, 'a.pcap');
    writeFileSync(path, whole);
    const expected = parsePcapBuffer(whole).records.map((r) => ({ ...r, data: Uint8Array.from(r.data) }));
    for (const chunkBytes of [100, 1000, 4096, 1 << 22]) {
      const { records, buffers, error } = await visitAll(path, chunkBytes);
      assert.equal(error, undefined);
      assert.deepEqual(records, expected, `chunks of ${chunkBytes} bytes`);
      // Records straddling chunks are carried into the next one: two buffers take turns (chunks
      // smaller than a record join the pieces into fresh buffers instead).
      if (chunkBytes >= 4096) assert.ok(buffers.size <= 2, `${buffers.size} chunk buffers for chunks of ${chunkBytes} bytes`);
    }
    writeFileSync(path, whole.subarray(0, whole.length - 1));
    const cut = await visitAll(path, 4096);
    assert.equal(cut.records.length, 299);
    assert.equal(cut.error!.offset, expected[299]!.offset);
    const ngPath = join(dir, 'b.pcapng');
    writeFileSync(ngPath, concat(shb(true), idb(true, 101, 0, 9), epb(true, 0, 7n, Uint8Array.of(9, 8)), spb(true, 3, Uint8Array.of(1, 2, 3))));
    const ng = await visitAll(ngPath);
    assert.deepEqual(ng.records, parsePcapBuffer(readFileSync(ngPath)).records.map((r) => ({ ...r, data: Uint8Array.from(r.data) })));
    assert.deepEqual(ng.records.map((r) => [r.linktype, r.tsNsec, [...r.data]]), [
      [101, 7, [9, 8]],
      [101, 0, [1, 2, 3]],
    ]);
    await assert.rejects(visitPcapFile(join(dir, 'missing.pcap'), () => {}), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file writer: the header is on disk at once, records after flush() or the timer, close is idempotent', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'w.pcap');
    const w = PcapWriter.open(path, { flushMs: 20 });
    assert.equal(readFileSync(path).length, 24);
    w.write(1000, Uint8Array.of(1, 2, 3));
    assert.equal(readFileSync(path).length, 24, 'buffered until flush');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(readFileSync(path).length, 24 + 16 + 3, 'flushed by the timer');
    w.write(2000, Uint8Array.of(4));
    w.flush();
    assert.equal(parsePcapBuffer(readFileSync(path)).records.length, 2);
    w.close();
    w.close();
    assert.throws(() => w.write(3000, Uint8Array.of(5)), /closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
