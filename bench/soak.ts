import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../reports/run-report.js';

/**
 * `npm run soak [-- --jobs N] [--concurrency C] [--runs R] [--only NAME,...]`: issue #14's table of
 * healthy targets, each run R times (default 3) at N jobs (default 10,000) and C at once (default
 * 1,000) over the TAP lab, printing the false findings per 10,000 jobs of every run. Every target
 * here is healthy, so a standing finding is false by definition — unless it names a server
 * behaviour the run measured (the listen queue overflowing), which is then listed apart.
 * Findings the run set apart (report.set_apart: the harness fell behind, a job it abandoned) are
 * counted in their own column: they are the harness's, not the target's. Exit 1 when any row has
 * a false finding.
 */
interface Row {
  name: string;
  args: (work: string) => string[];
}

const PY_SERVER = `
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def do_GET(self):
        body = b'hello\\n'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    do_POST = do_GET
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True
S(('10.77.0.1', 8080), H).serve_forever()
`;

const nginxConf = (work: string): string => `daemon off;
worker_processes 1;
error_log stderr error;
pid ${work}/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  server { listen 10.77.0.1:8080 backlog=4096; location / { return 200 "hello\\n"; } }
}
`;

const ROWS: Row[] = [
  { name: 'builtin:goodbye', args: () => ['--target', 'builtin:goodbye'] },
  { name: 'builtin:echo', args: () => ['--target', 'builtin:echo'] },
  { name: 'builtin:discard', args: () => ['--target', 'builtin:discard'] },
  { name: 'builtin:http close', args: () => ['--target', 'builtin:http', '--spec', 'get:/:h"Connection"="close"'] },
  { name: 'builtin:http pipelined', args: () => ['--target', 'builtin:http', '--spec', 'get:/', '--spec', 'post:/:b@1000', '--spec', 'get:/:h"Connection"="close"'] },
  { name: 'socat echo', args: () => ['--target', "exec:8080:'socat TCP-LISTEN:8080,fork,reuseaddr,backlog=4096 EXEC:cat'"] },
  { name: 'socat hello', args: () => ['--target', `exec:8080:'socat TCP-LISTEN:8080,fork,reuseaddr,backlog=4096 SYSTEM:"echo hello"'`] },
  { name: 'python mutate', args: (w) => ['--target', `exec:8080:'python3 ${w}/server.py'`, '--spec', 'get:/', '--spec', 'post:/:b@100', '--mutate', '20'] },
  { name: 'nginx mutate', args: (w) => ['--target', `exec:8080:'nginx -c ${w}/nginx.conf'`, '--spec', 'get:/', '--spec', 'post:/:b@100', '--mutate', '20'] },
];

/** Findings that name a server behaviour the run measured: true, at their own severity. */
const SERVER_BEHAVIOURS = new Set(['listen-queue-overflow']);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function main(): number {
  const jobs = Number(flag('jobs', '10000'));
  const concurrency = Number(flag('concurrency', '1000'));
  const runs = Number(flag('runs', '3'));
  const only = flag('only', '').split(',').filter(Boolean);
  const rows = ROWS.filter((r) => only.length === 0 || only.includes(r.name));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = mkdtempSync(join(tmpdir(), 'tcpfuzz-soak-'));
  writeFileSync(join(work, 'server.py'), PY_SERVER);
  writeFileSync(join(work, 'nginx.conf'), nginxConf(work));
  for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) mkdirSync(join(work, d));
  let falseTotal = 0;
  process.stdout.write(`soak: ${jobs} jobs at ${concurrency} at once, ${runs} run(s) per target; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`${'target'.padEnd(24)} run  exit  false/10k  set apart/10k  server behaviours  findings\n`);
  try {
    for (const row of rows) {
      for (let k = 1; k <= runs; k++) {
        const out = join(work, `${row.name.replace(/\W+/g, '-')}-${k}`);
        const args = ['dist/cli/main.js', 'run', ...row.args(work), '-n', String(jobs), '-c', String(concurrency), '--seed', String(20 + k), '--link', 'tap', '--out', out];
        // Bounded: a run that does not finish in 15 minutes is killed and counted as a failure.
        const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 << 20 });
        let line: string;
        try {
          const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
          const wrong = report.findings.filter((f) => !SERVER_BEHAVIOURS.has(f.kind));
          const server = report.findings.filter((f) => SERVER_BEHAVIOURS.has(f.kind));
          const n = wrong.reduce((s, f) => s + f.connections, 0);
          const apart = report.set_apart.reduce((s, a) => s + a.findings.reduce((t, f) => t + f.connections, 0), 0);
          const per10k = (x: number): string => ((x * 10_000) / jobs).toFixed(1);
          falseTotal += n + (r.status !== 0 && r.status !== 1 ? 1 : 0);
          const names = [...wrong, ...server].map((f) => `${f.kind}:${f.culprit}×${f.connections}`).join(' ') || '-';
          line = `${row.name.padEnd(24)} ${String(k).padStart(3)}  ${String(r.status).padStart(4)}  ${per10k(n).padStart(9)}  ${per10k(apart).padStart(13)}  ${String(server.length).padStart(17)}  ${names}${report.run?.harness?.overloaded ? `  [${report.run.harness.summary}]` : ''}`;
        } catch {
          falseTotal++;
          line = `${row.name.padEnd(24)} ${String(k).padStart(3)}  ${String(r.status).padStart(4)}  no report: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`;
        }
        process.stdout.write(line + '\n');
      }
    }
  } finally {
    // A run with a false finding keeps its folder (pcap, report.json) for a look frame by frame.
    if (falseTotal === 0) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`runs kept in ${work}\n`);
  }
  process.stdout.write(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  return falseTotal > 0 ? 1 : 0;
}

process.exitCode = main();
