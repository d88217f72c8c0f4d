import type { Ipv4, Mac } from '../../../stack/addr.js';
import { LAB_STACK_IP, LAB_STACK_MAC } from '../../../stack/lab/index.js';
import type { Stack, StackOptions } from '../../../stack/stack.js';
import type { Endpoint } from './endpoint.js';
import type { BenchTime } from './time.js';

/**
 * A segment test bench: the stack under test on one end of a link, the endpoint the test
 * plays on the other, and the time they share. The same script runs on either link.
 */
export interface Bench {
  /** `sim`: the sim wire on the virtual clock; `tap`: a TAP in the lab namespace, real time. */
  readonly link: 'sim' | 'tap';
  readonly endpoint: Endpoint;
  readonly stack: Stack;
  readonly time: BenchTime;
  /** Closes the stack and the links (the TAP vanishes with its link). */
  close(): void;
}

/** How the stack under test is built (its link, addresses and clock are the bench's). */
export type BenchStackOptions = Partial<Omit<StackOptions, 'link' | 'mac' | 'ip' | 'prefixLen' | 'clock'>>;

/** The stack under test has the lab's address on both links. */
export const BENCH_STACK_IP: Ipv4 = LAB_STACK_IP;
export const BENCH_STACK_MAC: Mac = LAB_STACK_MAC;
/**
 * The endpoint: an address of the lab's prefix that the kernel does not own (10.77.0.3; the
 * kernel has .1, our stack .2) and a MAC no interface has. On the TAP this is what keeps the
 * kernel out of the conversation (see tap.ts).
 */
export const BENCH_ENDPOINT_IP: Ipv4 = 0x0a4d0003;
export const BENCH_ENDPOINT_MAC: Mac = 0x02_77_00_00_00_03;
