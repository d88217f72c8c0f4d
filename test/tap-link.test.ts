import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { parseMac, type Mac } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { iproute, linkAddress, TapLink, type TapOpenOptions } from '../stack/link/tap.js';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp, type ArpRepr } from '../stack/wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from '../stack/wire/ethernet.js';
import { emitIcmp, parseIcmp } from '../stack/wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, parseIpv4, type Ipv4Repr } from '../stack/wire/ipv4.js';
import { kernelSkipReason, TestNetns, run } from './helpers/env.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingLink } from '../stack/link/recorder.js';
import { parsePcapBuffer } from '../stack/pcap/reader.js';
import { PcapWriter } from '../stack/pcap/writer.js';

const skip = kernelSkipReason('ping');
const KERNEL_IP = 0x0a4d0001; // 10.77.0.1
const STACK_IP = 0x0a4d0002; // 10.77.0.2
const STACK_MAC = 0x027700000002;
const STACK_MAC_TEXT = '02:77:00:00:00:02';

let tapCounter = 0;

interface Rig {
  link: TapLink;
  ns: TestNetns;
  kernelMac: Mac;
  /** Frames received so far, in order. */
  frames: Uint8Array[];
  /** Resolves with the first received frame (past or future) that `pick` accepts. */
  waitFor(pick: (frame: Uint8Array) => boolean, timeoutMs?: number): Promise<Uint8Array>;
}

/**
 * A TAP opened by this process and moved into a test-owned namespace, where the kernel side
 * gets 10.77.0.1/24. The fd stays ours across the move, so the test drives both sides while
 * everything the kernel does happens inside the namespace.
 */
async function rig(t: TestContext, opts: Partial<TapOpenOptions> = {}, staticNeighbor = false): Promise<Rig> {
  const ns = await TestNetns.create('tcpfuzz-tap');
  const ifname = `tfz${process.pid % 100000}t${tapCounter++}`;
  let link: TapLink | undefined;
  t.after(async () => {
    link?.close();
    await ns.close();
  });
  link = TapLink.open({ name: ifname, clock: new RealClock(), ...opts });
  const kernelMac = parseMac(linkAddress(ifname))!;
  iproute(['link', 'set', 'dev', ifname, 'netns', ns.name]);
  const steps: string[][] = [
    ['sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`],
    ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', ifname],
    ['ip', 'link', 'set', 'dev', ifname, 'up'],
  ];
  if (staticNeighbor) steps.push(['ip', 'neigh', 'add', '10.77.0.2', 'lladdr', STACK_MAC_TEXT, 'dev', ifname, 'nud', 'permanent']);
  for (const [cmd, ...args] of steps) {
    const r = await ns.exec(cmd!, args);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  }
  const frames: Uint8Array[] = [];
  const waiters: Array<{ pick: (f: Uint8Array) => boolean; resolve: (f: Uint8Array) => void }> = [];
  link.onFrame((f) => {
    frames.push(f);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pick(f)) {
        waiters[i]!.resolve(f);
        waiters.splice(i, 1);
      }
    }
  });
  const waitFor = (pick: (f: Uint8Array) => boolean, timeoutMs = 5000): Promise<Uint8Array> => {
    const seen = frames.find(pick);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      waiters.push({ pick, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  };
  return { link, ns, kernelMac, frames, waitFor };
}

function arpOf(frame: Uint8Array): ArpRepr | undefined {
  const eth = parseEthernet(frame);
  if (!eth.ok || eth.value.ethertype !== ETHERTYPE_ARP) return undefined;
  const arp = parseArp(eth.value.payload);
  return arp.ok ? arp.value : undefined;
}

function ipv4Of(frame: Uint8Array): Ipv4Repr | undefined {
  const eth = parseEthernet(frame);
  if (!eth.ok || eth.value.ethertype !== ETHERTYPE_IPV4) return undefined;
  const ip = parseIpv4(eth.value.payload);
  return ip.ok ? ip.value : undefined;
}

function arpFrame(dst: Mac, arp: ArpRepr): Uint8Array {
  return emitEthernet({ dst, src: STACK_MAC, ethertype: ETHERTYPE_ARP, payload: emitArp(arp) });
}

function ipv4Frame(dst: Mac, src: number, dstIp: number, payload: Uint8Array): Uint8Array {
  const ip = emitIpv4({
    src,
    dst: dstIp,
    protocol: IPPROTO_ICMP,
    ttl: 64,
    tos: 0,
    ident: 1,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    options: new Uint8Array(0),
    payload,
  });
  return emitEthernet({ dst, src: STACK_MAC, ethertype: ETHERTYPE_IPV4, payload: ip });
}

test('the kernel pings through the TAP: its ARP request and echo request arrive, our hand-built replies get ping an answer', { skip }, async (t) => {
  const r = await rig(t);
  const ping = r.ns.spawn('ping', ['-c', '1', '-W', '3', '10.77.0.2']);
  const exited = once(ping, 'exit');

  const arpFrameIn = await r.waitFor((f) => arpOf(f)?.op === ARP_REQUEST);
  const req = arpOf(arpFrameIn)!;
  assert.equal(req.senderIp, KERNEL_IP);
  assert.equal(req.senderMac, r.kernelMac, 'the request comes from the TAP device itself');
  assert.equal(req.targetIp, STACK_IP);
  r.link.send(arpFrame(r.kernelMac, { op: ARP_REPLY, senderMac: STACK_MAC, senderIp: STACK_IP, targetMac: r.kernelMac, targetIp: KERNEL_IP }));

  const echoFrame = await r.waitFor((f) => {
    const ip = ipv4Of(f);
    return ip?.protocol === IPPROTO_ICMP && parseIcmp(ip.payload).ok;
  });
  const eth = parseEthernet(echoFrame);
  assert.ok(eth.ok);
  assert.equal(eth.value.dst, STACK_MAC, 'the kernel used the MAC from our ARP reply');
  const ip = ipv4Of(echoFrame)!;
  const icmp = parseIcmp(ip.payload);
  assert.ok(icmp.ok && icmp.value.kind === 'echo-request');
  r.link.send(
    ipv4Frame(r.kernelMac, STACK_IP, KERNEL_IP, emitIcmp({ kind: 'echo-reply', ident: icmp.value.ident, seq: icmp.value.seq, data: icmp.value.data })),
  );

  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, 'ping got its reply: frames we wrote reached the kernel');
  assert.equal(r.link.stats.txFrames, 2);
  assert.equal(r.link.stats.txErrors, 0);
});

