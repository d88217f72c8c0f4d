/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY (logs and CI output stay
 * clean). Redraws are throttled so 10,000 jobs do not cost 10,000 writes.
 */
export class ProgressBar {
  private last = 0;
  private readonly enabled: boolean;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
    private readonly out: NodeJS.WriteStream = stream,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.out.write(`\r${this.label} [${bar}] ${done}/${this.total} ${extra}`.padEnd(79).slice(0, 120));
    this.shown = true;
  }

  done(): void {
    if (this.enabled && this.shown) this.out.write('\n');
    this.shown = false;
  }
}
