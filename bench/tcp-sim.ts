import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import type { Writable } from 'node:stream';
import { VirtualClock } from '../stack/clock.js';
import { createSimWire } from '../stack/link/sim.js';
import { runSim } from '../stack/sim-driver.js';
import { Stack } from '../stack/stack.js';
import type { TcpConfig } from '../stack/tcp/config.js';
import { benchResult, type BenchResult } from './result.js';

const CLIENT_IP = 0x0a4d0001;
const SERVER_IP = 0x0a4d0002;
const REQUEST = Buffer.from('GET / HTTP/1.0\r\n\r\n');
const RESPONSE = Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
const BASELINE = 'node:net over loopback (kernel TCP, same work)';

function simPair(tcp: Partial<TcpConfig>): { clock: VirtualClock; client: Stack; server: Stack } {
  const clock = new VirtualClock(0);
  const [a, b] = createSimWire(clock, { latencyMs: 0.05 });
  const opts = { clock, traceLimit: 0, tcp };
  const client = new Stack({ link: a, mac: 0x020000000001, ip: CLIENT_IP, seed: 1, ...opts });
  const server = new Stack({ link: b, mac: 0x020000000002, ip: SERVER_IP, seed: 2, ...opts });
  return { clock, client, server };
}


/** `n` connections (open, request, response, close), `concurrency` at a time, on the sim wire. */
async function simConnections(n: number, concurrency: number): Promise<number> {
  const { clock, client, server } = simPair({ msl: 1 });
  server.listen(
    80,
    (s) => {
      s.once('data', () => s.end(RESPONSE));
      s.resume();
    },
    { backlog: 4 * concurrency },
  );
  let done = 0;
  let started = 0;
  const start = (): void => {
    started++;
    const sock = client.connect(SERVER_IP, 80);
    sock.on('data', () => undefined);
    sock.on('close', () => {
      done++;
      if (started < n) start();
    });
    sock.end(REQUEST);
  };
  // One connection first resolves ARP both ways (the interface queues one packet per
  // unresolved address, so a cold burst would mostly wait for SYN retransmissions).
  start();
  await runSim(clock, { until: () => done === 1, maxSteps: 10_000 });
  const t0 = performance.now();
  for (let i = 1; i < Math.min(concurrency, n); i++) start();
  await runSim(clock, { until: () => done === n, maxSteps: 10_000_000 });
  const secs = (performance.now() - t0) / 1000;
  if (done !== n) throw new Error(`sim connections: ${done} of ${n} completed`);
  return n / secs;
}

/** Writes `bytes` in 64 KiB chunks, honouring back-pressure, then ends the stream. */
function writeAll(sock: Writable, bytes: number): void {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let written = 0;
  const pump = (): void => {
    while (written < bytes) {
      written += chunk.length;
      if (!sock.write(chunk)) {
        sock.once('drain', pump);
        return;
      }
    }
    sock.end();
  };
  pump();
}

/** One connection moving `bytes` one way on the sim wire; MB/s (10^6 bytes). */
async function simBulk(bytes: number): Promise<number> {
  const { clock, client, server } = simPair({ sendBuffer: 1 << 20, receiveBuffer: 1 << 20, delayedAckMs: 40 });
  let received = 0;
  server.listen(80, (s) => s.on('data', (d: Buffer) => (received += d.length)));
  const sock = client.connect(SERVER_IP, 80);
  await runSim(clock, { until: () => sock.state === 'Established', maxSteps: 10_000 });
  const t0 = performance.now();
  writeAll(sock, bytes);
  await runSim(clock, { until: () => received >= bytes, maxSteps: 10_000_000 });
  const secs = (performance.now() - t0) / 1000;
  if (received < bytes) throw new Error(`sim bulk: ${received} of ${bytes} bytes`);
  return bytes / 1e6 / secs;
}

function listenLoopback(onSocket: Parameters<typeof createServer>[1]): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer({ allowHalfOpen: true }, onSocket);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

async function kernelConnections(n: number, concurrency: number): Promise<number> {
  const srv = await listenLoopback((s) => {
    s.once('data', () => s.end(RESPONSE));
  });
  const port = (srv.address() as AddressInfo).port;
  let done = 0;
  let started = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const start = (): void => {
      started++;
      const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      c.on('error', reject);
      c.on('data', () => undefined);
      c.on('close', () => {
        if (++done === n) resolve();
        else if (started < n) start();
      });
      c.end(REQUEST);
    };
    for (let i = 0; i < Math.min(concurrency, n); i++) start();
  });
  const secs = (performance.now() - t0) / 1000;
  await new Promise((r) => srv.close(r));
  return n / secs;
}

async function kernelBulk(bytes: number): Promise<number> {
  let received = 0;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((r) => (finished = r));
  const srv = await listenLoopback((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= bytes) finished();
    });
    s.on('end', () => s.end());
  });
  const port = (srv.address() as AddressInfo).port;
  const t0 = performance.now();
  writeAll(connect({ host: '127.0.0.1', port }), bytes);
  await all;
  const secs = (performance.now() - t0) / 1000;
  await new Promise((r) => srv.close(r));
  return bytes / 1e6 / secs;
}

/**
 * The userspace stack on the sim wire (one process, one core, virtual clock) against the
 * kernel's TCP over loopback doing the same work in the same run.
 */
export async function benchTcpSim(): Promise<BenchResult[]> {
  await simConnections(2000, 200); // warm-up (JIT)
  const simConns = await simConnections(20_000, 1000);
  const kernelConns = await kernelConnections(5000, 100);
  await simBulk(8 << 20);
  const simMbps = await simBulk(128 << 20);
  const kernelMbps = await kernelBulk(512 << 20);
  return [
    benchResult('tcp.sim.connections', Math.round(simConns), 'conn/s', BASELINE, Math.round(kernelConns)),
    benchResult('tcp.sim.bulk', Math.round(simMbps), 'MB/s', BASELINE, Math.round(kernelMbps)),
  ];
}