test('frames we write reach the kernel: an ARP request teaches it our MAC and gets a reply; an echo request gets an echo reply', { skip }, async (t) => {
  const r = await rig(t);
  r.link.send(arpFrame(0xffffffffffff, { op: ARP_REQUEST, senderMac: STACK_MAC, senderIp: STACK_IP, targetMac: 0, targetIp: KERNEL_IP }));
  const reply = arpOf(await r.waitFor((f) => arpOf(f)?.op === ARP_REPLY))!;
  assert.equal(reply.senderIp, KERNEL_IP);
  assert.equal(reply.senderMac, r.kernelMac);
  assert.equal(reply.targetMac, STACK_MAC);
  const neigh = await r.ns.exec('ip', ['neigh', 'show', '10.77.0.2']);
  assert.match(neigh.stdout, new RegExp(`lladdr ${STACK_MAC_TEXT}`));

  const data = new TextEncoder().encode('tcpfuzz tap echo');
  r.link.send(ipv4Frame(r.kernelMac, STACK_IP, KERNEL_IP, emitIcmp({ kind: 'echo-request', ident: 0x4242, seq: 7, data })));
  const echo = await r.waitFor((f) => {
    const ip = ipv4Of(f);
    const icmp = ip && ip.protocol === IPPROTO_ICMP ? parseIcmp(ip.payload) : undefined;
    return icmp?.ok === true && icmp.value.kind === 'echo-reply';
  });
  const ip = ipv4Of(echo)!;
  assert.equal(ip.src, KERNEL_IP);
  assert.equal(ip.dst, STACK_IP);
  const icmp = parseIcmp(ip.payload);
  assert.ok(icmp.ok && icmp.value.kind === 'echo-reply');
  assert.equal(icmp.value.ident, 0x4242);
  assert.equal(icmp.value.seq, 7);
  assert.deepEqual(icmp.value.data, data);
});

test('a burst arrives whole, in order, in fewer JavaScript calls than frames', { skip }, async (t) => {
  const r = await rig(t, {}, true);
  // 60000 bytes of ICMP in 1500-byte packets: the kernel emits 41 fragments in one go.
  const ping = await r.ns.exec('ping', ['-c', '1', '-W', '0.2', '-s', '60000', '10.77.0.2']);
  assert.notEqual(ping.code, null);
  await r.waitFor((f) => {
    const ip = ipv4Of(f);
    return ip !== undefined && !ip.moreFragments && ip.fragmentOffset > 0;
  });
  const fragments = r.frames.map(ipv4Of).filter((ip) => ip?.protocol === IPPROTO_ICMP);
  assert.equal(fragments.length, 41);
  assert.deepEqual(
    fragments.map((ip) => ip!.fragmentOffset),
    fragments.map((_, i) => i * 1480),
    'fragments in the order the kernel sent them',
  );
  assert.equal(fragments.reduce((n, ip) => n + ip!.payload.length, 0), 60008, 'every byte of the ICMP message');
  assert.ok(r.frames.every((f) => f.length <= r.link.maxFrame));
  const s = r.link.stats;
  assert.equal(s.rxFrames, r.frames.length);
  assert.ok(s.rxBatches < s.rxFrames, `${s.rxFrames} frames in ${s.rxBatches} batches`);
});

