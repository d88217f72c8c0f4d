import type { RenderedMessage } from './spec/index.js';

/**
 * Where a rendered message is played: a connection, seen from the side that sends (an HTTP job
 * sending a request, the built-in target sending a crafted response).
 */
export interface PlanSink {
  /** Writes a chunk; false when the caller must wait for `drained()` before the next. */
  write(chunk: Uint8Array): boolean;
  /** Resolves once writing may go on, or once the sink has stopped. */
  drained(): Promise<void>;
  /** Waits `ms` on the sink's clock (Infinity: forever); resolves early once the sink has stopped. */
  pause(ms: number): Promise<void>;
  /** The spec's `d`: closes the connection after the bytes written so far. */
  disconnect(): void;
  /** True once nothing more can be sent (the connection ended, the job stopped). */
  stopped(): boolean;
}

export interface PlayResult {
  /** `sent`: the whole plan went out; `disconnected`: the spec's `d` ran; `stopped`: the sink stopped first. */
  end: 'sent' | 'disconnected' | 'stopped';
  /** Bytes handed to the sink. */
  bytes: number;
  /** The pauses and the disconnect as they ran: `pause 10s at 15`, `pause forever at 0`, `disconnect at 15`. */
  actions: string[];
}

/**
 * Plays a rendered message: its bytes in order with back-pressure, its pauses on the sink's
 * clock, and its disconnect, which sends exactly the bytes before the offset and then closes
 * (pathod's `d`). Bytes are produced lazily, so a `@100g` body costs only what gets sent.
 */
export async function playPlan(rendered: RenderedMessage, sink: PlanSink): Promise<PlayResult> {
  const out: PlayResult = { end: 'sent', bytes: 0, actions: [] };
  for (const step of rendered.plan) {
    if (step.kind === 'bytes') {
      for (const chunk of step.data.chunks()) {
        if (sink.stopped()) return { ...out, end: 'stopped' };
        const room = sink.write(chunk);
        out.bytes += chunk.length;
        if (!room) await sink.drained();
      }
    } else if (step.kind === 'pause') {
      out.actions.push(`pause ${step.seconds === 'forever' ? 'forever' : `${step.seconds}s`} at ${step.at}`);
      await sink.pause(step.seconds === 'forever' ? Infinity : step.seconds * 1000);
    } else {
      out.actions.push(`disconnect at ${step.at}`);
      if (sink.stopped()) return { ...out, end: 'stopped' };
      sink.disconnect();
      return { ...out, end: 'disconnected' };
    }
  }
  return sink.stopped() ? { ...out, end: 'stopped' } : out;
}
