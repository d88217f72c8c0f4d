import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_KERNEL_IP, LAB_STACK_IP } from '../stack/lab/index.js';
import { parsePcapBuffer } from '../stack/pcap/reader.js';
import { decodeFrame, type Frame } from '../stack/wire/frame.js';
import { ACK, PSH, RST, SYN } from '../stack/wire/tcp.js';
import { TOO_OLD_ACK_DISTANCE } from '../fuzzers/raw/attacks.js';
import type { ObservedConnection } from '../fuzzers/raw/observe.js';
import { kernelSkipReason, run } from './helpers/env.js';

/**
 * RFC 5961 attacks from the kernel side of the lab: a raw socket in the lab namespace sends
 * crafted segments through the kernel's IP output and the TAP at a live connection between a
 * kernel client (node:net) and our stack's echo service. The child (helpers/raw-inject-child.ts)
 * runs it all in a private namespace and reports; here we check its report against the pcap.
 */
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'raw-inject-child.js');

interface Numbers {
  state: string;
  rcvNxt: number;
  sndNxt: number;
  sndUna: number;
}
interface Phase {
  name: string;
  from: number;
  to: number;
  arrived: boolean;
  observed: ObservedConnection;
  before: Numbers;
  after?: Numbers;
  /** The datagrams handed to the kernel, in order (hex). */
  sent: string[];
  trace: string[];
  challengeAcks: number;
  challengeAcksLimited: number;
  resetsReceived: number;
}

interface Injected {
  flags: number;
  seq: (o: ObservedConnection) => number;
  ack?: (o: ObservedConnection) => number;
  payload?: string;
}

/**
 * What each phase put on the wire, and what a correct stack does about it: one challenge ACK
 * per phase (RFC 5961 §7: at most one per connection per second; the phases are more than a
 * second apart, and the second RST of the first phase is held back), or the reset.
 */
const EXPECTED: Record<string, { injected: Injected[]; reaction: 'challenge-ack' | 'reset' }> = {
  // RFC 5961 §3.2: in the window, not RCV.NXT — twice within a second.
  'blind-rst': {
    injected: [
      { flags: RST, seq: (o) => o.rcvNxt + 1 },
      { flags: RST, seq: (o) => o.rcvNxt + o.rcvWnd - 1 },
    ],
    reaction: 'challenge-ack',
  },
  // §4.2: any SYN in a synchronized state.
  'in-window-syn': { injected: [{ flags: SYN, seq: (o) => o.rcvNxt + Math.floor(o.rcvWnd / 2) }], reaction: 'challenge-ack' },
  // §5.2: SEG.ACK below SND.UNA − MAX.SND.WND.
  'out-of-window-ack': { injected: [{ flags: ACK, seq: (o) => o.rcvNxt, ack: (o) => o.sndUna - TOO_OLD_ACK_DISTANCE }], reaction: 'challenge-ack' },
  // §5.2: SEG.ACK above SND.NXT, with data that must not be delivered.
  'data-beyond-snd-nxt': { injected: [{ flags: ACK | PSH, seq: (o) => o.rcvNxt, ack: (o) => o.sndNxt + 1, payload: 'INJECTED' }], reaction: 'challenge-ack' },
  // §3.2: exactly RCV.NXT.
  'exact-rst': { injected: [{ flags: RST, seq: (o) => o.rcvNxt }], reaction: 'reset' },
};

const u32 = (n: number): number => n >>> 0;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

