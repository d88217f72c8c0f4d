import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parseIpv4 } from '../stack/addr.js';
import { VirtualClock } from '../stack/clock.js';
import { Interface } from '../stack/iface/interface.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { createSimWire } from '../stack/link/sim.js';
import { silentLogger } from '../stack/log.js';
import { PcapFormatError, readPcapFile, type PcapRecord } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { IPPROTO_ICMP } from '../stack/wire/ipv4.js';
import { emitIcmp } from '../stack/wire/icmp.js';
import { TestNetns, hasCommand, kernelSkipReason, run } from './helpers/env.js';

const tsharkSkip = hasCommand('tshark') ? undefined : "needs 'tshark' on PATH (.ci/run installs it)";
const IP_A = parseIpv4('10.77.0.1')!;
const IP_B = parseIpv4('10.77.0.2')!;

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-tshark-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function tshark(args: string[]): Promise<string> {
  const r = await run('tshark', args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function readAll(path: string): Promise<PcapRecord[]> {
  const out: PcapRecord[] = [];
  for await (const r of readPcapFile(path)) out.push(r);
  return out;
}

/** Our reader and tshark agree on every frame's bytes, lengths and exact timestamp. */
async function assertSameAsTshark(path: string, minFrames: number): Promise<void> {
  const ours = await readAll(path);
  const frames = JSON.parse(await tshark(['-r', path, '-T', 'json', '-x', '-j', 'frame'])) as Array<{
    _source: { layers: { frame_raw: [string]; frame: Record<string, string> } };
  }>;
  assert.ok(ours.length >= minFrames, `${path}: expected at least ${minFrames} frames, got ${ours.length}`);
  assert.equal(ours.length, frames.length, `${path}: frame count`);
  ours.forEach((r, i) => {
    const { frame_raw, frame } = frames[i]!._source.layers;
    assert.equal(`${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}`, frame['frame.time_epoch'], `frame ${i + 1} timestamp`);
    assert.equal(String(r.origLen), frame['frame.len'], `frame ${i + 1} length`);
    assert.equal(String(r.caplen), frame['frame.cap_len'], `frame ${i + 1} captured length`);
    assert.equal(Buffer.from(r.data).toString('hex'), frame_raw[0], `frame ${i + 1} bytes`);
  });
}

test('tshark reads our pcap of an ARP + ICMP exchange between two Interfaces: no malformed frames, no bad checksums', { skip: tsharkSkip }, () =>
  withTmp(async (dir) => {
    const path = join(dir, 'sim.pcap');
    const clock = new VirtualClock(1_700_000_000_000);
    const [la, lb] = createSimWire(clock, { latencyMs: 0.25 });
    const writer = PcapWriter.open(path, { nanos: true });
    const a = new Interface({ link: new RecordingLink(la, writer), mac: 0x02000000000a, ip: IP_A, prefixLen: 24, clock, log: silentLogger });
    const b = new Interface({ link: lb, mac: 0x02000000000b, ip: IP_B, prefixLen: 24, clock, log: silentLogger });
    a.sendIpv4(IP_B, IPPROTO_ICMP, emitIcmp({ kind: 'echo-request', ident: 1, seq: 1, data: new TextEncoder().encode('hi mom') }));
    clock.advance(10);
    b.sendIpv4(IP_A, IPPROTO_ICMP, emitIcmp({ kind: 'echo-request', ident: 2, seq: 7, data: new Uint8Array(1400).fill(0x5a) }));
    clock.advance(10);
    a.sendIpv4(IP_B, 253, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)); // B answers Protocol Unreachable
    clock.runUntilIdle();
    writer.close();
    a.close();
    b.close();

    const lines = (
      await tshark([
        '-r', path,
        '-o', 'ip.check_checksum:TRUE',
        '-o', 'tcp.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=|',
        '-e', 'frame.protocols', '-e', 'ip.checksum.status', '-e', 'icmp.checksum.status', '-e', 'icmp.type', '-e', 'icmp.resp_to', '-e', '_ws.malformed',
      ])
    ).trim().split('\n');
    // ARP request + reply, echo A→B + reply, echo B→A + reply (B learned A from its request), the datagram + unreachable.
    assert.deepEqual(
      lines.map((l) => l.split('|')[0]),
      ['eth:ethertype:arp', 'eth:ethertype:arp', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:data', 'eth:ethertype:ip:icmp:ip:data'],
    );
    for (const l of lines) {
      const [proto, ipStatus, icmpStatus, , , malformed] = l.split('|');
      if (proto!.includes(':ip')) assert.equal(ipStatus!.split(',')[0], '1', `IP checksum good: ${l}`);
      if (proto!.includes(':icmp')) assert.equal(icmpStatus, '1', `ICMP checksum good: ${l}`);
      assert.equal(malformed, '', `not malformed: ${l}`);
    }
    // Both echo replies were matched to their requests by tshark.
    assert.deepEqual(lines.map((l) => l.split('|')[4]).filter(Boolean), ['3', '5']);
    const expert = await tshark(['-r', path, '-o', 'ip.check_checksum:TRUE', '-q', '-z', 'expert']);
    assert.doesNotMatch(expert, /^Errors|^Warns|Malformed|[Bb]ad checksum/m, expert);
    await assertSameAsTshark(path, 8);
  }),
);

/** Starts a capture tool in the namespace and waits (bounded) until it says it is capturing. */
async function startCapture(ns: TestNetns, cmd: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = ns.spawn(cmd, args);
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${stderr}`)), 10_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited early: ${stderr}`));
    });
  });
  return child;
}

