import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../wire/seq.js';

interface Block {
  seq: number;
  data: Uint8Array;
}

/**
 * Out-of-order receive queue (RFC 9293 §3.10.7.4 "Seventh": segments beyond RCV.NXT are held
 * until the gap is filled). Bounded twice: only bytes inside the advertised window are kept
 * (the caller trims), and at most `maxBlocks` disjoint blocks exist, so a peer spraying tiny
 * scattered segments cannot grow it without limit. Data already held wins over new copies of
 * the same bytes, so a retransmission never rewrites what was received.
 */
export class Reassembly {
  private blocks: Block[] = [];
  /** Sequence number of an out-of-order FIN, once seen. */
  finSeq: number | undefined;
  bytes = 0;

  constructor(private readonly maxBlocks: number) {}

  get size(): number {
    return this.blocks.length;
  }

  /** Stores [seq, seq+data.length), keeping only the parts not already held. */
  insert(seq: number, data: Uint8Array): void {
    let s = seq;
    let rest = data;
    let i = 0;
    while (rest.length > 0) {
      while (i < this.blocks.length && seqLe(seqAdd(this.blocks[i]!.seq, this.blocks[i]!.data.length), s)) i++;
      const next = this.blocks[i];
      if (next && seqLe(next.seq, s)) {
        // s falls inside `next`: skip the bytes it already holds.
        const skip = seqDiff(seqAdd(next.seq, next.data.length), s);
        if (skip >= rest.length) return;
        rest = rest.subarray(skip);
        s = seqAdd(s, skip);
        continue;
      }
      const gap = next ? Math.min(rest.length, seqDiff(next.seq, s)) : rest.length;
      if (this.blocks.length >= this.maxBlocks) return;
      this.blocks.splice(i, 0, { seq: s, data: rest.slice(0, gap) });
      this.bytes += gap;
      i++;
      rest = rest.subarray(gap);
      s = seqAdd(s, gap);
    }
  }

  /**
   * The contiguous run of held bytes that contains `seq` (adjacent blocks joined), as
   * [left, right): the SACK block that reports it (RFC 2018 §3). Undefined when `seq` is not held.
   */
  rangeAround(seq: number): [number, number] | undefined {
    const bs = this.blocks;
    let i = 0;
    while (i < bs.length && seqLe(seqAdd(bs[i]!.seq, bs[i]!.data.length), seq)) i++;
    if (i === bs.length || seqGt(bs[i]!.seq, seq)) return undefined;
    let first = i;
    while (first > 0 && seqAdd(bs[first - 1]!.seq, bs[first - 1]!.data.length) === bs[first]!.seq) first--;
    let last = i;
    while (last + 1 < bs.length && seqAdd(bs[last]!.seq, bs[last]!.data.length) === bs[last + 1]!.seq) last++;
    return [bs[first]!.seq, seqAdd(bs[last]!.seq, bs[last]!.data.length)];
  }

  /** Removes and returns the bytes that now continue `rcvNxt`, in order. */
  takeFrom(rcvNxt: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let nxt = rcvNxt;
    while (this.blocks.length > 0) {
      const b = this.blocks[0]!;
      if (seqGt(b.seq, nxt)) break;
      this.blocks.shift();
      this.bytes -= b.data.length;
      const end = seqAdd(b.seq, b.data.length);
      if (seqLt(nxt, end)) {
        out.push(b.data.subarray(seqDiff(nxt, b.seq)));
        nxt = end;
      }
    }
    return out;
  }

  clear(): void {
    this.blocks = [];
    this.bytes = 0;
    this.finSeq = undefined;
  }
}
