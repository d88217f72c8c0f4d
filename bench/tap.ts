import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { macToString } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { setupLab } from '../stack/lab/index.js';
import { iproute, kernelLinkCounters } from '../stack/link/tap.js';
import { benchResult, type BenchResult } from './result.js';

/**
 * Raw frame throughput of the TAP link, kernel → TAP → JavaScript, next to kernel loopback
 * UDP, measured in one run inside one private namespace.
 *
 * The kernel sends UDP to 10.77.0.2, a neighbour that exists only as a static `ip neigh`
 * entry, so every frame goes out of the TAP to our reader and nothing answers. Datagrams of
 * 64000 bytes leave as 44 IP fragments of at most 1500 bytes (1514-byte frames). Baselines:
 * the same datagrams, as many, to a UDP socket on 127.0.0.1 (bytes/s of the kernel's bulk
 * path), and as many 1500-byte IP packets as the TAP got frames, received with node:dgram
 * (packets/s of Node's own per-packet receive path). Every phase is a closed loop in one
 * process (see ClosedLoop). Rates count IP bytes (frame minus Ethernet header; datagram plus
 * IP and UDP headers).
 */

const SELF = fileURLToPath(import.meta.url);
const DATAGRAM = 64_000;
/** 4096 datagrams: 256 MB, 180 224 frames on the TAP. */
const TOTAL_SENDS = 4096;
/** Datagrams in flight: 132 frames on the TAP, 192 KB in the socket buffers. */
const WINDOW = 3;
const STALL_MS = 200;
const PHASE_DEADLINE_MS = 15_000;
const PORT = 9;
const ETHERNET_HEADER = 14;
const IP_UDP_HEADERS = 28;

interface PhaseResult {
  packets: number;
  ipBytes: number;
  seconds: number;
}

interface WorkerResult {
  tap: PhaseResult;
  loopbackBulk: PhaseResult;
  loopbackPackets: PhaseResult;
  tapKernelDrops: number;
  tapBatches: number;
}

export async function benchTap(): Promise<BenchResult[]> {
  const w = await runWorker();
  const rate = (p: PhaseResult): number => p.packets / p.seconds;
  const mbit = (p: PhaseResult): number => (p.ipBytes * 8) / p.seconds / 1e6;
  // The closed loop keeps the TAP's queue short; a drop would mean the numbers include stalls.
  if (w.tapKernelDrops > 0) process.stderr.write(`bench tap: the kernel dropped ${w.tapKernelDrops} frames at the TAP\n`);
  const batches = Math.max(1, w.tapBatches);
  return [
    benchResult('tap.frames_in', rate(w.tap), 'frames/s', 'node:dgram receiving 1500-byte packets on loopback', rate(w.loopbackPackets)),
    benchResult('tap.bulk_in', mbit(w.tap), 'Mbit/s', `kernel loopback UDP, ${DATAGRAM}-byte datagrams`, mbit(w.loopbackBulk)),
    benchResult('tap.frames_per_batch', w.tap.packets / batches, 'frames', 'one read per wake-up', 1),
  ];
}

/** Runs this file as the worker inside a private namespace; its last stdout line is the result. */
function runWorker(): Promise<WorkerResult> {
  return new Promise((done, fail) => {
    const child = spawn('unshare', ['--net', '--', process.execPath, SELF, '--worker'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 4 * PHASE_DEADLINE_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) fail(new Error(`tap bench worker failed (${signal ?? code})`));
      else done(JSON.parse(last) as WorkerResult);
    });
  });
}

/**
 * A closed loop: at most `window` sends are unaccounted for at any time and each arrival tops
 * the window up, so no queue on the way overflows (the TAP holds 1000 frames; socket buffers
 * are capped at 2 × 208 KB without sysctl changes, which we do not make) and the rate is that
 * of the whole path, the sender's kernel work included. A loss would stall the loop; after
 * STALL_MS without an arrival the window is reopened and the loss written off.
 */
class ClosedLoop {
  private sends = 0;
  private packets = 0;
  private ipBytes = 0;
  private lost = 0;
  private start = 0;
  private last = 0;

  constructor(
    private readonly sendOne: () => void,
    private readonly totalSends: number,
    /** Packets one send produces at the receiver (IP fragments on the TAP, 1 on loopback). */
    private readonly packetsPerSend: number,
    private readonly window: number,
  ) {}

  run(): Promise<PhaseResult> {
    this.start = this.last = performance.now();
    return new Promise((finish) => {
      const watchdog = setInterval(() => {
        const now = performance.now();
        if (this.packets >= this.totalSends * this.packetsPerSend - this.lost || now - this.start > PHASE_DEADLINE_MS) {
          clearInterval(watchdog);
          finish({ packets: this.packets, ipBytes: this.ipBytes, seconds: (this.last - this.start) / 1000 });
        } else if (now - this.last > STALL_MS) {
          this.lost = this.sends * this.packetsPerSend - this.packets;
          this.last = now;
          this.topUp();
        }
      }, STALL_MS / 4);
      this.topUp();
    });
  }

  arrived(ipBytes: number): void {
    this.packets++;
    this.ipBytes += ipBytes;
    this.last = performance.now();
    this.topUp();
  }

  private topUp(): void {
    while (this.sends < this.totalSends && this.sends * this.packetsPerSend - this.packets - this.lost < this.window * this.packetsPerSend) {
      this.sends++;
      this.sendOne();
    }
  }
}

async function worker(): Promise<void> {
  const lab = setupLab({ clock: new RealClock() });
  iproute(['neigh', 'add', '10.77.0.2', 'lladdr', macToString(lab.stackMac), 'dev', lab.ifname, 'nud', 'permanent']);
  const bulk = Buffer.alloc(DATAGRAM, 0x5a);
  const out = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => out.bind(0, r));

  const fragmentsPerDatagram = Math.ceil((DATAGRAM + 8) / (1500 - 20));
  const tapLoop = new ClosedLoop(() => out.send(bulk, PORT, '10.77.0.2'), TOTAL_SENDS, fragmentsPerDatagram, WINDOW);
  lab.link.onFrame((f) => tapLoop.arrived(f.length - ETHERNET_HEADER));
  const tap = await tapLoop.run();
  const tapKernelDrops = kernelLinkCounters(lab.ifname).tx.dropped;
  const tapBatches = lab.link.stats.rxBatches;
  lab.close();

  const sink = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => sink.bind(PORT, '127.0.0.1', r));
  let loop = new ClosedLoop(() => out.send(bulk, PORT, '127.0.0.1'), TOTAL_SENDS, 1, WINDOW);
  sink.on('message', (m) => loop.arrived(m.length + IP_UDP_HEADERS));
  const loopbackBulk = await loop.run();
  const packet = Buffer.alloc(1500 - IP_UDP_HEADERS, 0x5a);
  loop = new ClosedLoop(() => out.send(packet, PORT, '127.0.0.1'), tap.packets, 1, WINDOW * fragmentsPerDatagram);
  const loopbackPackets = await loop.run();
  sink.close();
  out.close();

  if (tap.packets === 0 || loopbackBulk.packets === 0 || loopbackPackets.packets === 0) throw new Error('no traffic arrived');
  const result: WorkerResult = { tap, loopbackBulk, loopbackPackets, tapKernelDrops, tapBatches };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Run as a file, this module is the worker that runWorker starts inside the namespace.
if (resolve(process.argv[1] ?? '') === SELF && process.argv[2] === '--worker') await worker();
