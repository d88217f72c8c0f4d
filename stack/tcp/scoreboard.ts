import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from '../wire/seq.js';

/**
 * The data sender's record of what the receiver has SACKed (RFC 6675 §3 "scoreboard"): disjoint,
 * sorted [left, right) ranges above SND.UNA, merged as blocks arrive. Blocks that fall outside
 * (SND.UNA, SND.MAX] are ignored (RFC 2018 §5 leaves their meaning to the receiver; a forged one
 * must not make us skip data).
 */
export class SackScoreboard {
  /** Flat [left0, right0, left1, right1, …], in sequence order. */
  private ranges: number[] = [];
  /** Bytes covered by the ranges. */
  sacked = 0;

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** Right edge of the highest SACKed range (the FACK point); `una` when nothing is SACKed. */
  highest(una: number): number {
    return this.ranges.length === 0 ? una : this.ranges[this.ranges.length - 1]!;
  }

  /** Adds one SACK block, if it lies in (una, max]. Returns whether it reported new bytes. */
  add(left: number, right: number, una: number, max: number): boolean {
    if (!seqLt(left, right) || seqLe(left, una) || seqGt(right, max)) return false;
    const r = this.ranges;
    let i = 0;
    while (i < r.length && seqLt(r[i + 1]!, left)) i += 2;
    // r[i..j) overlap or touch [left, right): they merge into one range.
    let j = i;
    let l = left;
    let rt = right;
    let covered = 0;
    while (j < r.length && seqLe(r[j]!, right)) {
      if (seqLt(r[j]!, l)) l = r[j]!;
      if (seqGt(r[j + 1]!, rt)) rt = r[j + 1]!;
      covered += seqDiff(r[j + 1]!, r[j]!);
      j += 2;
    }
    const grown = seqDiff(rt, l) - covered;
    if (grown === 0) return false;
    r.splice(i, j - i, l, rt);
    this.sacked += grown;
    return true;
  }

  /** SND.UNA moved to `una`: forget what lies below it. */
  advance(una: number): void {
    const r = this.ranges;
    let drop = 0;
    while (drop < r.length && seqLe(r[drop + 1]!, una)) {
      this.sacked -= seqDiff(r[drop + 1]!, r[drop]!);
      drop += 2;
    }
    if (drop > 0) r.splice(0, drop);
    if (r.length > 0 && seqLt(r[0]!, una)) {
      this.sacked -= seqDiff(una, r[0]!);
      r[0] = una;
    }
  }

  isSacked(seq: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (seqLt(seq, r[i]!)) return false;
      if (seqLt(seq, r[i + 1]!)) return true;
    }
    return false;
  }

  /** `seq`, or the end of the SACKed range that holds it. */
  skipSacked(seq: number): number {
    const r = this.ranges;
    for (let i = 0; i < r.length && !seqLt(seq, r[i]!); i += 2) if (seqLt(seq, r[i + 1]!)) return r[i + 1]!;
    return seq;
  }

  /** SACKed bytes at or above `seq` (RFC 6675 IsLost counts them). */
  sackedAbove(seq: number): number {
    const r = this.ranges;
    let n = 0;
    for (let i = r.length - 2; i >= 0 && seqGt(r[i + 1]!, seq); i -= 2) n += seqDiff(r[i + 1]!, seqGt(r[i]!, seq) ? r[i]! : seq);
    return n;
  }

  /**
   * The first un-SACKed range at or after `from` that lies below the highest SACKed byte, cut
   * to at most `max` bytes, as [start, end); undefined when there is none.
   */
  nextHole(from: number, max: number): [number, number] | undefined {
    const r = this.ranges;
    let s = from;
    for (let i = 0; i < r.length; i += 2) {
      if (seqLt(s, r[i]!)) return [s, seqLt(seqAdd(s, max), r[i]!) ? seqAdd(s, max) : r[i]!];
      if (seqLt(s, r[i + 1]!)) s = r[i + 1]!;
    }
    return undefined;
  }

  /** Un-SACKed bytes in [from, to). */
  holeBytes(from: number, to: number): number {
    if (!seqLt(from, to)) return 0;
    let n = seqDiff(to, from);
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      const l = seqLt(r[i]!, from) ? from : r[i]!;
      const rt = seqGt(r[i + 1]!, to) ? to : r[i + 1]!;
      if (seqLt(l, rt)) n -= seqDiff(rt, l);
    }
    return n;
  }

  clear(): void {
    this.ranges = [];
    this.sacked = 0;
  }
}
