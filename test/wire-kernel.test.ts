/**
 * Real frames from the Linux kernel: a TCP connection with data and close, a ping, and a SYN to a
 * closed port (→ RST), captured by tcpdump on `lo` in a test-owned namespace. Every frame must
 * decode, and re-emitting the decoded layers must reproduce it byte for byte.
 *
 * Checksums on lo, as observed (kernel 6.x): IPv4 header and ICMP checksums are complete, but
 * TCP segments the kernel sends from a socket are CHECKSUM_PARTIAL — loopback "offloads" the
 * checksum and never finishes it, so the captured field holds only the folded pseudo-header sum
 * (tcpdump prints "cksum 0xfe30 (incorrect)"). Segments built on the reply path without a socket
 * (the RST) carry a full checksum. The test therefore decodes with verification off, checks each
 * TCP checksum is one of those two honestly (full and valid, or exactly the partial sum), and
 * compares re-emitted bytes with the captured checksum field restored where it was partial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcapBuffer } from '../stack/pcap/reader.js';
import { checksumFinish, pseudoHeaderSum } from '../stack/wire/checksum.js';
import { formatWireError } from '../stack/wire/errors.js';
import { emitEthernet } from '../stack/wire/ethernet.js';
import { decodeFrame, LINKTYPE_ETHERNET, type Frame } from '../stack/wire/frame.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import { emitIpv4, IPPROTO_TCP, parseIpv4 } from '../stack/wire/ipv4.js';
import {
  ACK,
  emitTcp,
  FIN,
  parseTcp,
  RST,
  SYN,
  tcpFlagsShort,
  tcpFlagsToString,
  tcpOptionsMss,
  tcpOptionsTimestamps,
  tcpOptionsWscale,
} from '../stack/wire/tcp.js';
import { hasCommand, kernelSkipReason, run, TestNetns } from './helpers/env.js';

const SERVER_PORT = 5000;
const CLOSED_PORT = 5001;
const SENT = 200_000;

/** A node program for inside the namespace: accepts one connection, counts its bytes, closes after the peer's FIN. */
const SERVER_JS = `
const net = require('net');
const srv = net.createServer((s) => {
  let n = 0;
  s.on('data', (d) => (n += d.length));
  s.on('end', () => { s.end(); srv.close(); console.log('received ' + n); });
});
srv.listen(${SERVER_PORT}, '127.0.0.1', () => console.log('listening'));
setTimeout(() => process.exit(3), 10000).unref();
`;

/** Resolves when `child` has printed `text` on `stream`, rejects after `ms`. */
function waitForOutput(child: import('node:child_process').ChildProcess, stream: 'stdout' | 'stderr', text: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}" (got: ${seen})`)), ms);
    child[stream]!.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/**
 * Waits (at most 5 s) until tcpdump has written the last frames: the file stops growing for
 * 300 ms. A SIGTERM right after the last exchange can lose frames still queued on a loaded box.
 */
