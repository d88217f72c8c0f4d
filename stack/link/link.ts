import type { Clock } from '../clock.js';

/**
 * Receives one frame. `atMs` is when the frame came off the device, on the link's clock, when the
 * link knows it (a TAP stamps each frame at its read(2)); otherwise the receiver takes the clock's now.
 */
export type FrameReceiver = (frame: Uint8Array, atMs?: number) => void;

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
  onFrame(cb: FrameReceiver): void;
  /**
   * Present on links that know when a sent frame actually left (a device that may make it wait):
   * reports each frame with that time, so a capture point stamps it there rather than at send().
   */
  onSent?(cb: (frame: Uint8Array, atMs: number) => void): void;
  close(): void;
}