test('frames are stamped at the device: a batch by its reads, replies by their writes, not when JavaScript handled them (issue #14)', { skip }, async (t) => {
  const r = await rig(t, {}, true);
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-stamps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = PcapWriter.open(join(dir, 'stamps.pcap'), { nanos: true });
  const recorder = new RecordingLink(r.link, pcap);
  const reply = emitEthernet({ dst: r.kernelMac, src: STACK_MAC, ethertype: 0x88b5, payload: new Uint8Array(46) });
  const handled: number[] = [];
  // Each frame costs the receiver 15 ms of work and gets one reply: a busy event loop.
  const lastFragment = (f: Uint8Array): boolean => {
    const ip = ipv4Of(f);
    return ip !== undefined && !ip.moreFragments && ip.fragmentOffset > 0;
  };
  let done = false;
  recorder.onFrame((f) => {
    done ||= lastFragment(f);
    const until = performance.now() + 15;
    while (performance.now() < until) {
      // busy: the frame path is blocked, as a big job rendered on it would block it
    }
    handled.push(r.link.clock.now());
    recorder.send(reply);
  });
  const ping = await r.ns.exec('ping', ['-c', '1', '-W', '0.2', '-s', '60000', '10.77.0.2']);
  assert.notEqual(ping.code, null);
  for (let i = 0; i < 250 && !done; i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(done, 'the last fragment arrived');
  await new Promise((res) => setImmediate(res));
  pcap.close();
  const { records } = parsePcapBuffer(readFileSync(join(dir, 'stamps.pcap')));
  const isReply = (f: Uint8Array): boolean => {
    const eth = parseEthernet(f);
    return eth.ok && eth.value.ethertype === 0x88b5;
  };
  const received = records.filter((rec) => !isReply(rec.data));
  const sent = records.filter((rec) => isReply(rec.data));
  assert.ok(received.length >= 41 && sent.length === received.length, `${received.length} received, ${sent.length} sent`);
  // The fragments came in few batches: within one, the stamps are the reads' (microseconds
  // apart), although JavaScript took 15 ms over each frame.
  const first = received[0]!.timeMs;
  const sameBatch = received.filter((rec) => rec.timeMs - first < 10);
  assert.ok(sameBatch.length >= 10, `only ${sameBatch.length} frames stamped within 10 ms of the first: stamped when handled`);
  // Replies leave in one write after their whole batch was handled, and are stamped then: the
  // first frame's reply no earlier than the end of the batch's last frame.
  const batchEnd = handled[sameBatch.length - 1]!;
  assert.ok(sent[0]!.timeMs >= batchEnd, `the first reply is stamped ${(batchEnd - sent[0]!.timeMs).toFixed(3)} ms before it was written`);
});

test('a frame the kernel refuses is counted, not thrown; sends after close are counted', { skip }, async (t) => {
  const r = await rig(t);
  r.link.send(new Uint8Array(10)); // shorter than an Ethernet header: EINVAL
  await new Promise((res) => setImmediate(res));
  assert.equal(r.link.stats.txErrors, 1);
  assert.match(r.link.stats.lastError ?? '', /Invalid argument/);
  r.link.close();
  r.link.send(new Uint8Array(60));
  assert.equal(r.link.stats.txAfterClose, 1);
});

test('the MTU option sets the device MTU and maxFrame; close removes the device', { skip }, async () => {
  const ifname = `tfz${process.pid % 100000}m${tapCounter++}`;
  // Created in this namespace but never brought up: no address, no traffic.
  const link = TapLink.open({ name: ifname, clock: new RealClock(), mtu: 9000 });
  try {
    assert.equal(link.ifname, ifname);
    assert.equal(link.maxFrame, 9014);
    const shown = await run('ip', ['-o', 'link', 'show', 'dev', ifname]);
    assert.match(shown.stdout, /mtu 9000/);
  } finally {
    link.close();
  }
  const gone = await run('ip', ['link', 'show', 'dev', ifname]);
  assert.notEqual(gone.code, 0, 'a non-persistent TAP vanishes with its fd');
});

test('a device deleted under the link reports one error and stops reading', { skip }, async (t) => {
  const errors: string[] = [];
  const r = await rig(t, { onError: (m) => errors.push(m) });
  const del = await r.ns.exec('ip', ['link', 'del', 'dev', r.link.ifname]);
  assert.equal(del.code, 0);
  const deadline = Date.now() + 3000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(errors.length, 1, errors.join('; '));
  assert.match(errors[0]!, new RegExp(`^TAP ${r.link.ifname}: `));
});
