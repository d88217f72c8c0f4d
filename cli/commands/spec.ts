import { once } from 'node:events';
import type { Command } from '../command.js';
import { parseFlags } from '../args.js';
import { intFlag } from '../../harness/flag-values.js';
import { inContext, UsageError } from '../../stack/user-error.js';
import { Rng, randomSeed } from '../../stack/rng.js';
import {
  parseRequests,
  parseResponse,
  renderMessage,
  type MessageSpec,
  type RenderedMessage,
} from '../../fuzzers/http/spec/index.js';

const USAGE = `usage: fuzz spec render SPEC [--kind request|response] [--host H] [--seed S] [--explain]

Writes the exact bytes a pathoc request spec (or, with --kind response, a pathod response spec)
puts on the wire to stdout. Pauses and disconnects are not bytes: each is listed on stderr as
'# pause 10s at byte 15' or '# disconnect at byte 15' (the byte count of stdout so far); output
stops at a disconnect, as the connection would.

  --kind K     request (default) or response
  --host H     the host the request goes to, for the automatic Host header (none without it)
  --seed S     seed for @N data, r offsets and websocket keys (default: random, printed on stderr)
  --explain    print each message's frozen spec instead: its random parts as literals, its
               automatic headers explicit; rendering that spec gives the same bytes

Files (<path) are read relative to the current directory, as pathoc does. A bad spec exits 2
with the column marked. The language and where it differs from pathod: docs/pathoc.md.`;

/** stdout that tells when its reader has gone (EPIPE from '| head'), instead of crashing. */
class Stdout {
  private gone = false;

  constructor(private readonly out: NodeJS.WriteStream) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      this.gone = true;
    });
  }

  /** False once nobody reads any more. */
  async write(chunk: Uint8Array | string): Promise<boolean> {
    if (this.gone) return false;
    if (!this.out.write(chunk)) {
      try {
        await once(this.out, 'drain');
      } catch {
        this.gone = true;
      }
    }
    return !this.gone;
  }
}

function parse(kind: MessageSpec['kind'], spec: string): MessageSpec[] {
  return inContext(`bad ${kind} spec at `, () => (kind === 'request' ? parseRequests(spec) : [parseResponse(spec)]));
}

/** Streams one message's bytes; returns the stream position after it, or undefined if it ended the stream. */
async function stream(r: RenderedMessage, out: Stdout, start: number): Promise<number | undefined> {
  let at = start;
  for (const step of r.plan) {
    if (step.kind === 'bytes') {
      for (const chunk of step.data.chunks()) if (!(await out.write(chunk))) return undefined;
      at += step.data.length;
    } else if (step.kind === 'pause') {
      const how = step.seconds === 'forever' ? 'forever' : `${step.seconds}s`;
      process.stderr.write(`# pause ${how} at byte ${start + step.at}\n`);
    } else {
      process.stderr.write(`# disconnect at byte ${start + step.at}\n`);
      return undefined;
    }
  }
  return at;
}

/** `fuzz spec render`: what a spec sends, byte for byte, or its frozen spec. */
export const specCommand: Command = {
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'render') throw new UsageError(`fuzz spec needs a subcommand: render (fuzz spec --help)`);
    const { values, positionals } = parseFlags(rest, {
      kind: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      explain: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('fuzz spec render takes exactly one SPEC (quote it for the shell)');
    const kind = values.kind ?? 'request';
    if (kind !== 'request' && kind !== 'response') throw new UsageError(`--kind must be request or response, got '${kind}'`);
    const messages = parse(kind, positionals[0]!);
    if (values.seed === undefined) {
      const seed = randomSeed();
      process.stderr.write(`# seed ${seed}\n`);
      values.seed = String(seed);
    }
    const rng = new Rng(intFlag('seed', values.seed, 0, 0, 2 ** 32 - 1));
    const opts = { rng, host: values.host, files: { root: process.cwd(), confined: false } };
    const out = new Stdout(process.stdout);
    let at: number | undefined = 0;
    for (const msg of messages) {
      const rendered = renderMessage(msg, opts);
      if (values.explain) {
        if (!(await out.write(rendered.freeze() + '\n'))) break;
        continue;
      }
      at = await stream(rendered, out, at);
      if (at === undefined) break;
    }
    return 0;
  },
};
