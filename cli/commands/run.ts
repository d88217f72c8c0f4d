import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { runWithProgress } from '../progress.js';
import { formatRunSummary } from '../../reports/summary.js';
import { planRunHere, type RunSettings } from '../../harness/index.js';

export const RUN_USAGE = `usage: fuzz run [--target builtin:goodbye] [--bug NAME]... [-n JOBS] [-c CONCURRENCY]
                [--timeout MS] [--seed S] [--link tap|sim] [--faults SPEC] [--out DIR] [options]

Opens JOBS netcat-like connections (CONCURRENCY at a time) to the target, records every frame
to run.pcap, reads the peers' socket states at the end, analyses the capture and prints one
verdict. Exit 0 clean, 1 findings, 2 usage or environment error.

  --target T          builtin:goodbye (default), builtin:echo, builtin:discard, builtin:http
                      (fuzz list), or a kernel-side server in the lab (--link tap; our stack is
                      the client): tcp://10.77.0.1:PORT, or exec:PORT:'COMMAND' (started in the
                      lab, waited for until it listens on PORT, stopped at the end)
                      or somebody else's stack on a TAP of its own: tap:PORT:'COMMAND' (started
                      in the lab with {tap} {ip} {gw} {prefix} filled in and TCPFUZZ_TAP,
                      TCPFUZZ_STACK_IP, TCPFUZZ_KERNEL_IP, TCPFUZZ_PREFIX_LEN set; every frame is
                      relayed through the harness; see docs/foreign-stacks.md)
  --ready-timeout MS  tap: how long the stack may take to open its TAP, answer ARP and accept a
                      connection (default 10 s); past it, one line says why not (exit 2)
  --wrap 'CMD'        tap: run the target under CMD, e.g. 'valgrind --error-exitcode=99'; a
                      non-zero exit when stopped is a target-crashed finding with its report
  --versus T          run the same jobs (seed, workload) against a reference target T too
                      (e.g. exec:7:'socat TCP-LISTEN:7,fork,reuseaddr EXEC:cat' or builtin:echo);
                      the summary names the findings that are the target's alone
  --fuzzer F          netcat (default) or http (default with --spec or builtin:http)
  --spec SPEC         pathoc request spec(s) each HTTP job plays on one connection, in order
                      (repeatable; default get:/); fuzz spec render shows the bytes
  --mutate N          N seeded variants of the specs (offsets for d/i/p, bad CRLFs, huge
                      headers/bodies, odd methods); job i plays variant i mod N
  --read-timeout MS   HTTP: bound on each response (default 5 s)
  --bug NAME          switch on a historic bug profile in the target's stack (repeatable)
  -n, --jobs N        number of jobs (default 128)
  -c, --concurrency C jobs at once (default 128)
  --timeout MS        per-job bound, e.g. 10s (default 10000 ms)
  --connect-timeout MS  connect bound (default min(timeout, 5 s))
  --deadline MS       no job starts after this (default 15 min)
  --linger MS         after the last job, keep capturing while the stack still retransmits,
                      at most this long (default 15 s; 0 stops at once)
  --seed S            seed for everything random (printed; replays the run)
  --link tap|sim      tap: kernel sockets over a TAP device in a private network namespace
                      (needs root; the default when privileged); sim: our client stack on a
                      virtual-clock wire, no privileges, deterministic
  --netns NAME        with tap: use (or create, then remove) the named namespace NAME
  --faults SPEC       inject faults on the target's link, e.g.
                      drop=5%,dup=1%,reorder=2%,corrupt=0.1%,delay=20ms±5ms,rate=2000pps
  --payload P         what each job sends: text with \\n escapes, @FILE, or gen:N bytes
  --no-half-close     do not shutdown(SHUT_WR) after sending (nc without -N)
  --out DIR           where run.pcap, report.json, junit.xml, report.html and trace.log go
                      (default runs/<timestamp>)
  --hang MS, --slow-handshake MS, --storm N   analysis thresholds
  --kernel-ip A, --stack-ip A   lab addresses (default 10.77.0.1 and 10.77.0.2; --stack-ip
                      serves a tap: stack with a fixed address)
  --json              print report.json to stdout instead of the summary
  --log-level L       pino level (default info; debug prints the TCP transition trace)`;

export const RUN_FLAGS = {
  target: { type: 'string' },
  bug: { type: 'string', multiple: true },
  jobs: { type: 'string', short: 'n' },
  concurrency: { type: 'string', short: 'c' },
  timeout: { type: 'string' },
  'connect-timeout': { type: 'string' },
  deadline: { type: 'string' },
  linger: { type: 'string' },
  seed: { type: 'string' },
  link: { type: 'string' },
  netns: { type: 'string' },
  faults: { type: 'string' },
  payload: { type: 'string' },
  'no-half-close': { type: 'boolean' },
  out: { type: 'string' },
  hang: { type: 'string' },
  'slow-handshake': { type: 'string' },
  storm: { type: 'string' },
  'kernel-ip': { type: 'string' },
  'stack-ip': { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  fuzzer: { type: 'string' },
  spec: { type: 'string', multiple: true },
  mutate: { type: 'string' },
  'read-timeout': { type: 'string' },
  'ready-timeout': { type: 'string' },
  wrap: { type: 'string' },
  versus: { type: 'string' },
} as const;

type RunFlagValues = ReturnType<typeof parseFlags<typeof RUN_FLAGS>>['values'];

/** Flag values → settings (names as the plan knows them). */
export function settingsFromFlags(v: RunFlagValues): RunSettings {
  return {
    target: v.target,
    bugs: v.bug,
    jobs: v.jobs,
    concurrency: v.concurrency,
    timeout: v.timeout,
    connectTimeout: v['connect-timeout'],
    deadline: v.deadline,
    linger: v.linger,
    seed: v.seed,
    link: v.link,
    netns: v.netns,
    faults: v.faults,
    payload: v.payload,
    halfClose: v['no-half-close'] ? false : undefined,
    out: v.out,
    hang: v.hang,
    slowHandshake: v['slow-handshake'],
    storm: v.storm,
    kernelIp: v['kernel-ip'],
    stackIp: v['stack-ip'],
    fuzzer: v.fuzzer,
    specs: v.spec,
    mutate: v.mutate,
    readTimeout: v['read-timeout'],
    readyTimeout: v['ready-timeout'],
    wrap: v.wrap,
    versus: v.versus,
  };
}

export const runCommand: Command = {
  usage: RUN_USAGE,
  async run(argv) {
    const { values } = parseFlags(argv, RUN_FLAGS, false);
    const plan = planRunHere(settingsFromFlags(values));
    const report = await runWithProgress(plan, values['log-level'], { json: values.json });
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(formatRunSummary(report, { color: Boolean(process.stdout.isTTY) }) + '\n');
    return report.verdict.exit_code;
  },
};
