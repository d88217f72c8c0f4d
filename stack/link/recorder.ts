import type { Clock } from '../clock.js';
import type { PcapWriter } from '../pcap/writer.js';
import type { FrameReceiver, Link } from './link.js';

/**
 * A capture point: every frame crossing `inner`, both directions, goes to a pcap writer stamped
 * when it crossed: a frame received at the time `inner` read it, a frame sent at the time `inner`
 * wrote it when it reports that (`onSent`: a TAP whose event loop is busy writes late), else the
 * link clock's time at send (virtual time on the sim wire). The writer is the caller's (several
 * links may share one); `close()` closes the link only.
 */
export class RecordingLink implements Link {
  readonly clock: Clock;
  readonly maxFrame: number;
  private receiver: FrameReceiver | undefined;
  private recording = true;
  /** The last frame sent through this link (towards the capture point): its pcap frame number and time. */
  lastSent: { frame: number; timeMs: number } | undefined;
  /** `inner` reports its writes with their times (onSent): sends are recorded there. */
  private readonly stampsSends: boolean;

  constructor(
    private readonly inner: Link,
    private readonly writer: PcapWriter,
  ) {
    this.clock = inner.clock;
    this.maxFrame = inner.maxFrame;
    this.stampsSends = inner.onSent !== undefined;
    inner.onSent?.((frame, atMs) => {
      if (this.recording) this.record(atMs, frame);
    });
    inner.onFrame((frame, atMs) => {
      const at = atMs ?? this.clock.now();
      if (this.recording) this.writer.write(at, frame);
      this.receiver?.(frame, at);
    });
  }

  send(frame: Uint8Array): void {
    if (this.recording && !this.stampsSends) this.record(this.clock.now(), frame);
    this.inner.send(frame);
  }

  onFrame(cb: FrameReceiver): void {
    this.receiver = cb;
  }

  /** Writes a frame we sent at the time it crossed, and remembers it as the last one sent. */
  private record(atMs: number, frame: Uint8Array): void {
    this.writer.write(atMs, frame);
    this.lastSent = { frame: this.writer.frames, timeMs: atMs };
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
