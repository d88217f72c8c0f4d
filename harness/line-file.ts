import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * An append-only text file written in whole lines with synchronous writes, buffered up to
 * `flushBytes`: an interrupted run keeps every line flushed so far, and a hot path (one line per
 * TCP transition) does not pay one syscall per line.
 */
export class LineFile {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;
  lines = 0;

  constructor(
    readonly path: string,
    private readonly flushBytes = 1 << 16,
  ) {
    this.fd = openSync(path, 'w');
  }

  write(line: string): void {
    this.buf.push(line);
    this.size += line.length + 1;
    this.lines++;
    if (this.size >= this.flushBytes) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
