import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePcapBuffer } from '../stack/pcap/reader.js';

const WRITER = fileURLToPath(new URL('../stack/pcap/writer.js', import.meta.url));

/** Frame i is recognisable: its length and every byte derive from i. */
const CHILD_PRELUDE = `
import { PcapWriter } from ${JSON.stringify(WRITER)};
const frame = (i) => new Uint8Array(60 + (i % 200)).fill(i & 0xff);
`;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/**
 * Runs `body` in a child node process; `onLine` sees each stdout line and may signal the child.
 * Bounded: the child is SIGKILLed after 10 s whatever happens.
 */
function runChild(body: string, onLine: (line: string, kill: (sig: NodeJS.Signals) => void) => void = () => {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_PRELUDE + body], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      for (const line of d.split('\n').filter(Boolean)) onLine(line, (sig) => child.kill(sig));
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout });
    });
  });
}

function assertWholeRecords(path: string): number {
  const { records, error } = parsePcapBuffer(readFileSync(path));
  assert.equal(error, undefined, `file must parse whole: ${error?.message}`);
  records.forEach((r, i) => {
    assert.equal(r.caplen, 60 + (i % 200), `record ${i} length`);
    assert.ok(
      r.data.every((b) => b === (i & 0xff)),
      `record ${i} content`,
    );
  });
  return records.length;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-kill-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'SIGKILL while writing: the file holds only whole records, in order',
  withDir(async (dir) => {
    const path = join(dir, 'k.pcap');
    // Writes as fast as it can with a 5 ms flush timer; killed mid-stream after ~150 ms.
    const res = await runChild(
      `
      const w = PcapWriter.open(${JSON.stringify(path)}, { flushMs: 5 });
      let i = 0;
      const start = Date.now();
      let said = false;
      const pump = () => {
        for (let k = 0; k < 50; k++) w.write(Date.now(), frame(i++));
        if (!said && Date.now() - start > 150) { said = true; console.log('kill me ' + i); }
        setImmediate(pump);
      };
      pump();
      `,
      (line, kill) => {
        if (line.startsWith('kill me')) kill('SIGKILL');
      },
    );
    assert.equal(res.signal, 'SIGKILL');
    const n = assertWholeRecords(path);
    assert.ok(n > 100, `expected timer flushes before the kill, got ${n} records`);
  }),
);

test(
  'SIGTERM and SIGINT: buffered records are flushed, then the process still dies by the signal',
  withDir(async (dir) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const path = join(dir, `${sig}.pcap`);
      const res = await runChild(
        `
        const a = PcapWriter.open(${JSON.stringify(path)}, { flushMs: 60000 });
        const b = PcapWriter.open(${JSON.stringify(path + '.other')}, { flushMs: 60000 });
        for (let i = 0; i < 300; i++) a.write(i, frame(i));
        b.write(0, frame(0));
        // Handlers are process-wide and installed once, however many writers exist.
        console.log('ready ' + process.listenerCount('SIGTERM') + ' ' + process.listenerCount('SIGINT'));
        setInterval(() => {}, 1000);
        `,
        (line, kill) => {
          if (line.startsWith('ready')) kill(sig);
        },
      );
      assert.match(res.stdout, /^ready 1 1$/m);
      assert.equal(res.signal, sig, `the default action of ${sig} still happens`);
      assert.equal(assertWholeRecords(path), 300);
    }
  }),
);

test(
  'an application SIGTERM handler keeps control of shutdown; records are flushed before it runs',
  withDir(async (dir) => {
    const path = join(dir, 'app.pcap');
    const res = await runChild(
      `
      import { readFileSync } from 'node:fs';
      const w = PcapWriter.open(${JSON.stringify(path)}, { flushMs: 60000 });
      process.on('SIGTERM', () => {
        // Our writer's handler ran first (it was installed first) and flushed.
        console.log('app handler sees ' + readFileSync(${JSON.stringify(path)}).length + ' bytes');
        w.close();
        process.exit(0);
      });
      for (let i = 0; i < 10; i++) w.write(i, frame(i));
      console.log('ready');
      setInterval(() => {}, 1000);
      `,
      (line, kill) => {
        if (line === 'ready') kill('SIGTERM');
      },
    );
    assert.equal(res.code, 0);
    assert.equal(res.signal, null);
    const expectedBytes = 24 + Array.from({ length: 10 }, (_, i) => 16 + 60 + i).reduce((a, b) => a + b, 0);
    assert.match(res.stdout, new RegExp(`app handler sees ${expectedBytes} bytes`));
    assert.equal(assertWholeRecords(path), 10);
  }),
);

test(
  'normal exit without close() and an uncaught exception both flush',
  withDir(async (dir) => {
    const exitPath = join(dir, 'exit.pcap');
    const exited = await runChild(`
      const w = PcapWriter.open(${JSON.stringify(exitPath)}, { flushMs: 60000 });
      for (let i = 0; i < 42; i++) w.write(i, frame(i));
    `);
    assert.equal(exited.code, 0);
    assert.equal(assertWholeRecords(exitPath), 42);
    const throwPath = join(dir, 'throw.pcap');
    const threw = await runChild(`
      const w = PcapWriter.open(${JSON.stringify(throwPath)}, { flushMs: 60000 });
      for (let i = 0; i < 7; i++) w.write(i, frame(i));
      setTimeout(() => { throw new Error('boom'); }, 1);
    `);
    assert.equal(threw.code, 1, 'the uncaught exception still ends the process with code 1');
    assert.equal(assertWholeRecords(throwPath), 7);
  }),
);
