import type { Clock } from '../clock.js';
import type { PcapWriter } from '../pcap/writer.js';
import type { Link } from './link.js';

/**
 * A capture point: every frame crossing `inner`, both directions, goes to a pcap writer stamped
 * with the link clock's time (virtual time on the sim wire, wall time on a TAP). The writer is
 * the caller's (several links may share one); `close()` closes the link only.
 */
export class RecordingLink implements Link {
  readonly clock: Clock;
  readonly maxFrame: number;
  private receiver: ((frame: Uint8Array) => void) | undefined;
  private recording = true;
  /** The last frame sent through this link (towards the capture point): its pcap frame number and time. */
  lastSent: { frame: number; timeMs: number } | undefined;

  constructor(
    private readonly inner: Link,
    private readonly writer: PcapWriter,
  ) {
    this.clock = inner.clock;
    this.maxFrame = inner.maxFrame;
    inner.onFrame((frame) => {
      if (this.recording) this.writer.write(this.clock.now(), frame);
      this.receiver?.(frame);
    });
  }

  send(frame: Uint8Array): void {
    if (this.recording) {
      const now = this.clock.now();
      this.writer.write(now, frame);
      this.lastSent = { frame: this.writer.frames, timeMs: now };
    }
    this.inner.send(frame);
  }

  onFrame(cb: (frame: Uint8Array) => void): void {
    this.receiver = cb;
  }

  /**
   * Ends the capture while frames keep flowing: a run stops recording once its measurements are
   * taken, so the clean-up that follows (aborting leftover connections) is not judged as traffic.
   */
  stopRecording(): void {
    this.recording = false;
  }

  close(): void {
    this.receiver = undefined;
    this.inner.close();
  }
}
