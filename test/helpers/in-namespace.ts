import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kernelSkipReason, run } from './env.js';

/** Set in the child that runs one test of a file inside a private namespace. */
const CHILD_ENV = 'TCPFUZZ_IN_NAMESPACE';
/** The child's Node start and the test itself; the longest waits a few seconds. */
const CHILD_TIMEOUT_MS = 60_000;

export type NamespaceTestFn = () => Promise<void>;

/**
 * Tests of one file that run inside a fresh network namespace each. The parent registers
 * `name` and runs it by starting this same file again as a child under `unshare --net` with
 * only that test selected (the namespace, its TAP devices and addresses vanish when the child
 * exits, however it exits); in the child the test body runs. Skips with the reason when root,
 * /dev/net/tun or unshare is missing.
 */
export function namespaceTests(moduleUrl: string): (name: string, fn: NamespaceTestFn) => void {
  const file = fileURLToPath(moduleUrl);
  if (process.env[CHILD_ENV] === '1') return (name, fn) => void test(name, fn);
  return (name) => void test(name, { skip: kernelSkipReason('unshare'), timeout: CHILD_TIMEOUT_MS + 5000 }, () => runChild(file, name));
}

/** True in the child, where the namespace's tests run (plain tests of the file should not register there). */
export function inNamespaceChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

async function runChild(file: string, name: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: '1' };
  // The child is a test run of its own, not one of the parent runner's file processes.
  delete env.NODE_TEST_CONTEXT;
  const pattern = `^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`;
  const r = await run('unshare', ['--net', '--', process.execPath, '--test-reporter=tap', `--test-name-pattern=${pattern}`, file], { env, timeoutMs: CHILD_TIMEOUT_MS });
  const ran = /^# pass 1$/m.test(r.stdout) && /^# fail 0$/m.test(r.stdout);
  if (r.code !== 0 || !ran) throw new Error(`'${name}' failed in its namespace (exit ${r.code}):\n${failureOf(r.stdout)}${r.stderr}`);
}

/** The child's TAP report from its first failing test on (the skipped ones say nothing). */
function failureOf(tap: string): string {
  const at = tap.search(/^not ok /m);
  return at < 0 ? tap : tap.slice(at);
}
