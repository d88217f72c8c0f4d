import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeData, encodeData } from '../harness/data-file.js';
import { planRun, type PlanEnv, type RunSettings } from '../harness/plan.js';
import { replayCommand } from '../harness/replay.js';
import { UsageError, UserError } from '../stack/user-error.js';

/** A machine for planning: privileged or not, files from a map, a fixed clock and seed. */
function env(opts: { privileged?: boolean; files?: Record<string, string> } = {}): PlanEnv & { reads: string[] } {
  const reads: string[] = [];
  return {
    privileged: opts.privileged ?? false,
    readFile: (path) => {
      reads.push(path);
      const text = opts.files?.[path];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return new TextEncoder().encode(text);
    },
    now: new Date(Date.UTC(2026, 11, 4, 20, 0, 0)),
    randomSeed: () => 4242,
    reads,
  };
}

const plan = (s: RunSettings, e = env()) => planRun(s, e);

test('defaults: the seed story, on the link the machine allows, a run folder named for the start', () => {
  const p = plan({});
  assert.equal(p.targetText, 'builtin:goodbye');
  assert.deepEqual(p.target, { kind: 'builtin', name: 'goodbye', port: 19 });
  assert.equal(p.link, 'sim');
  assert.equal(p.linkDefaulted, true);
  assert.equal(plan({}, env({ privileged: true })).link, 'tap');
  assert.deepEqual(p.jobs, { count: 128, concurrency: 128, timeoutMs: 10_000, connectTimeoutMs: 5_000, deadlineMs: 900_000 });
  assert.deepEqual(p.server, { ip: 0x0a4d0002, port: 19 });
  assert.equal(p.seed, 4242);
  assert.equal(p.outDir, 'runs/2026-12-04T20-00-00');
  assert.equal(p.workload.fuzzer, 'netcat');
  assert.equal(replayCommand(p), 'fuzz run --target builtin:goodbye -n 128 -c 128 --timeout 10000 --seed 4242 --link sim');
});

test('every random stream has its own seed, derived by name: mutation and faults never share one', () => {
  const seeds = plan({ seed: 7 }).seeds;
  const values = Object.values(seeds);
  assert.equal(new Set(values).size, values.length, JSON.stringify(seeds));
  assert.deepEqual(plan({ seed: 7 }).seeds, seeds, 'the same seed gives the same streams');
  assert.notDeepEqual(plan({ seed: 8 }).seeds, seeds);
});

test('a kernel-side target: the server is the kernel side, our stack the client, TAP only', () => {
  const p = plan({ target: "exec:8080:'python3 -m http.server 8080'", link: 'tap' });
  assert.deepEqual(p.target, { kind: 'kernel', kernel: { kind: 'exec', port: 8080, command: 'python3 -m http.server 8080' }, port: 8080 });
  assert.deepEqual(p.server, { ip: 0x0a4d0001, port: 8080 });
  assert.throws(() => plan({ target: 'tcp://10.77.0.1:80', link: 'sim' }), /needs --link tap/);
  assert.throws(() => plan({ target: 'tcp://10.77.0.1:80', link: 'tap', bugs: ['minnesota-goodbye'] }), /--bug switches bugs in our stack/);
});

test('a payload file is read once, at planning; the plan carries its bytes', () => {
  const e = env({ files: { '/tmp/p.txt': 'hello\n' } });
  const p = plan({ payload: '@/tmp/p.txt' }, e);
  assert.deepEqual(e.reads, ['/tmp/p.txt']);
  assert.equal(p.workload.fuzzer === 'netcat' && p.workload.payload.kind === 'file' && new TextDecoder().decode(p.workload.payload.bytes), 'hello\n');
});

test('HTTP: specs parsed once into playlists, mutated variants from the mutation stream', () => {
  const p = plan({ target: 'builtin:http', mutate: 5, seed: 3 });
  assert.ok(p.workload.fuzzer === 'http');
  assert.equal(p.workload.playlists.length, 5);
  assert.equal(p.workload.playlistSpecs.length, 5);
  const again = plan({ target: 'builtin:http', mutate: 5, seed: 3 });
  assert.deepEqual(again.workload, p.workload, 'the same seed mutates the same way');
});

test('a plan is plain data: it survives the trip to the lab child byte for byte', () => {
  const p = plan({ target: 'builtin:http', specs: ["get:/:b@10:h'X'='y'"], mutate: 2, faults: 'drop=5%,delay=3ms' });
  const back = decodeData<typeof p>(encodeData(p));
  assert.deepEqual(back, p);
  const n = plan({ payload: 'a\\x00b' });
  assert.deepEqual(decodeData<typeof n>(encodeData(n)), n);
});

test('user mistakes are UserErrors whose text says which setting was wrong', () => {
  const text = (s: RunSettings): string => {
    try {
      plan(s);
    } catch (e) {
      assert.ok(e instanceof UserError, `${JSON.stringify(s)}: ${String(e)}`);
      return e.text();
    }
    throw new Error(`no error for ${JSON.stringify(s)}`);
  };
  assert.match(text({ faults: 'drop=x' }), /^--faults: drop: 'x' is not a number/);
  assert.match(text({ target: 'builtin:http', specs: ['get:/:q'] }), /^--spec: column \d+: .*\n .*\n +\^$/);
  assert.match(text({ payload: '@/nope' }), /^--payload: cannot read payload file \/nope/);
  assert.match(text({ target: 'builtin:nope' }), /unknown target 'builtin:nope' \(known: builtin:goodbye/);
  assert.match(text({ bugs: ['nope'] }), /unknown bug profile 'nope'/);
  assert.match(text({ netns: 'bad name', link: 'tap' }), /^--netns: bad namespace name/);
  assert.match(text({ kernelIp: '10.77.0' }), /--kernel-ip must be an IPv4 address/);
  assert.throws(() => plan({ jobs: 0 }), UsageError);
});
