import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../stack/clock.js';
import { createSimWire } from '../stack/link/sim.js';
import { runSim } from '../stack/sim-driver.js';
import { Stack } from '../stack/stack.js';
import { Rng } from '../stack/rng.js';
import { runScheduled } from '../fuzzers/scheduler.js';
import { runHttpJob, type HttpJobResult, type HttpRequestResult } from '../fuzzers/http/job.js';
import { runNetcatJob, type Dialer, type JobResult } from '../fuzzers/netcat/job.js';
import { parseRequests } from '../fuzzers/http/spec/index.js';
import { HTTP_PAGE, http, unquote } from '../targets/builtin/http.js';
import { parsePayload, payloadFor } from '../fuzzers/payload.js';

const SERVER_IP = 0x0a4d0002;
const HOST = '10.77.0.2';

/** builtin:http on one stack, a client stack dialing it, one sim wire, one virtual clock. */
function httpBench() {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const [a, b] = createSimWire(clock, { latencyMs: 0.05 });
  const server = new Stack({ link: a, mac: 0x020000000002, ip: SERVER_IP, clock, seed: 1, traceLimit: 0 });
  const client = new Stack({ link: b, mac: 0x020000000001, ip: 0x0a4d0001, clock, seed: 2, traceLimit: 0 });
  http.serve(server);
  const dialer: Dialer = { clock, dial: (_host, port) => client.connect(SERVER_IP, port) };
  /** Drives the simulation until `p` settles (bounded in virtual time and steps). */
  const drive = async <T>(p: Promise<T>, maxMs = 600_000): Promise<T> => {
    let done = false;
    void p.finally(() => (done = true));
    await runSim(clock, { until: () => done, untilMs: clock.now() + maxMs, maxSteps: 5_000_000 });
    assert.ok(done, 'the jobs did not finish in virtual time');
    return p;
  };
  /** Runs `n` HTTP jobs of `spec`, `concurrency` at a time; job i's generator is seeded with i. */
  const jobs = (spec: string, n: number, concurrency = 64, extra: { readTimeoutMs?: number; timeoutMs?: number } = {}) =>
    drive(
      runScheduled(
        n,
        (id) =>
          runHttpJob(dialer, {
            id,
            host: HOST,
            port: 80,
            requests: parseRequests(spec),
            rng: new Rng(id),
            timeoutMs: extra.timeoutMs ?? 60_000,
            connectTimeoutMs: 5_000,
            readTimeoutMs: extra.readTimeoutMs ?? 10_000,
          }),
        { concurrency, now: () => clock.now() },
      ).then((all) => all.map((r) => r!)),
    );
  /** Lets every timer run out (TIME-WAIT, keep-alive), then the states both stacks are left in. */
  const settle = async () => {
    await runSim(clock, { untilMs: clock.now() + 300_000 });
    return { server: server.tcp.connections().map((t) => t.state.name), client: client.tcp.connections().map((t) => t.state.name) };
  };
  return { clock, server, client, dialer, drive, jobs, settle };
}

function allRequests(results: HttpJobResult[]): HttpRequestResult[] {
  return results.flatMap((r) => r.http.requests);
}

