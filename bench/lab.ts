import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { benchResult, type BenchResult } from './result.js';
import { ipv4ToString } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { setupLab } from '../stack/lab/index.js';
import { Stack } from '../stack/stack.js';
import { discard } from '../targets/builtin/discard.js';
import { goodbye, GOODBYE_MESSAGE } from '../targets/builtin/goodbye.js';

/**
 * TCP through our stack over the TAP, next to the kernel doing the same work, in one run in
 * one namespace (bench/main.ts has entered it):
 *   lab.bulk_in        — 256 MiB from a kernel socket into `discard` on our stack, vs the same
 *                        into a node:net discard server over kernel loopback;
 *   lab.goodbye_conns  — goodbye connections/s, kernel clients 128 at a time, vs the same
 *                        service as a node:net server in the same namespace.
 * The load runs in a child process so it does not share the stack's event loop.
 */
const CLIENTS = fileURLToPath(new URL('./clients.js', import.meta.url));
const BULK_BYTES = 256 * 1024 * 1024;
const CONNS = 4096;
const CONCURRENCY = 128;

export interface ClientResult {
  seconds: number;
  ok: number;
  failed: number;
  bytes: number;
}

export function client(args: string[]): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENTS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`bench client ${args.join(' ')} exited ${code}`));
      else resolve(JSON.parse(out) as ClientResult);
    });
  });
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
}

export async function benchLab(): Promise<BenchResult[]> {
  const clock = new RealClock();
  const lab = setupLab({ clock });
  const stack = new Stack({ link: lab.link, mac: lab.stackMac, ip: lab.stackIp, prefixLen: lab.prefixLen, clock, traceLimit: 0 });
  discard.serve(stack);
  goodbye.serve(stack);
  const stackIp = ipv4ToString(lab.stackIp);
  try {
    const ours = await client(['bulk', stackIp, String(discard.port), String(BULK_BYTES)]);
    const sink = createServer({ allowHalfOpen: true }, (s) => {
      s.resume();
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    const sinkPort = await listen(sink, '127.0.0.1');
    const kernel = await client(['bulk', '127.0.0.1', String(sinkPort), String(BULK_BYTES)]);
    sink.close();

    const oursConns = await client(['conns', stackIp, String(goodbye.port), String(CONNS), String(CONCURRENCY)]);
    const bye = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.resume();
      s.end(GOODBYE_MESSAGE);
    });
    const byePort = await listen(bye, ipv4ToString(lab.kernelIp));
    const kernelConns = await client(['conns', ipv4ToString(lab.kernelIp), String(byePort), String(CONNS), String(CONCURRENCY)]);
    bye.close();
    if (ours.failed + kernel.failed > 0) throw new Error('a bulk transfer failed');
    if (oursConns.failed > 0 || kernelConns.failed > 0) throw new Error(`goodbye connections failed: ${oursConns.failed} over TAP, ${kernelConns.failed} node:net`);
    const mbit = (r: ClientResult): number => (r.bytes * 8) / r.seconds / 1e6;
    return [
      benchResult('lab.bulk_in', mbit(ours), 'Mbit/s', 'kernel loopback (node:net discard)', mbit(kernel)),
      benchResult('lab.goodbye_conns', oursConns.ok / oursConns.seconds, 'conn/s', 'node:net goodbye server, same namespace', kernelConns.ok / kernelConns.seconds),
    ];
  } finally {
    stack.close();
    lab.close();
  }
}
