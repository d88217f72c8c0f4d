import { spawn, type ChildProcess } from 'node:child_process';
import { FUZZ } from './cli.js';
import { run, type RunResult } from './env.js';

let counter = 0;

/**
 * A `fuzz serve` child in a named namespace the test can join with `ip netns exec`. `stop()`
 * sends SIGTERM (the serve command closes its pcap and exits; its parent removes the namespace)
 * and waits, bounded.
 */
export class ServeProcess {
  readonly netns: string;
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';

  private constructor(netns: string, child: ChildProcess) {
    this.netns = netns;
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }

  static async start(args: string[], timeoutMs = 20_000): Promise<ServeProcess> {
    const netns = `tcpfuzz-s-${process.pid}-${counter++}`;
    const child = spawn(process.execPath, [FUZZ, 'serve', '--netns', netns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new ServeProcess(netns, child);
    const t0 = Date.now();
    while (!s.stdout.includes('ready:')) {
      if (child.exitCode !== null) throw new Error(`fuzz serve exited ${child.exitCode}: ${s.stderr}`);
      if (Date.now() - t0 > timeoutMs) {
        await s.stop();
        throw new Error(`fuzz serve not ready after ${timeoutMs} ms: ${s.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return s;
  }

  exec(cmd: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.netns, cmd, ...args], opts);
  }

  /** Runs a shell command line inside the namespace. */
  sh(line: string, timeoutMs = 30_000): Promise<RunResult> {
    return this.exec('sh', ['-c', line], { timeoutMs });
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }
}