/** Pings, a small and a 200 kB TCP exchange on the namespace's lo (frames up to the 64 kB MTU). */
async function makeTraffic(ns: TestNetns): Promise<void> {
  const ping = await ns.exec('ping', ['-c', '3', '-i', '0.2', '-s', '1200', '127.0.0.1'], { timeoutMs: 10_000 });
  assert.equal(ping.code, 0, ping.stderr);
  const tcp = await ns.exec(
    'sh',
    ['-c', 'nc -l 127.0.0.1 7777 >/dev/null & sleep 0.3; head -c 200000 /dev/urandom | nc -N 127.0.0.1 7777; printf hi | nc -N 127.0.0.1 7777 & sleep 0.5; wait'],
    { timeoutMs: 15_000 },
  );
  assert.equal(tcp.code, 0, tcp.stderr);
}

test(
  'our reader matches tshark on captures by tcpdump (classic µs and ns) and dumpcap (pcapng), and after editcap conversion',
  { skip: kernelSkipReason('tshark', 'tcpdump', 'dumpcap', 'editcap', 'nc', 'ping') },
  () =>
    withTmp(async (dir) => {
      const ns = await TestNetns.create();
      try {
        const micro = join(dir, 'tcpdump-us.pcap');
        const nano = join(dir, 'tcpdump-ns.pcap');
        const ng = join(dir, 'dumpcap.pcapng');
        const caps = [
          await startCapture(ns, 'tcpdump', ['-i', 'lo', '-n', '-U', '-w', micro], /listening on/),
          await startCapture(ns, 'tcpdump', ['-i', 'lo', '-n', '-U', '--time-stamp-precision=nano', '-w', nano], /listening on/),
          await startCapture(ns, 'dumpcap', ['-i', 'lo', '-w', ng], /Capturing on/),
        ];
        await makeTraffic(ns);
        await new Promise((r) => setTimeout(r, 300));
        for (const c of caps) await ns.stop(c);
        for (const f of [micro, nano, ng]) assert.ok(existsSync(f) && statSync(f).size > 0, `${f} written`);
        await assertSameAsTshark(micro, 12);
        await assertSameAsTshark(nano, 12);
        await assertSameAsTshark(ng, 12);
        const ngFromClassic = join(dir, 'converted.pcapng');
        const conv = await run('editcap', ['-F', 'pcapng', nano, ngFromClassic]);
        assert.equal(conv.code, 0, conv.stderr);
        await assertSameAsTshark(ngFromClassic, 12);
        // The largest frames on lo are far above 1514 bytes: big records cross the reader's chunks.
        const biggest = Math.max(...(await readAll(micro)).map((r) => r.caplen));
        assert.ok(biggest > 9000, `expected jumbo frames on lo, biggest ${biggest}`);
      } finally {
        await ns.close();
      }
    }),
);

test('a capture cut mid-record by a killed tcpdump-like writer: tshark and our reader agree on the good part', { skip: tsharkSkip }, () =>
  withTmp(async (dir) => {
    const path = join(dir, 'cut.pcap');
    const w = PcapWriter.open(path);
    for (let i = 0; i < 20; i++) w.write(1_000_000 + i, new Uint8Array(100).fill(i));
    w.close();
    truncateSync(path, statSync(path).size - 50);
    const ours: PcapRecord[] = [];
    let err: unknown;
    try {
      for await (const r of readPcapFile(path)) ours.push(r);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof PcapFormatError);
    const r = await run('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number']);
    // tshark also stops at the cut (and says so); it shows the same 19 whole frames.
    assert.match(r.stderr, /cut short in the middle of a packet/);
    assert.equal(r.stdout.trim().split('\n').length, ours.length);
    assert.equal(ours.length, 19);
  }),
);