async function fileSettles(file: string): Promise<void> {
  let size = -1;
  let stableSince = Date.now();
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    const now = statSync(file).size;
    if (now !== size) {
      size = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 300) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function captureLoopbackTraffic(dir: string): Promise<{ file: string; received: string }> {
  const ns = await TestNetns.create('tcpfuzz-wire');
  try {
    const file = join(dir, 'lo.pcap');
    // --immediate-mode: without it this kernel's TPACKET_V3 blocks were still unread at SIGTERM and
    // the file stayed empty; -Z root: write into the test's private directory.
    const tcpdump = ns.spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-Z', 'root', '-s', '0', '-w', file]);
    await waitForOutput(tcpdump, 'stderr', 'listening on', 10_000);
    const server = ns.spawn('node', ['-e', SERVER_JS]);
    const serverOut = waitForOutput(server, 'stdout', 'received', 10_000);
    await waitForOutput(server, 'stdout', 'listening', 10_000);
    const client = await ns.exec('nc', ['-N', '127.0.0.1', String(SERVER_PORT)], { input: new Uint8Array(SENT).fill(0x61), timeoutMs: 10_000 });
    assert.equal(client.code, 0, `nc: ${client.stderr}`);
    const received = await serverOut;
    const ping = await ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', '127.0.0.1'], { timeoutMs: 10_000 });
    assert.equal(ping.code, 0, `ping: ${ping.stderr}`);
    const refused = await ns.exec('nc', ['-z', '127.0.0.1', String(CLOSED_PORT)], { timeoutMs: 10_000 });
    assert.notEqual(refused.code, 0, 'nothing listens on the closed port');
    await fileSettles(file);
    await ns.stop(tcpdump);
    return { file, received };
  } finally {
    await ns.close();
  }
}

test('kernel frames on lo decode and re-emit byte for byte', { skip: kernelSkipReason('tcpdump', 'nc', 'ping') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-wire-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { file, received } = await captureLoopbackTraffic(dir);
  assert.match(received, new RegExp(`received ${SENT}`));
  const { records, error: pcapError } = parsePcapBuffer(new Uint8Array(readFileSync(file)));
  assert.equal(pcapError, undefined, 'tcpdump wrote whole records');
  const frames = records.map((r) => r.data);
  const linktype = records[0]!.linktype;
  assert.equal(linktype, LINKTYPE_ETHERNET);

  const decoded: Frame[] = [];
  let partial = 0;
  let full = 0;
  // Highest sequence number seen per sender: a loaded machine retransmits even on lo, and a
  // retransmitted byte is in the capture twice but was sent once.
  const seqEnd = new Map<string, number>();
  let payloadBytes = 0;
  for (const [i, bytes] of frames.entries()) {
    const d = decodeFrame(bytes, linktype, { verifyChecksums: false });
    if (!d.ok) assert.fail(`frame ${i + 1}: ${formatWireError(d.error)}`);
    const f = d.value;
    decoded.push(f);
    const eth = f.eth!;
    const ip = f.ipv4!;
    assert.ok(eth && ip, `frame ${i + 1} is Ethernet + IPv4`);
    assert.ok(parseIpv4(eth.payload).ok, `frame ${i + 1}: the IPv4 header checksum is always complete`);
    assert.equal(f.padding, undefined, 'lo does not pad');
    let l4: Uint8Array;
    if (f.tcp) {
      const seg = ip.payload;
      const captured = (seg[16]! << 8) | seg[17]!;
      l4 = emitTcp(f.tcp, ip.src, ip.dst);
      if (parseTcp(seg, ip.src, ip.dst).ok) {
        full++;
      } else {
        const foldedPseudo = ~checksumFinish(pseudoHeaderSum(ip.src, ip.dst, IPPROTO_TCP, seg.length)) & 0xffff;
        assert.equal(captured, foldedPseudo, `frame ${i + 1}: a TCP checksum that fails must be exactly the CHECKSUM_PARTIAL pseudo-header sum`);
        partial++;
        l4[16] = captured >>> 8;
        l4[17] = captured & 0xff;
      }
      const sender = `${ip.src}:${f.tcp.srcPort}`;
      const end = (f.tcp.seq + f.tcp.payload.length) >>> 0;
      const before = seqEnd.get(sender);
      if (f.tcp.flags & SYN) seqEnd.set(sender, (f.tcp.seq + 1) >>> 0);
      else if (f.tcp.payload.length > 0 && before !== undefined && ((end - before) | 0) > 0) {
        payloadBytes += (end - before) >>> 0;
        seqEnd.set(sender, end);
      }
    } else {
      assert.ok(f.icmp, `frame ${i + 1} is TCP or ICMP`);
      assert.ok(parseIcmp(ip.payload).ok, `frame ${i + 1}: ICMP checksums are complete`);
      l4 = emitIcmp(f.icmp);
    }
    assert.deepStrictEqual(emitEthernet({ ...eth, payload: emitIpv4({ ...ip, payload: l4 }) }), bytes, `frame ${i + 1} re-emits`);
  }

  const flags = decoded.filter((f) => f.tcp).map((f) => f.tcp!.flags);
  assert.ok(flags.includes(SYN) && flags.includes(SYN | ACK), 'handshake captured');
  assert.equal(flags.filter((x) => x & FIN).length, 2, 'both FINs captured');
  assert.ok(flags.includes(RST | ACK), 'the closed port answered with RST');
  assert.equal(payloadBytes, SENT, 'every data byte is in the capture (retransmissions counted once)');
  assert.ok(partial > 0 && full > 0, `saw partial (${partial}) and full (${full}) TCP checksums`);
  t.diagnostic(`${frames.length} frames; TCP checksums: ${partial} partial, ${full} full`);
  assert.deepStrictEqual(
    decoded.filter((f) => f.icmp).map((f) => f.icmp!.kind),
    ['echo-request', 'echo-reply', 'echo-request', 'echo-reply'],
  );

  // tcpdump as an independent decoder: flag letters and options, frame by frame.
  const dump = await run('tcpdump', ['-r', file, '-n', '-nn', '-v'], { timeoutMs: 20_000 });
  assert.equal(dump.code, 0, dump.stderr);
  const tcpLines = dump.stdout.split('\n').filter((l) => l.includes('Flags ['));
  const tcps = decoded.filter((f) => f.tcp).map((f) => f.tcp!);
  assert.equal(tcpLines.length, tcps.length);
  for (const [i, line] of tcpLines.entries()) {
    const tcp = tcps[i]!;
    assert.equal(/Flags \[([^\]]*)\]/.exec(line)![1], tcpFlagsShort(tcp.flags), line);
    const mss = /mss (\d+)/.exec(line);
    assert.equal(tcpOptionsMss(tcp.options), mss ? Number(mss[1]) : undefined, line);
    const ws = /wscale (\d+)/.exec(line);
    assert.equal(tcpOptionsWscale(tcp.options), ws ? Number(ws[1]) : undefined, line);
    const ts = /TS val (\d+) ecr (\d+)/.exec(line);
    const got = tcpOptionsTimestamps(tcp.options);
    assert.deepStrictEqual(got && [got.tsval, got.tsecr], ts ? [Number(ts[1]), Number(ts[2])] : undefined, line);
  }

  await t.test('Wireshark names the same flags', { skip: hasCommand('tshark') ? undefined : "needs 'tshark' on PATH" }, async () => {
    const r = await run('tshark', ['-r', file, '-Y', 'tcp', '-T', 'fields', '-e', '_ws.col.Info'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    // Info reads "[TCP Window Update] 5000 → 54792 [ACK] Seq=…": the flags follow the ports.
    const names = r.stdout.trim().split('\n').map((l) => /→ \d+ \[([^\]]*)\]/.exec(l)![1]);
    assert.deepStrictEqual(names, tcps.map((x) => tcpFlagsToString(x.flags)));
  });
});