test('RFC 5961 from the kernel side: blind RST, SYN and bad ACKs draw challenge ACKs (1/s), the exact RST resets', { skip: kernelSkipReason('unshare'), timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-raw-'));
  try {
    const r = await run('unshare', ['--net', '--', process.execPath, CHILD, JSON.stringify({ mode: 'attack', dir })], { timeoutMs: 50_000 });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(out.error, undefined, out.error);
    assert.equal(out.kind, undefined, out.message);

    const records = parsePcapBuffer(readFileSync(join(dir, 'run.pcap'))).records;
    const frames: Frame[] = records.map((rec) => {
      const f = decodeFrame(rec.data, rec.linktype);
      assert.ok(f.ok, `frame ${rec.index} does not decode`);
      return f.value;
    });
    /** Indexes of the frames in [from, to) sent from `ip`; their TCP segments. */
    const indexesFrom = (ip: number, from: number, to: number) => frames.flatMap((f, i) => (i >= from && i < to && f.ipv4?.src === ip ? [i] : []));
    const tcpFrom = (ip: number, from: number, to: number) => indexesFrom(ip, from, to).flatMap((i) => (frames[i]!.tcp ? [frames[i]!.tcp!] : []));

    const phases = out.phases as Phase[];
    assert.deepEqual(phases.map((p) => p.name), Object.keys(EXPECTED));
    for (const p of phases) {
      const want = EXPECTED[p.name]!;
      const o = p.observed;
      // What the capture showed equals what the stack's TCB holds.
      assert.deepEqual({ rcvNxt: o.rcvNxt, sndNxt: o.sndNxt, sndUna: o.sndUna }, { rcvNxt: p.before.rcvNxt, sndNxt: p.before.sndNxt, sndUna: p.before.sndUna }, p.name);
      assert.equal(p.before.state, 'Established', p.name);
      assert.ok(o.timestamps, `${p.name}: both sides use timestamps, so the injection carries them`);

      // The phase's frames from the kernel side are the injections, byte for byte the datagrams
      // we built (the kernel's raw IP output changed nothing on the way to the TAP), and then
      // nothing: the kernel's socket sees a challenge ACK as a duplicate ACK of numbers it
      // already has (SEQ = its RCV.NXT, ACK = its SND.NXT, a valid TSecr), so it has nothing to
      // answer, and nothing else of the kernel's is due while the connection is idle.
      assert.ok(p.arrived, `${p.name}: the injected segments never crossed the TAP`);
      const fromKernel = indexesFrom(LAB_KERNEL_IP, p.from, p.to);
      assert.deepEqual(fromKernel.map((i) => hex(frames[i]!.eth!.payload)), p.sent, `${p.name}: the kernel sent more than the injections`);
      assert.equal(p.sent.length, want.injected.length, p.name);
      want.injected.forEach((w, k) => {
        const f = frames[fromKernel[k]!]!;
        assert.deepEqual([f.ipv4!.dst, f.ipv4!.ttl], [LAB_STACK_IP, 64], p.name);
        const seg = f.tcp!;
        assert.deepEqual([seg.srcPort, seg.dstPort, seg.flags, seg.seq], [o.peer.port, 7, w.flags, u32(w.seq(o))], p.name);
        if (w.ack) assert.equal(seg.ack, u32(w.ack(o)), p.name);
        assert.equal(text(seg.payload), w.payload ?? '', p.name);
      });

      const stackSent = tcpFrom(LAB_STACK_IP, p.from, p.to);
      switch (want.reaction) {
        case 'challenge-ack':
          // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and nothing changed in the connection.
          assert.deepEqual(
            stackSent.map((s) => [s.flags, s.seq, s.ack, s.payload.length]),
            [[ACK, p.before.sndNxt, p.before.rcvNxt, 0]],
            p.name,
          );
          assert.deepEqual([p.challengeAcks, p.challengeAcksLimited], [1, want.injected.length - 1], p.name);
          assert.deepEqual(p.after, p.before, p.name);
          assert.deepEqual(p.trace, [], p.name);
          break;
        case 'reset':
          // The connection is gone without a word on the wire (an RST is never answered).
          assert.deepEqual(stackSent, [], p.name);
          assert.equal(p.resetsReceived, 1, p.name);
          assert.equal(p.after, undefined, p.name);
          assert.deepEqual(p.trace, ['{ Established }  - Recv_rst ->  { Closed }'], p.name);
          break;
      }
    }

    // Between the attacks the connection kept echoing, and the injected bytes never reached
    // the application: nothing our stack sent carries them.
    assert.deepEqual(
      out.echoes.map((e: { ok: boolean }) => e.ok),
      [true, true, true, true],
    );
    assert.equal(out.echoedText, 'hello\nafter blind RSTs\nafter SYN\nafter data\n');
    for (const s of tcpFrom(LAB_STACK_IP, 0, frames.length)) assert.ok(!text(s.payload).includes('INJECTED'));

    // After the exact RST the kernel client still thinks it is connected. Its next segment
    // meets no connection and draws <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1), which the
    // kernel accepts (SEQ is exactly its RCV.NXT): ECONNRESET.
    const ar = out.afterReset;
    assert.equal(ar.clientError, 'ECONNRESET');
    const data = tcpFrom(LAB_KERNEL_IP, ar.from, ar.to);
    assert.equal(text(data[0]!.payload), 'after reset\n');
    assert.deepEqual(
      tcpFrom(LAB_STACK_IP, ar.from, ar.to).map((s) => [s.flags, s.seq]),
      [[RST, data[0]!.ack]],
    );

    // The whole connection's trace: the handshake and the one reset, nothing from the attacks.
    assert.deepEqual(
      out.trace.map((l: string) => l.replace(/\d+/g, 'N')),
      [
        '{ Closed }  - Passive_open ->  { Listen }',
        '{ Listen }  - Send_synack N ->  { Syn_rcvd N }',
        '{ Syn_rcvd N }  - Recv_ack N ->  { Established }',
        '{ Established }  - Recv_rst ->  { Closed }',
      ],
    );
    assert.equal(out.connectionsLeft, 0);

    // The injector's guards: destinations outside the lab prefix are refused before anything
    // is sent, and outside the lab's device there is nothing to bind to. One line each.
    assert.deepEqual(out.refusals, [
      { kind: 'not-in-lab', message: "refusing to inject toward 10.78.0.2: outside the lab's 10.77.0.0/24" },
      { kind: 'not-in-lab', message: "refusing to inject toward 8.8.8.8: outside the lab's 10.77.0.0/24" },
    ]);
    assert.equal(out.framesWhileRefusing, 0);
    assert.deepEqual(out.noDevice, { kind: 'unavailable', message: 'cannot bind the raw socket to nosuch0: No such device (injection runs inside the lab namespace)' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without CAP_NET_RAW the injector does not open: one line naming the capability', { skip: kernelSkipReason('unshare', 'setpriv') }, async () => {
  const r = await run('unshare', ['--net', '--', 'setpriv', '--bounding-set', '-net_raw', '--', process.execPath, CHILD, JSON.stringify({ mode: 'open' })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { kind: 'no-privilege', message: 'kernel-side injection needs a raw socket, which needs CAP_NET_RAW (run as root)' });
});
