/**
 * Numbers per trace row: t ns, the frame number signed by side, seq, len, tcp flags, analysis
 * flags, ack, raw window. The frame number (1-based, so never 0) is positive for side 0 and
 * negative for side 1: the ladder names each segment's frame at no cost in memory.
 */
export const TRACE_STRIDE = 8;

/** The side-signed frame number of a trace row (see TRACE_STRIDE). */
export const sideFrame = (side: 0 | 1, frame: number): number => (side === 0 ? frame : -frame);
export const rowSide = (signedFrame: number): 0 | 1 => (signedFrame < 0 ? 1 : 0);
export const rowFrame = (signedFrame: number): number => Math.abs(signedFrame);
/** Rows per block (a power of two): 1 KiB of doubles, small enough for a connection of a few segments. */
const BLOCK_SHIFT = 4;
const BLOCK_ROWS = 1 << BLOCK_SHIFT;
const BLOCK_DOUBLES = BLOCK_ROWS * TRACE_STRIDE;
/** Doubles per slab (1 MiB slabs, added as the live rows grow, never copied); a whole number of blocks. */
const SLAB_SHIFT = 17;
const SLAB_BLOCKS = (1 << SLAB_SHIFT) / BLOCK_DOUBLES;

/**
 * The time–sequence trace rows of every live connection, in slabs of doubles handed out in blocks
 * of BLOCK_ROWS rows that a finished connection gives back. Recording a segment costs no
 * allocation, and the garbage collector never copies trace data: per-connection arrays made the
 * young generation copy megabytes of rows of connections that linger after closing (a quarter of
 * the analysis time on a large capture, measured). Memory follows the rows of live connections.
 */
export class TraceArena {
  private readonly slabs: Float64Array[] = [];
  private readonly free: number[] = [];
  private fresh = 0;

  /**
   * Where row `row` of the trace held in `blocks` lies: `slab(at)[offset(at)]` onwards. A row that
   * starts the next block gets a new block (rows are written in order; a ring reuses its rows).
   */
  rowAt(blocks: number[], row: number): number {
    const i = row >>> BLOCK_SHIFT;
    if (i === blocks.length) blocks.push(this.alloc());
    return blocks[i]! * BLOCK_DOUBLES + (row & (BLOCK_ROWS - 1)) * TRACE_STRIDE;
  }

  slab(at: number): Float64Array {
    return this.slabs[at >>> SLAB_SHIFT]!;
  }

  offset(at: number): number {
    return at & ((1 << SLAB_SHIFT) - 1);
  }

  /** Gives a finished trace's blocks back (its rows must not be read any more). */
  release(blocks: number[]): void {
    for (const b of blocks) this.free.push(b);
    blocks.length = 0;
  }

  private alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.fresh === this.slabs.length * SLAB_BLOCKS) this.slabs.push(new Float64Array(1 << SLAB_SHIFT));
    return this.fresh++;
  }
}
