import { UsageError } from '../../../stack/user-error.js';

/**
 * A spec that does not parse: one message and the place it went wrong. `offset` is the 0-based
 * index into the whole spec string; `line` and `column` are 1-based, as an editor shows them.
 * pathod raised pyparsing's grammar dump (or an uncaught ValueError for a bad escape); we give
 * one sentence and a caret instead.
 */
export class SpecError extends UsageError {
  override readonly name = 'SpecError';
  readonly line: number;
  readonly column: number;

  constructor(
    message: string,
    readonly spec: string,
    readonly offset: number,
  ) {
    super(message);
    const before = spec.slice(0, offset);
    const lineStart = before.lastIndexOf('\n') + 1;
    this.line = before.split('\n').length;
    this.column = offset - lineStart + 1;
  }

  /** The message with its place, then the spec line and a caret under the column. */
  format(): string {
    const lines = this.spec.split('\n');
    const where = lines.length > 1 ? `line ${this.line}, column ${this.column}` : `column ${this.column}`;
    const text = (lines[this.line - 1] ?? '').replace(/[\t\r]/g, ' ');
    return `${where}: ${this.message}\n  ${text}\n  ${' '.repeat(this.column - 1)}^`;
  }

  protected override detail(): string {
    return this.format();
  }
}

/**
 * A spec that parsed but cannot be rendered as asked: a file that cannot be read, a websocket
 * response without the client's key, a freeze too large to write out.
 */
export class RenderError extends UsageError {
  override readonly name = 'RenderError';
}
