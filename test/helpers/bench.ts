import { test } from 'node:test';
import { simBench, tapBench, type Bench, type BenchStackOptions, type Received } from '../../fuzzers/raw/testbench/index.js';
import { ACK, tcpFlagsShort } from '../../stack/wire/tcp.js';
import { inNamespaceChild, namespaceTests } from './in-namespace.js';

export type BenchLink = Bench['link'];

/**
 * The tolerances segment tests state, the same on both links. REPLY_MS bounds the wait for a
 * segment (an expectation returns as soon as it arrives); QUIET_MS is how long the stack must
 * stay silent for "no reply" (on the sim wire a round trip is 2 ms; on the TAP well under 1 ms,
 * a slow turn of a loaded machine's event loop a few).
 */
export const REPLY_MS = 1000;
export const QUIET_MS = 200;

export interface BenchTestOptions {
  /** How the stack under test is built. */
  stack?: BenchStackOptions;
  /** The links to run on (default both). */
  links?: BenchLink[];
}

export type BenchTestFn = (b: Bench) => Promise<void>;

/**
 * Segment tests of one test file, each registered once per link: `name [sim]` on simBench and
 * `name [tap]` on tapBench, the latter in a fresh namespace of its own (namespaceTests), so
 * the script is the same code on both links.
 */
export function benchTests(moduleUrl: string): (name: string, opts: BenchTestOptions, fn: BenchTestFn) => void {
  const nsTest = namespaceTests(moduleUrl);
  const child = inNamespaceChild();
  return (name, opts, fn) => {
    const links = opts.links ?? ['sim', 'tap'];
    if (links.includes('sim') && !child) test(`${name} [sim]`, () => onBench(simBench(opts.stack), fn));
    if (links.includes('tap')) nsTest(`${name} [tap]`, () => onBench(tapBench(opts.stack), fn));
  };
}

async function onBench(b: Bench, fn: BenchTestFn): Promise<void> {
  try {
    await fn(b);
  } finally {
    b.close();
  }
}

/** `S.`/`F.`-style lines (tcpdump flags, absolute numbers) of received segments, for list assertions. */
export function summary(received: readonly Received[]): string[] {
  return received.map(({ seg }) => `${tcpFlagsShort(seg.flags)} seq=${seg.seq} ack=${seg.flags & ACK ? seg.ack : '-'} len=${seg.payload.length}`);
}

/** The segments the endpoint received since index `from` of its log. */
export function since(b: Bench, from: number): Received[] {
  return b.endpoint.received.slice(from);
}
