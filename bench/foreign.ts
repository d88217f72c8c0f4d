import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, type ClientResult } from './lab.js';
import { benchResult, type BenchResult } from './result.js';
import { Capture } from '../harness/engine.js';
import { probeConnect } from '../harness/target-foreign.js';
import { ipv4ToString } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { createForeignTap, setupLab } from '../stack/lab/index.js';
import { PacketSocketLink } from '../stack/link/packet-socket.js';
import { LinkRelay } from '../stack/link/relay.js';
import { iproute } from '../stack/link/tap.js';
import { startTargetProcess, type TargetProcess } from '../targets/target-process.js';

/**
 * A foreign stack through the relay (`tap:` targets), inside the lab namespace bench/main.ts
 * entered, against the lwIP example (examples/lwip/server, built by `make`):
 *   foreign.goodbye_conns — goodbye connections/s, kernel clients 128 at once, with every frame
 *                           relayed and recorded (the run's path: packet socket ⇄ relay ⇄
 *                           recorder ⇄ lab TAP), vs the same lwIP server attached directly (the
 *                           kernel's address on its own TAP, no relay);
 *   foreign.bulk_in       — 64 MiB from a kernel socket into lwIP's discard, the same two ways.
 * Both setups run in the same namespace in the same run, alternating for ROUNDS rounds; each
 * metric is the best round of its setup (a shared machine's load only ever slows a round down).
 */
const ROUNDS = 3;
const SERVER = fileURLToPath(new URL('../../examples/lwip/server', import.meta.url));
const CONNS = 2048;
const CONCURRENCY = 128;
const BULK_BYTES = 64 * 1024 * 1024;
const GOODBYE_PORT = 79;
const DISCARD_PORT = 9;

interface Measured {
  conns: ClientResult;
  bulk: ClientResult;
}

/** Waits (bounded) until the stack accepts a connection. */
async function ready(host: string, proc: TargetProcess): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (proc.exit()) throw new Error(`the lwIP example exited: ${proc.logTail()}`);
    if ((await probeConnect(host, GOODBYE_PORT, 1000)) === 'connected') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the lwIP example never accepted a connection (is examples/lwip built? make -C examples/lwip)');
}

async function measure(host: string, proc: TargetProcess): Promise<Measured> {
  await ready(host, proc);
  const conns = await client(['conns', host, String(GOODBYE_PORT), String(CONNS), String(CONCURRENCY)]);
  const bulk = await client(['bulk', host, String(DISCARD_PORT), String(BULK_BYTES)]);
  if (conns.failed > 0 || bulk.failed > 0) throw new Error(`lwIP: ${conns.failed} goodbye connections and ${bulk.failed} bulk transfers failed`);
  return { conns, bulk };
}

/** Through the relay, recorded to a pcap as a run records it. */
async function relayed(dir: string): Promise<Measured> {
  const clock = new RealClock();
  const lab = setupLab({ clock });
  const tap = createForeignTap();
  const capture = new Capture({ pcap: join(dir, 'relay.pcap'), trace: undefined }, undefined, lab.stackIp);
  const socket = PacketSocketLink.open({ ifname: tap.ifname, clock });
  const relay = new LinkRelay(socket);
  relay.attach(capture.wrap(lab.link));
  const a = { tap: tap.ifname, ip: ipv4ToString(lab.stackIp), gw: ipv4ToString(lab.kernelIp) };
  const proc = await startTargetProcess(`exec ${SERVER} --tap ${a.tap} --ip ${a.ip} --gw ${a.gw}`, { log: join(dir, 'relayed.log') });
  try {
    return await measure(a.ip, proc);
  } finally {
    await proc.stop();
    relay.close();
    tap.close();
    lab.close();
    capture.close();
  }
}

/** The same server on a TAP that carries the kernel's address itself: no relay, no capture. */
async function direct(dir: string): Promise<Measured> {
  const ifname = 'tcpfuzz-direct';
  iproute(['tuntap', 'add', 'dev', ifname, 'mode', 'tap']);
  try {
    iproute(['addr', 'add', '10.79.0.1/24', 'dev', ifname]);
    iproute(['link', 'set', 'dev', ifname, 'txqueuelen', '10000', 'up']);
    const proc = await startTargetProcess(`exec ${SERVER} --tap ${ifname} --ip 10.79.0.2 --gw 10.79.0.1`, { log: join(dir, 'direct.log') });
    try {
      return await measure('10.79.0.2', proc);
    } finally {
      await proc.stop();
    }
  } finally {
    iproute(['link', 'delete', 'dev', ifname]);
  }
}

export async function benchForeign(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-bench-foreign-'));
  try {
    const viaRelay: Measured[] = [];
    const plain: Measured[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      viaRelay.push(await relayed(dir));
      plain.push(await direct(dir));
    }
    const rate = (ms: Measured[]): number => Math.max(...ms.map((m) => m.conns.ok / m.conns.seconds));
    const mbit = (ms: Measured[]): number => Math.max(...ms.map((m) => (m.bulk.bytes * 8) / m.bulk.seconds / 1e6));
    const baseline = `the same lwIP server attached directly (no relay), best of ${ROUNDS}`;
    return [
      benchResult('foreign.goodbye_conns', rate(viaRelay), 'conn/s', baseline, rate(plain)),
      benchResult('foreign.bulk_in', mbit(viaRelay), 'Mbit/s', baseline, mbit(plain)),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
