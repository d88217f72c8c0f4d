/**
 * The segment test bench (modelled on gVisor packetimpact's testbench): a test plays a remote
 * host (Endpoint) against the stack under test, sends partial segments and expects partial
 * segments, over the sim wire (simBench) or a TAP (tapBench), unchanged. docs/testbench.md
 * says how each link works.
 */
export { BENCH_ENDPOINT_IP, BENCH_ENDPOINT_MAC, BENCH_STACK_IP, BENCH_STACK_MAC, type Bench, type BenchStackOptions } from './bench.js';
export { Conn, synOptionsOf, type ConnOptions, type SynOptions } from './conn.js';
export { Endpoint } from './endpoint.js';
export type { ExpectOptions, Received } from './received.js';
export { describeSegment, ExpectError, type FieldMismatch, type SegmentFields } from './match.js';
export { simBench } from './sim.js';
export { tapBench } from './tap.js';
export { RealTime, SimTime, type BenchTime } from './time.js';