function text(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

test('1000 × get:/, one connection each: 1000 × 200, clean closes, no resets, nothing left open', async () => {
  const b = httpBench();
  const results = await b.jobs('get:/', 1000, 100);
  assert.equal(results.length, 1000);
  assert.deepEqual(new Set(results.map((r) => r.outcome)), new Set(['eof']));
  const reqs = allRequests(results);
  assert.equal(reqs.length, 1000);
  for (const r of reqs) {
    assert.equal(r.status, 200);
    assert.equal(r.bodyLength, HTTP_PAGE.length);
    assert.equal(r.keepAlive, true);
    assert.equal(r.malformed, undefined);
    assert.equal(r.spec, "'GET':/:h'Host'='10.77.0.2'");
  }
  assert.equal(new Set(results.map((r) => r.localPort)).size, 1000);
  assert.equal(b.server.tcp.stats.resetsSent + b.client.tcp.stats.resetsSent, 0);
  assert.deepEqual(await b.settle(), { server: [], client: [] });
});

test('10 × get:/:x100 (persistent): 1000 × 200 on 10 connections', async () => {
  const b = httpBench();
  const results = await b.jobs('get:/:x100', 10);
  assert.equal(new Set(results.map((r) => r.localPort)).size, 10);
  const reqs = allRequests(results);
  assert.equal(reqs.length, 1000);
  assert.ok(reqs.every((r) => r.status === 200 && r.bodyLength === HTTP_PAGE.length && r.keepAlive === true));
  assert.ok(results.every((r) => r.outcome === 'eof' && r.http.notSent === 0 && r.http.unsolicitedBytes === 0));
  assert.equal(b.server.tcp.stats.resetsSent + b.client.tcp.stats.resetsSent, 0);
  assert.deepEqual(await b.settle(), { server: [], client: [] });
});

test("1000 × get:/ with Connection: close (not persistent): the server answers and FINs first", async () => {
  const b = httpBench();
  const results = await b.jobs("get:/:h'Connection'='close'", 1000, 100);
  const reqs = allRequests(results);
  assert.equal(reqs.length, 1000);
  assert.ok(reqs.every((r) => r.status === 200 && r.keepAlive === false && r.bodyLength === HTTP_PAGE.length));
  assert.ok(results.every((r) => r.outcome === 'eof'));
  // The side that closes first holds TIME-WAIT: here the server, for every connection.
  const states = b.server.tcp.connections().map((t) => t.state.name);
  assert.equal(states.length, 1000);
  assert.deepEqual(new Set(states), new Set(['Time_wait']));
  assert.equal(b.server.tcp.stats.resetsSent + b.client.tcp.stats.resetsSent, 0);
});

test('a server close ends the playlist: the requests after it are counted, not sent', async () => {
  const b = httpBench();
  const [r] = await b.jobs("get:/:h'Connection'='close':x3", 1);
  assert.equal(r!.http.requests.length, 1);
  assert.equal(r!.http.notSent, 2);
  assert.equal(r!.outcome, 'eof');
});

test('get:/p/200:b@100k:x3: the 100 KiB request bodies are read exactly (three 200s on one connection)', async () => {
  const b = httpBench();
  const [r] = await b.jobs('get:/p/200:b@100k:x3', 1);
  const reqs = r!.http.requests;
  assert.deepEqual(
    reqs.map((q) => [q.status, q.bytesSent, q.frozen]),
    Array(3).fill([200, 102_400 + 64, false]),
  );
  assert.equal(reqs[0]!.spec, "'GET':/p/200:b@100k");
  assert.equal(r!.outcome, 'eof');
});

test("get:'/p/200:b@100k': a crafted 100 KiB response body arrives intact", async () => {
  const b = httpBench();
  const [r] = await b.jobs("get:'/p/200:b@100k':x2", 1);
  for (const q of r!.http.requests) {
    assert.equal(q.status, 200);
    assert.equal(q.framing, 'length');
    assert.equal(q.bodyLength, 102_400);
    assert.equal(q.malformed, undefined);
  }
  assert.equal(r!.bytesIn, 2 * (102_400 + 'HTTP/1.1 200 OK\r\nContent-Length: 102400\r\n\r\n'.length));
});

test('get:/:d15 (the client disconnects mid-request): the server answers 400 and closes; no reset, no hang', async () => {
  const b = httpBench();
  const results = await b.jobs('get:/:d15', 50);
  for (const r of results) {
    assert.equal(r.outcome, 'eof');
    const [q] = r.http.requests;
    assert.deepEqual([q!.disconnected, q!.bytesSent, q!.actions], [true, 15, ['disconnect at 15']]);
    assert.equal(q!.status, 400);
    assert.equal(q!.keepAlive, false);
  }
  assert.equal(b.server.tcp.stats.resetsSent + b.client.tcp.stats.resetsSent, 0);
  assert.deepEqual(await b.settle(), { server: [], client: [] });
});

test("the /p/ anchor: get:'/p/200:b\"hi\"' gets exactly hi; bad and empty specs get pathod's 800", async () => {
  const b = httpBench();
  const [r] = await b.jobs(`get:'/p/200:b"hi"' get:'/p/20x:b' get:'/p/' get:/nowhere`, 1, 1, {});
  const [ok, bad, empty, missing] = r!.http.requests;
  assert.equal(ok!.status, 200);
  assert.equal(ok!.bodyLength, 2);
  const raw = text(r!.received);
  assert.ok(raw.startsWith('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 800 Parse Error\r\n'), raw.slice(0, 120));
  assert.deepEqual([bad!.status, bad!.reason], [800, 'Parse Error']);
  assert.match(raw, /pathod error: Error parsing response spec: column 3: .*\n  20x:b\n {4}\^/);
  assert.deepEqual([empty!.status, empty!.reason], [800, 'Not found']);
  assert.match(raw, /pathod error: No valid craft request found/);
  assert.equal(missing!.status, 404);
  assert.equal(r!.outcome, 'eof');
});

test('the /p/ anchor plays pauses and disconnects; URL escapes are decoded as pathod does', async () => {
  const b = httpBench();
  const [paused] = await b.jobs("get:'/p/200:p0,2:b%22x%22'", 1);
  const q = paused!.http.requests[0]!;
  assert.equal(q.status, 200);
  assert.equal(q.bodyLength, 1);
  assert.ok(q.firstByteMs! >= 2000 && q.firstByteMs! < 2010, `first byte after ${q.firstByteMs} ms`);

  const [cut] = await b.jobs("get:'/p/200:b@1k:d50' get:/", 1);
  const c = cut!.http.requests[0]!;
  assert.equal(c.status, 200);
  assert.equal(c.bodyLength, 50 - 'HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n'.length);
  assert.match(c.malformed ?? '', /connection closed after 9 of 1024 body bytes/);
  assert.equal(cut!.bytesIn, 50);
  assert.equal(cut!.http.notSent, 1);
  assert.equal(cut!.outcome, 'eof');
  assert.equal(b.server.tcp.stats.resetsSent, 0);
  assert.equal(unquote('200:b%22hi%22:h%zz'), '200:b"hi":h%zz');
});

test('HEAD gets no body and the connection carries on', async () => {
  const b = httpBench();
  const [r] = await b.jobs('head:/ get:/', 1);
  const [head, get] = r!.http.requests;
  assert.deepEqual([head!.status, head!.framing, head!.bodyLength, head!.keepAlive], [200, 'none', 0, true]);
  assert.deepEqual([get!.status, get!.bodyLength], [200, HTTP_PAGE.length]);
});

test("an idle persistent connection is closed by the server after Node's keep-alive timeout (5 s + Node's 1 s margin, virtual)", async () => {
  const b = httpBench();
  const [r] = await b.jobs('get:/ get:/:p0,7', 1);
  const [first, second] = r!.http.requests;
  assert.equal(first!.status, 200);
  assert.deepEqual(second!.actions, ['pause 7s at 0']);
  assert.equal(second!.bytesSent, 0);
  assert.equal(second!.error, 'server closed the connection after 0 of 35 request bytes');
  assert.equal(r!.outcome, 'eof');
  assert.ok(r!.endedAt - r!.startedAt >= 6000 && r!.endedAt - r!.startedAt < 6100, `closed after ${r!.endedAt - r!.startedAt} ms`);
  assert.equal(b.server.tcp.stats.resetsSent + b.client.tcp.stats.resetsSent, 0);
});

test('a response that never comes is a read timeout; a pause forever ends with the job timeout', async () => {
  const b = httpBench();
  const [stalled] = await b.jobs("get:'/p/200:p0,f'", 1, 1, { readTimeoutMs: 3000 });
  assert.equal(stalled!.http.requests[0]!.error, 'no complete response within 3000 ms');
  assert.equal(stalled!.outcome, 'eof');
  const [forever] = await b.jobs('get:/:p4,f', 1, 1, { timeoutMs: 20_000 });
  assert.equal(forever!.outcome, 'timeout');
  assert.equal(forever!.http.requests[0]!.error, 'the job timed out before the response was complete');
  assert.equal(forever!.endedAt - forever!.startedAt, 20_000);
});

test('the same seeds give the same frozen specs and the same bytes', async () => {
  const run = async () => {
    const b = httpBench();
    const results = await b.jobs("get:/:b@64,ascii:ir,@3 get:'/p/200:b@300'", 3);
    return results.map((r) => ({ specs: r.http.requests.map((q) => q.spec), received: text(r.received) }));
  };
  const [x, y] = [await run(), await run()];
  assert.deepEqual(x, y);
  assert.notEqual(x[0]!.specs[0], x[1]!.specs[0], 'jobs seeded differently draw differently');
  assert.match(x[0]!.specs[0]!, /^'GET':\/:b'.*':i\d+,'.*':h'Content-Length'='64':h'Host'='10\.77\.0\.2'$/);
});

test('a netcat job against builtin:http: the default payload, half-closed, gets one well-formed response (check passes)', async () => {
  const b = httpBench();
  const payload = payloadFor(parsePayload(http.defaultPayload), 1, 0);
  const r: JobResult = await b.drive(runNetcatJob(b.dialer, { id: 0, host: HOST, port: 80, payload, halfClose: true, timeoutMs: 10_000, connectTimeoutMs: 5_000 }));
  assert.equal(r.outcome, 'eof');
  assert.match(text(r.received), /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(http.check(payload, r.received), undefined);
  assert.match(http.check(payload, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc')) ?? '', /after 3 of 9 body bytes/);
  const garbage: JobResult = await b.drive(
    runNetcatJob(b.dialer, { id: 1, host: HOST, port: 80, payload: Buffer.from('\x16\x03\x01 not http\r\n\r\n'), halfClose: true, timeoutMs: 10_000, connectTimeoutMs: 5_000 }),
  );
  assert.match(text(garbage.received), /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.equal(garbage.outcome, 'eof');
  assert.equal(b.server.tcp.stats.resetsSent, 0);
});
