import type { Link } from './link.js';

/** Frames the relay moved, per direction, and those that met no attached kernel side. */
export interface RelayCounts {
  /** Frames from the target side passed to the kernel side. */
  toKernel: number;
  /** Frames from the kernel side passed to the target side. */
  toTarget: number;
  /** Frames from the target while no kernel side was attached (before the first `attach`). */
  unattached: number;
}

/**
 * A Link-to-Link bridge: every frame one side delivers is sent on the other. It puts the harness
 * in the frame path of a stack it does not run (docs/foreign-stacks.md): the target side is the
 * kernel's end of the foreign stack's TAP (an AF_PACKET socket), the kernel side is whatever the
 * run stacks on its own TAP — the capture's recorder and fault injector, so the pcap and the
 * faults are exactly those of a built-in target. `attach` swaps the kernel side (the readiness
 * probes go through a recorder of their own; the run's capture is attached once the stack is
 * ready), and `watch` sees every frame the target sends (the readiness doctor).
 */
export class LinkRelay {
  readonly counts: RelayCounts = { toKernel: 0, toTarget: 0, unattached: 0 };
  private kernelSide: Link | undefined;
  private watcher: ((frame: Uint8Array) => void) | undefined;

  constructor(private readonly targetSide: Link) {
    targetSide.onFrame((frame) => {
      this.watcher?.(frame);
      if (!this.kernelSide) {
        this.counts.unattached++;
        return;
      }
      this.counts.toKernel++;
      this.kernelSide.send(frame);
    });
  }

  /** Makes `kernelSide` the other end from now on (its receiver is taken over). */
  attach(kernelSide: Link): void {
    this.kernelSide = kernelSide;
    kernelSide.onFrame((frame) => {
      // A frame a previous kernel side still delivers (a delayed one from the fault injector) is
      // dropped: after a swap only the attached side speaks for the kernel.
      if (this.kernelSide !== kernelSide) return;
      this.counts.toTarget++;
      this.targetSide.send(frame);
    });
  }

  /** Sees every frame the target side sends (undefined stops watching). */
  watch(watcher: ((frame: Uint8Array) => void) | undefined): void {
    this.watcher = watcher;
  }

  /** Closes the target side; kernel sides belong to whoever attached them. */
  close(): void {
    this.kernelSide = undefined;
    this.targetSide.close();
  }
}
