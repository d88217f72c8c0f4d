/**
 * Runs inside a test's network namespace (`ip netns exec`): builds the lab (TAP, 10.77.0.1 on
 * the kernel side), starts nginx as an exec target there, plays HTTP jobs from our stack over
 * the TAP against it, serves builtin:http on the same stack for curl, and prints one JSON
 * summary on stdout. It is what a kernel-target run does, without the CLI around it.
 * Argument: JSON { target, dir }.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ipv4ToString } from '../../stack/addr.js';
import { RealClock } from '../../stack/clock.js';
import { setupLab } from '../../stack/lab/index.js';
import { Rng } from '../../stack/rng.js';
import { Stack } from '../../stack/stack.js';
import { runScheduled } from '../../fuzzers/scheduler.js';
import { runHttpJob, type HttpJobResult } from '../../fuzzers/http/job.js';
import { parseRequests } from '../../fuzzers/http/spec/index.js';
import type { Dialer } from '../../fuzzers/netcat/job.js';
import { parseKernelTarget, startExecTarget } from '../../targets/kernel.js';
import { http } from '../../targets/builtin/http.js';

const { target, dir } = JSON.parse(process.argv[2]!) as { target: string; dir: string };
const clock = new RealClock();
const lab = setupLab({ clock });
const stack = new Stack({ link: lab.link, mac: lab.stackMac, ip: lab.stackIp, prefixLen: lab.prefixLen, clock, seed: 1, traceLimit: 0 });
const dialer: Dialer = { clock, dial: (_host, port) => stack.connect(lab.kernelIp, port) };
const kernelIp = lab.kernelIp;
const out: Record<string, unknown> = {};

function summary(results: HttpJobResult[]) {
  const count = (xs: Array<string | number | undefined>) => {
    const h: Record<string, number> = {};
    for (const x of xs) h[String(x)] = (h[String(x)] ?? 0) + 1;
    return h;
  };
  const reqs = results.flatMap((r) => r.http.requests);
  return {
    outcomes: count(results.map((r) => r.outcome)),
    statuses: count(reqs.map((q) => q.status)),
    errors: [...new Set(reqs.map((q) => q.error).filter((e) => e !== undefined))],
    malformed: reqs.filter((q) => q.malformed !== undefined).length,
    requests: reqs.length,
    connections: new Set(results.map((r) => r.localPort)).size,
    durationsMs: results.map((r) => Math.round(r.endedAt - r.startedAt)),
  };
}

async function play(spec: string, port: number, n: number, concurrency: number) {
  const all = await runScheduled(
    n,
    (id) =>
      runHttpJob(dialer, {
        id,
        host: ipv4ToString(kernelIp),
        port,
        requests: parseRequests(spec),
        rng: new Rng(id),
        timeoutMs: 60_000,
        connectTimeoutMs: 5_000,
        readTimeoutMs: 10_000,
      }),
    { concurrency },
  );
  return summary(all.map((r) => r!));
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'started',
    (e: Error) => e.message,
  );

try {
  const log = join(dir, 'target.log');
  out.localhostOnly = await failure(
    startExecTarget('exec socat TCP-LISTEN:8081,bind=127.0.0.1,reuseaddr,fork SYSTEM:true', 8081, { log, kernelIp, readyTimeoutMs: 3000 }),
  );
  out.exitsEarly = await failure(startExecTarget('echo boom; exit 3', 8082, { log, kernelIp }));
  out.neverListens = await failure(startExecTarget('sleep 30', 8083, { log, kernelIp, readyTimeoutMs: 500 }));

  const parsed = parseKernelTarget(target, kernelIp);
  if (parsed?.kind !== 'exec') throw new Error(`not an exec target: ${target}`);
  const started = Date.now();
  const nginx = await startExecTarget(parsed.command, parsed.port, { log, kernelIp, cwd: dir });
  out.readyMs = Date.now() - started;
  out.single = await play('get:/', parsed.port, 200, 50);
  out.persistent = await play('get:/:x100', parsed.port, 5, 5);
  out.closeRequested = await play("get:/:h'Connection'='close'", parsed.port, 50, 50);
  out.disconnect = await play('get:/:d15', parsed.port, 20, 20);
  out.stalled = await play('get:/:p10,30', parsed.port, 1, 1);
  out.resetsReceived = stack.tcp.stats.resetsReceived;
  out.resetsSent = stack.tcp.stats.resetsSent;
  out.exit = await nginx.stop();
  out.pidGone = !existsSync(`/proc/${nginx.pid}`);

  http.serve(stack);
  out.curl = await new Promise((resolve) =>
    execFile('curl', ['-sS', '--max-time', '10', 'http://10.77.0.2/p/200:b"hi"'], (err, stdout, stderr) => resolve(err ? `curl failed: ${stderr}` : stdout)),
  );
} catch (e) {
  out.error = (e as Error).stack;
} finally {
  stack.close();
  lab.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
