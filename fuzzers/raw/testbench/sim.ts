import { VirtualClock } from '../../../stack/clock.js';
import { createSimWire } from '../../../stack/link/sim.js';
import { Stack } from '../../../stack/stack.js';
import { BENCH_ENDPOINT_IP, BENCH_ENDPOINT_MAC, BENCH_STACK_IP, BENCH_STACK_MAC, type Bench, type BenchStackOptions } from './bench.js';
import { Endpoint } from './endpoint.js';
import { SimTime } from './time.js';

/** Virtual start time: far from 0, so nothing in the stack can mistake an instant for "unset". */
const START_MS = 1_000_000;
/** One-way delay of the sim wire: every hop takes a virtual millisecond. */
const LATENCY_MS = 1;

/**
 * The bench on the sim wire: the stack under test on one end, the endpoint on the other, one
 * virtual clock (deterministic: the same script gives the same frames at the same instants;
 * time passes only while an expectation or a wait runs the simulation). Starts with the
 * endpoint announced, so the stack has its MAC before the first segment.
 */
export function simBench(opts: BenchStackOptions = {}): Bench {
  const clock = new VirtualClock(START_MS);
  const [stackEnd, endpointEnd] = createSimWire(clock, { latencyMs: LATENCY_MS });
  const stack = new Stack({ link: stackEnd, mac: BENCH_STACK_MAC, ip: BENCH_STACK_IP, clock, seed: 1, ...opts });
  const time = new SimTime(clock);
  const endpoint = new Endpoint({ link: endpointEnd, time, ip: BENCH_ENDPOINT_IP, mac: BENCH_ENDPOINT_MAC, target: { ip: BENCH_STACK_IP, mac: BENCH_STACK_MAC } });
  endpoint.announce();
  clock.advance(2 * LATENCY_MS);
  return {
    link: 'sim',
    endpoint,
    stack,
    time,
    close: () => {
      stack.close();
      endpointEnd.close();
    },
  };
}
