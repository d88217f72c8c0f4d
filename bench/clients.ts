import { connect } from 'node:net';

/**
 * Kernel-socket load generators run as a separate process (so the load does not share the
 * event loop of the stack under test):
 *   node clients.js bulk HOST PORT BYTES          — one connection, write BYTES, half-close, wait for EOF
 *   node clients.js conns HOST PORT TOTAL CONC    — TOTAL connections, CONC at once: send "hi mom\n",
 *                                                   half-close, read to EOF
 * Prints one JSON line: {"seconds":…,"ok":…,"failed":…,"bytes":…}. Every wait is bounded.
 */
const DEADLINE_MS = 120_000;

function bulk(host: string, port: number, bytes: number): Promise<object> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = connect({ host, port, allowHalfOpen: true });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    sock.on('connect', pump);
    sock.resume();
    const timer = setTimeout(() => sock.destroy(new Error('deadline')), DEADLINE_MS);
    sock.on('close', (hadError) => {
      clearTimeout(timer);
      resolve({ seconds: (performance.now() - t0) / 1000, ok: hadError ? 0 : 1, failed: hadError ? 1 : 0, bytes: sent });
    });
    sock.on('error', () => undefined);
  });
}

function one(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), 10_000);
    sock.on('connect', () => sock.end('hi mom\n'));
    sock.resume();
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function conns(host: string, port: number, total: number, conc: number): Promise<object> {
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() - t0 < DEADLINE_MS) {
      next++;
      if (await one(host, port)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  return { seconds: (performance.now() - t0) / 1000, ok, failed, bytes: 0 };
}

const [mode, host, port, a, b] = process.argv.slice(2);
const run = mode === 'bulk' ? bulk(host!, Number(port), Number(a)) : conns(host!, Number(port), Number(a), Number(b));
run.then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
});
