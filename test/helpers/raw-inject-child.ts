/**
 * Runs inside a private network namespace (`unshare --net`, started by test/raw-inject.test.ts):
 * builds the lab, serves echo on our stack over the TAP with every frame recorded, opens a kernel
 * client connection to 10.77.0.2:7, and injects RFC 5961 attacks at it from the kernel side with
 * a raw socket, one phase at a time. Prints one JSON summary on stdout: per phase the frame range
 * of the capture it covers, what was observed on the wire, the stack's TCB numbers, the datagram
 * handed to the kernel, the transition lines and counter changes. The test asserts on those and
 * on the pcap itself.
 *
 * Argument: JSON { mode: 'attack', dir } or { mode: 'open' } (only tries to open the injector,
 * for the test that runs this without CAP_NET_RAW).
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ipv4ToString } from '../../stack/addr.js';
import { RealClock } from '../../stack/clock.js';
import { LAB_KERNEL_IP, LAB_PREFIX_LEN, setupLab } from '../../stack/lab/index.js';
import { RecordingLink } from '../../stack/link/recorder.js';
import { parsePcapBuffer } from '../../stack/pcap/reader.js';
import { PcapWriter } from '../../stack/pcap/writer.js';
import { Stack } from '../../stack/stack.js';
import type { Tcb } from '../../stack/tcp/tcb.js';
import { decodeFrame, type Frame } from '../../stack/wire/frame.js';
import { RST, type TcpRepr } from '../../stack/wire/tcp.js';
import { asPeer, blindInWindowRst, dataBeyondSndNxt, exactRst, inWindowSyn, outOfWindowAck } from '../../fuzzers/raw/attacks.js';
import { InjectError, KernelInjector } from '../../fuzzers/raw/kernel-injector.js';
import { observeConnection, type ObservedConnection } from '../../fuzzers/raw/observe.js';
import { echo } from '../../targets/builtin/echo.js';

const args = JSON.parse(process.argv[2]!) as { mode: 'attack'; dir: string } | { mode: 'open' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms for at most `maxMs`; false when it never held. */
async function until(cond: () => boolean, maxMs: number): Promise<boolean> {
  for (let waited = 0; waited < maxMs; waited += 10) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

function failure(e: unknown): { kind: string; message: string } {
  if (!(e instanceof InjectError)) throw e;
  return { kind: e.kind, message: e.message };
}

/** The RFC 5961 §7 limit is one challenge ACK per connection per second: wait it out. */
const RATE_WINDOW_MS = 1100;
/** Time for the stack's answer (and any answer of the kernel's) to cross the TAP. */
const REACTION_MS = 150;

async function attack(dir: string): Promise<Record<string, unknown>> {
  const clock = new RealClock();
  const lab = setupLab({ clock });
  const pcap = join(dir, 'run.pcap');
  const writer = PcapWriter.open(pcap);
  const stack = new Stack({ link: new RecordingLink(lab.link, writer), mac: lab.stackMac, ip: lab.stackIp, prefixLen: lab.prefixLen, clock, seed: 1 });
  echo.serve(stack);
  const injector = KernelInjector.open(lab);
  let client: Socket | undefined;
  try {
    let echoed = '';
    let clientError: string | undefined;
    const c = connect({ host: ipv4ToString(lab.stackIp), port: echo.port });
    client = c;
    c.setEncoding('latin1');
    c.on('data', (d: string) => (echoed += d));
    c.on('error', (e: NodeJS.ErrnoException) => (clientError = e.code));
    if (!(await until(() => c.readyState === 'open', 3000))) throw new Error('the kernel client did not connect');
    const peer = { ip: lab.kernelIp, port: c.localPort! };
    const target = { ip: lab.stackIp, port: echo.port };

    const echoes: Array<{ text: string; ok: boolean }> = [];
    const echoBack = async (text: string): Promise<void> => {
      const from = echoed.length;
      c.write(text);
      echoes.push({ text, ok: await until(() => echoed.length - from >= text.length, 2000) && echoed.slice(from) === text });
    };
    const tcb = (): Tcb | undefined => stack.tcp.connections()[0];
    const numbers = (t: Tcb | undefined) => (t ? { state: t.state.name, rcvNxt: t.rcvNxt, sndNxt: t.sndNxt, sndUna: t.sndUna } : undefined);
    /** Both sides idle: everything we sent is acknowledged and no frame crossed the TAP for 100 ms. */
    const settle = async (): Promise<void> => {
      let frames = -1;
      let quietSince = Date.now();
      await until(() => {
        if (writer.frames !== frames) {
          frames = writer.frames;
          quietSince = Date.now();
        }
        const t = tcb();
        return (t === undefined || t.sndUna === t.sndNxt) && Date.now() - quietSince >= 100;
      }, 3000);
    };
    const observe = (): ObservedConnection => {
      writer.flush();
      const frames: Frame[] = [];
      for (const r of parsePcapBuffer(readFileSync(pcap)).records) {
        const f = decodeFrame(r.data, r.linktype);
        if (f.ok) frames.push(f.value);
      }
      const o = observeConnection(frames, peer, target);
      if (!o) throw new Error('the connection is not in the capture');
      return o;
    };

    const phases: Array<Record<string, unknown>> = [];
    /** Injects the segments one right after the other (well inside one challenge-ACK second). */
    const phase = async (name: string, build: (o: ObservedConnection) => TcpRepr[]): Promise<void> => {
      await settle();
      const observed = observe();
      const before = numbers(tcb());
      const stats = { ...stack.tcp.stats };
      const traceFrom = stack.trace.length;
      const from = writer.frames;
      const sent: string[] = [];
      for (const repr of build(observed)) sent.push(Buffer.from(await injector.sendTcp(asPeer(observed, repr))).toString('hex'));
      const arrived = await until(() => writer.frames >= from + sent.length, 1000);
      await sleep(REACTION_MS);
      phases.push({
        name,
        from,
        to: writer.frames,
        arrived,
        observed,
        before,
        after: numbers(tcb()),
        sent,
        trace: stack.trace.slice(traceFrom).map((r) => r.line),
        challengeAcks: stack.tcp.stats.challengeAcks - stats.challengeAcks,
        challengeAcksLimited: stack.tcp.stats.challengeAcksLimited - stats.challengeAcksLimited,
        resetsReceived: stack.tcp.stats.resetsReceived - stats.resetsReceived,
      });
    };

    await echoBack('hello\n');
    // Two in the same second: the per-connection limit holds the second challenge back.
    await phase('blind-rst', (o) => [blindInWindowRst(o, 1), blindInWindowRst(o, o.rcvWnd - 1)]);
    await echoBack('after blind RSTs\n');
    await sleep(RATE_WINDOW_MS);
    await phase('in-window-syn', (o) => [inWindowSyn(o, Math.floor(o.rcvWnd / 2))]);
    await echoBack('after SYN\n');
    await sleep(RATE_WINDOW_MS);
    await phase('out-of-window-ack', (o) => [outOfWindowAck(o)]);
    await sleep(RATE_WINDOW_MS);
    await phase('data-beyond-snd-nxt', (o) => [dataBeyondSndNxt(o, Buffer.from('INJECTED'))]);
    await echoBack('after data\n');
    await phase('exact-rst', (o) => [exactRst(o)]);

    // The kernel client does not know its peer is gone: its next segment meets no connection.
    await settle();
    const afterResetFrom = writer.frames;
    c.write('after reset\n');
    const clientReset = await until(() => clientError !== undefined, 3000);
    await sleep(REACTION_MS);
    const afterReset = { from: afterResetFrom, to: writer.frames, clientReset, clientError };

    const refusedFrom = writer.frames;
    const refusals: Array<{ kind: string; message: string }> = [];
    const stray = { srcPort: 1, dstPort: 7, seq: 0, ack: 0, flags: RST, window: 0, urgent: 0, options: [], payload: new Uint8Array(0) };
    for (const dst of [0x0a4e0002 /* 10.78.0.2 */, 0x08080808 /* 8.8.8.8 */]) {
      refusals.push(await injector.sendTcp({ src: lab.kernelIp, dst, repr: stray }).then(() => ({ kind: 'sent', message: '' }), failure));
    }
    await sleep(REACTION_MS);
    let noDevice: { kind: string; message: string } | undefined;
    try {
      KernelInjector.open({ ...lab, ifname: 'nosuch0' }).close();
    } catch (e) {
      noDevice = failure(e);
    }
    writer.flush();
    return {
      phases,
      echoes,
      afterReset,
      refusals,
      framesWhileRefusing: writer.frames - refusedFrom,
      noDevice,
      connectionsLeft: stack.tcp.connectionCount,
      echoedText: echoed,
      trace: stack.trace.map((r) => r.line),
    };
  } finally {
    client?.destroy();
    injector.close();
    stack.close();
    lab.close();
    writer.close();
  }
}

let out: Record<string, unknown>;
try {
  if (args.mode === 'open') {
    KernelInjector.open({ ifname: 'lo', kernelIp: LAB_KERNEL_IP, prefixLen: LAB_PREFIX_LEN }).close();
    out = { opened: true };
  } else {
    out = await attack(args.dir);
  }
} catch (e) {
  out = e instanceof InjectError ? { kind: e.kind, message: e.message } : { error: (e as Error).stack };
}
process.stdout.write(JSON.stringify(out) + '\n');
