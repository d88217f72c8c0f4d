import { connect } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Capture, EngineContext, ServedTarget } from './engine.js';
import { jobsInWorker } from './job-worker.js';
import type { RunPlan } from './plan.js';
import type { TargetCrash, TargetHealth } from './raw-run.js';
import type { RelaySection } from '../reports/run-report.js';
import { kernelSockets } from './target-builtin.js';
import { ipv4ToString } from '../stack/addr.js';
import type { Clock } from '../stack/clock.js';
import { createForeignTap, readKernelSockets, type ForeignTap, type Lab } from '../stack/lab/index.js';
import { PacketSocketLink } from '../stack/link/packet-socket.js';
import { RecordingLink } from '../stack/link/recorder.js';
import { LinkRelay } from '../stack/link/relay.js';
import { kernelLinkCounters } from '../stack/link/tap.js';
import { PcapWriter } from '../stack/pcap/writer.js';
import { foreignCommand, foreignEnv, type ForeignAttachment } from '../targets/foreign.js';
import { isReady, notReadyReason, ReadinessWatch, unresponsiveReason, type ConnectOutcome, type ReadinessFacts } from '../targets/foreign-ready.js';
import { TargetStartError } from '../targets/registry.js';
import { exitWords, startTargetProcess, type ProcessExit, type TargetProcess } from '../targets/target-process.js';

/**
 * `tap:PORT:'COMMAND'`: somebody else's stack on a TAP of its own. The harness makes that TAP
 * (no address on its kernel side), starts COMMAND in the lab namespace, and relays every frame
 * between the TAP's kernel side (a packet socket) and the lab's own TAP, which carries the
 * kernel's address: stack ⇄ packet socket ⇄ relay ⇄ faults ⇄ recorder ⇄ lab TAP ⇄ kernel. So
 * the capture, the faults and raw injection from the kernel side are those of a built-in target,
 * with no tcpdump and no second reader on the stack's TAP. The jobs are kernel sockets, and the
 * kernel's socket table shows the client side, as for built-in targets.
 *
 * The readiness probes (carrier, ARP, a TCP connect) and the health probe at the end go through
 * a recorder of their own, probes.pcap, and are never judged. docs/foreign-stacks.md has the
 * design and its measurements.
 */

/** States in which a kernel socket still has a segment to retransmit (RFC 9293 §3.3.2). */
const RETRANSMITTING = new Set(['SYN_SENT', 'FIN_WAIT1', 'CLOSING', 'LAST_ACK']);
/** A readiness or health connect gives up after this long (and is tried again until the bound). */
const CONNECT_TRY_MS = 1_000;
/** How long the health probe at the end may take. */
const HEALTH_TIMEOUT_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * How the process ended, in words; a shell's exit code above 128 is the signal that killed the
 * command it ran (`sh -c` forks it), so that is named too.
 */
function crashWords(exit: ProcessExit): string {
  const code = exit.code ?? 0;
  const signal = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
  return exit.signal === null && code > 128 && signal !== undefined ? `was killed by ${signal} (the shell's exit code ${code})` : exitWords(exit);
}

/** One kernel-socket connect to the stack, reset at once when it succeeds (no TIME_WAIT, nothing left). */
export function probeConnect(host: string, port: number, timeoutMs: number): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('timeout');
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.resetAndDestroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ETIMEDOUT' ? 'timeout' : { error: e.code ?? e.message });
    });
  });
}

/**
 * Waits, bounded by `timeoutMs`, until the device has carrier and a TCP connect to the stack
 * succeeds; the watch has seen every frame the stack sent meanwhile. A refused connect is tried
 * again: a stack may open its device before it listens.
 */
async function awaitReady(tap: ForeignTap, proc: TargetProcess, watch: ReadinessWatch, host: string, port: number, timeoutMs: number): Promise<ReadinessFacts> {
  const f = watch.facts;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exit = proc.exit();
    if (exit) {
      f.exited = exitWords(exit);
      break;
    }
    f.carrier ||= tap.carrier();
    if (!f.carrier) {
      await sleep(20);
      continue;
    }
    f.connect = await probeConnect(host, port, Math.max(10, Math.min(CONNECT_TRY_MS, deadline - Date.now())));
    if (isReady(f)) break;
    if (f.connect === 'refused') await sleep(50);
  }
  return f;
}

