/**
 * Our per-frame TCP analysis equals tshark's, frame by frame, on generated captures built to hit
 * every rule of packet-tcp.c (and its quirks): randomised segment sequences, and the 10,000
 * unacknowledged-segment cap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Rng } from '../stack/rng.js';
import { ACK, FIN, SYN } from '../stack/wire/tcp.js';
import { frameDiff, ourFrames, randomTcpCapture, tcpFrame, tsharkFrames, writeCapture, type TimedFrame } from './analyze-support.js';
import { hasCommand } from './helpers/env.js';

const skip = hasCommand('tshark') ? undefined : "needs 'tshark' on PATH (.ci/run installs it)";
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-wireshark-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function assertSameAsTshark(file: string): Promise<number> {
  const [{ frames }, theirs] = await Promise.all([ourFrames(file), tsharkFrames(file)]);
  const diff = frameDiff(frames, theirs);
  assert.deepEqual(diff.slice(0, 10), [], `${diff.length} frames differ from tshark in ${file}`);
  return theirs.size;
}

describe('analysis flags equal tshark 4.0', { skip }, () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    it(`random segment sequences, seed ${seed}`, async () => {
      const rng = new Rng(seed);
      const file = join(dir, `random-${seed}.pcap`);
      writeCapture(file, randomTcpCapture(rng, 2 + (seed % 8), 1500));
      const flagged = [...(await tsharkFrames(file)).values()].filter((f) => f.flags.length > 0).length;
      assert.ok(flagged > 100, `the generator must exercise the rules (${flagged} flagged frames)`);
      await assertSameAsTshark(file);
    });
  }

  it('the 10,000 unacknowledged-segment cap (a FIN past the cap does not count its octet)', async () => {
    const frames: TimedFrame[] = [];
    const a = 0x0a000001;
    const b = 0x0a000002;
    let t = 1000 * 1e9;
    const push = (src: number, dst: number, sp: number, dp: number, seq: number, ack: number, flags: number, len: number): void => {
      frames.push({
        tsSec: Math.floor(t / 1e9),
        tsNsec: t % 1e9,
        frame: tcpFrame(src, dst, { srcPort: sp, dstPort: dp, seq, ack, flags, window: 500, urgent: 0, options: [], payload: new Uint8Array(len) }),
      });
      t += 100_000;
    };
    let seq = 1000;
    push(a, b, 5000, 80, seq - 1, 0, SYN, 0);
    for (let i = 0; i < 10_003; i++, seq += 10) push(a, b, 5000, 80, seq, 77, ACK, 10);
    push(a, b, 5000, 80, seq, 77, FIN | ACK, 0);
    t += 500e6;
    push(a, b, 5000, 80, seq, 77, FIN | ACK, 0);
    push(a, b, 5000, 80, seq + 1, 77, ACK, 0);
    push(a, b, 5000, 80, seq, 77, ACK, 0);
    push(b, a, 80, 5000, 77, seq + 1, ACK, 0);
    push(a, b, 5000, 80, seq + 1, 77, ACK, 0);
    const file = join(dir, 'cap.pcap');
    writeCapture(file, frames);
    assert.equal(await assertSameAsTshark(file), frames.length);
  });
});
