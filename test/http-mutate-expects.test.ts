/**
 * Expected outcomes travel with each mutated variant (issue #14 item 5): a variant whose request
 * line may have lost its version asked for HTTP/0.9, so a bare reply is no malformed-response; a
 * variant left incomplete may leave the server waiting (no job-stuck); a plain request gets both.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mutateSpecs, mutateVariants } from '../fuzzers/http/mutate.js';
import type { HttpJobResult } from '../fuzzers/http/job.js';
import { planRun } from '../harness/plan.js';
import { judge } from '../harness/judge.js';
import type { RawRun } from '../harness/raw-run.js';
import { Rng } from '../stack/rng.js';
import { analyzeFrames } from './analyze-support.js';

test('variants carry what their mutations allow, and are the same specs mutateSpecs gives', () => {
  const v = mutateVariants(['get:/', 'post:/:b@10'], new Rng(3), 200);
  assert.deepEqual(v.map((x) => x.spec), mutateSpecs(['get:/', 'post:/:b@10'], new Rng(3), 200));
  assert.ok(v.every((x) => x.expects.length > 0 && x.expects.every((e) => ['bare-reply', 'no-reply', 'reset'].includes(e))));
  assert.ok(v.some((x) => x.expects.includes('bare-reply')) && v.some((x) => !x.expects.includes('bare-reply')));
});

const env = { privileged: false, readFile: () => new Uint8Array(0), now: new Date(0), randomSeed: () => 1 };

function httpJob(id: number, over: Partial<HttpJobResult> & { malformed?: string }): HttpJobResult {
  const request = { index: 0, spec: 'get:/', frozen: true, method: 'GET', actions: [], bytesPlanned: 10, bytesSent: 10, disconnected: false, ...(over.malformed ? { malformed: over.malformed } : {}) };
  return { id, outcome: 'eof', remoteAddress: '10.77.0.2', remotePort: 80, startedAt: 0, endedAt: 10, bytesOut: 10, bytesIn: 5, received: new Uint8Array(0), http: { requests: [request], notSent: 0, unsolicitedBytes: 0 }, ...over } as HttpJobResult;
}

function rawOf(jobs: HttpJobResult[]): RawRun {
  return { link: 'sim', jobs, notStarted: 0, interrupted: false, peerSockets: new Map(), peerSocketSource: 'test', pcapPath: 'run.pcap', pcapFrames: 0, tracePath: '', traceLines: 0, faultStats: undefined, faultLedger: undefined, startedAt: 0, endedAt: 1, stackStats: {}, stackStates: {}, harness: null, kernelTcp: null };
}

test('a bare reply to a variant that may be HTTP/0.9, and a wait on one left incomplete, are no findings; on a plain request they are', () => {
  const p = planRun({ link: 'sim', seed: 1, out: '/tmp/x', target: 'builtin:http', mutate: '50' }, env);
  assert.equal(p.workload.fuzzer, 'http');
  const expects = p.workload.fuzzer === 'http' ? p.workload.playlistExpects : [];
  const bare = expects.findIndex((e) => e.includes('bare-reply'));
  const waits = expects.findIndex((e) => e.includes('no-reply'));
  assert.ok(bare >= 0 && waits >= 0);
  const analysis = analyzeFrames([]);
  const mutated = judge(p, rawOf([httpJob(bare, { malformed: 'no status line' }), httpJob(waits, { outcome: 'timeout' })]), analysis);
  // Before: malformed-response and job-stuck, both errors against the server.
  assert.deepEqual(mutated.findings.map((f) => f.kind), []);
  const plain = planRun({ link: 'sim', seed: 1, out: '/tmp/x', target: 'builtin:http' }, env);
  const v = judge(plain, rawOf([httpJob(0, { malformed: 'no status line' }), httpJob(1, { outcome: 'timeout' })]), analysis);
  assert.deepEqual(v.findings.map((f) => f.kind), ['malformed-response', 'job-stuck']);
});
