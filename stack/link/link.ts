import type { Clock } from '../clock.js';

/**
 * A link moves whole Ethernet frames. Everything the stack sends and receives crosses one:
 * the sim wire, a TAP device, or a wrapper (fault injector, pcap recorder) around either.
 * Frames handed to `send` are owned by the link afterwards (callers must not mutate them),
 * and frames delivered to `onFrame` callbacks are owned by the receiver.
 */
export interface Link {
  /** The clock that timestamps this link's frames (the recorder and fault injector use it). */
  readonly clock: Clock;
  /** Maximum frame size in bytes, Ethernet header included (1514 for a 1500-byte MTU). */
  readonly maxFrame: number;
  send(frame: Uint8Array): void;
  /** Registers the receiver; a link has exactly one (a later call replaces the earlier one). */
  onFrame(cb: (frame: Uint8Array) => void): void;
  close(): void;
}