/** Waits until the relay has passed nothing for `quietMs` (at most `maxMs`): a probe's last frames are in. */
async function settle(relay: LinkRelay, quietMs: number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  let last = relay.counts.toKernel + relay.counts.toTarget;
  let quietSince = Date.now();
  while (Date.now() < until && Date.now() - quietSince < quietMs) {
    await sleep(10);
    const now = relay.counts.toKernel + relay.counts.toTarget;
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

export async function serveForeignOnTap(plan: RunPlan, ctx: EngineContext, lab: Lab, capture: Capture, clock: Clock): Promise<ServedTarget & { stop(): Promise<void> }> {
  const t = plan.target;
  if (t.kind !== 'foreign') throw new Error(`not a tap: target: ${t.kind}`);
  const host = ipv4ToString(lab.stackIp);
  const tap = createForeignTap();
  const probes = PcapWriter.open(join(plan.outDir, 'probes.pcap'));
  let socket: PacketSocketLink | undefined;
  let relay: LinkRelay | undefined;
  let proc: TargetProcess | undefined;
  // The process first: a stack whose device vanished under it would die of that, not of the run.
  const teardown = async (): Promise<void> => {
    await proc?.stop();
    relay?.close();
    socket?.close();
    tap.close();
    probes.close();
  };
  const attachment: ForeignAttachment = { tap: tap.ifname, stackIp: lab.stackIp, kernelIp: lab.kernelIp, prefixLen: lab.prefixLen };
  const command = foreignCommand(t.foreign, attachment, t.wrap);
  const log = join(plan.outDir, 'target.log');
  try {
    socket = PacketSocketLink.open({ ifname: tap.ifname, clock, onError: (m) => ctx.log.warn(`tap target: ${m}`) });
    relay = new LinkRelay(socket);
    relay.attach(new RecordingLink(lab.link, probes));
    const watch = new ReadinessWatch(lab.stackIp);
    relay.watch((frame) => watch.observe(frame));
    proc = await startTargetProcess(command, { log, env: foreignEnv(attachment), cwd: process.cwd() });
    const started = Date.now();
    const facts = await awaitReady(tap, proc, watch, host, t.port, t.readyTimeoutMs);
    relay.watch(undefined);
    if (!isReady(facts)) {
      const reason = notReadyReason(facts, { tap: tap.ifname, stackIp: lab.stackIp, port: t.port, waitedMs: Date.now() - started });
      const tail = proc.logTail();
      throw new TargetStartError(`tap target '${command}' ${reason}; log ${log}${tail ? `: ${tail}` : ''}`);
    }
    await settle(relay, 50, 500);
  } catch (e) {
    await teardown();
    throw e;
  }
  const running = proc;
  const liveRelay = relay;
  const frameSocket = socket;
  relay.attach(capture.wrap(lab.link));

  // The process is watched for the whole run: an exit of its own is a crash, with its last frame.
  let crash: TargetCrash | undefined;
  void running.exited.then((exit) => {
    if (!exit.beforeStop) return;
    const last = capture.recorder?.lastSent;
    crash = { during: 'run', how: crashWords(exit), atMs: clock.now(), lastFrame: last ? { frame: last.frame, atMs: last.timeMs } : null, log, logTail: running.logTail() };
  });

  const relayTally = (): RelaySection => {
    const a = tap.counters();
    return {
      from_stack: liveRelay.counts.toKernel,
      to_stack: liveRelay.counts.toTarget,
      dropped_towards_stack: a.tx.dropped,
      missed_from_stack: Math.max(0, a.rx.packets - frameSocket.stats.rxFrames),
      dropped_on_lab_tap: kernelLinkCounters(lab.ifname).tx.dropped,
    };
  };

  const finish = async (): Promise<{ health: TargetHealth; relay: RelaySection }> => {
    const health: TargetHealth = {};
    if (!crash) {
      // A fresh connection after the jobs, recorded apart: a stack that stopped answering is a finding.
      liveRelay.attach(new RecordingLink(lab.link, probes));
      const facts = await awaitReady(tap, running, new ReadinessWatch(lab.stackIp), host, t.port, HEALTH_TIMEOUT_MS);
      if (!isReady(facts) && !crash) health.unresponsive = unresponsiveReason(facts, { tap: tap.ifname, stackIp: lab.stackIp, port: t.port, waitedMs: HEALTH_TIMEOUT_MS });
      await settle(liveRelay, 50, 500);
    }
    // Read before the stop: what the kernel sends to a stopped stack is dropped, and is not the run's.
    const relay = relayTally();
    const exit = await running.stop();
    if (!crash && t.wrap !== null && !exit.beforeStop && exit.signal === null && exit.code !== 0) {
      // The checker (--wrap) judged the process at its exit: its verdict is its exit code, its report the log.
      crash = { during: 'exit', how: `${t.wrap} ${exitWords(exit)} when stopped`, atMs: clock.now(), lastFrame: null, log, logTail: running.logTail() };
    }
    if (crash) health.crash = crash;
    return { health, relay };
  };

  return {
    stack: undefined,
    retransmitting: async () =>
      (await readKernelSockets()).some((s) => s.remoteIp === lab.stackIp && s.remotePort === t.port && (RETRANSMITTING.has(s.state) || s.txQueue > 0)),
    jobs: jobsInWorker(plan),
    peerSocketSource: "the kernel's socket table (/proc/net/tcp in the lab namespace)",
    peerSockets: () => kernelSockets(lab, plan.server.port, 'client'),
    finish,
    stop: teardown,
  };
}
