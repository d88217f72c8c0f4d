/**
 * The finding rules one by one: each rule, run alone, fires on a small built connection that
 * shows its kind and finds exactly what the whole registry finds there; no rule fires on a
 * healthy connection. Plus the registry's shape and the README's table of it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AnalyzeOptions } from '../reports/analyzer.js';
import { FINDING_KINDS, FINDING_RULES, type FindingKind } from '../reports/findings/registry.js';
import { findingsTable, tableIn } from '../reports/findings/table.js';
import { ALL_FINDING_RULES } from '../harness/run-findings/registry.js';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST, SYN } from '../stack/wire/tcp.js';
import { analyzeFrames, Conversation, only, type TimedFrame } from './analyze-support.js';
import { fuzz } from './helpers/cli.js';

const CLIENT: [number, number] = [parseIpv4('10.77.0.1')!, 40000];
const server = (port: number): [number, number] => [parseIpv4('10.77.0.2')!, port];

interface Scenario {
  frames: TimedFrame[];
  opts?: AnalyzeOptions;
}

/** One connection built segment by segment (time starts at 1000 s). */
function built(port: number, build: (c: Conversation) => void, opts?: AnalyzeOptions): Scenario {
  const frames: TimedFrame[] = [];
  build(new Conversation(frames, CLIENT, server(port), { isn: [100, 9000] }));
  return opts ? { frames, opts } : { frames };
}

/**
 * The goodbye server's bug: it resends its SYN/ACK after the client's data and FIN, never sends
 * FIN, and the client answers each SYN/ACK with the same ACK.
 */
const goodbye = (): Scenario =>
  built(19, (c) => {
    c.send(0, SYN).send(1, SYN | ACK).send(0, ACK).send(0, PSH | ACK, { len: 7 }).send(0, FIN | ACK, { dt: 1 });
    for (const dt of [2, 4, 8]) c.send(1, SYN | ACK, { seq: 9000, ack: 101, dt: 0.0001 }).send(0, ACK, { dt });
  });

/** A connection that shows each kind (a Record: a rule without a scenario does not compile). */
const FIRES: Record<FindingKind, () => Scenario> = {
  'missing-fin': () => built(19, (c) => c.handshake().send(1, PSH | ACK, { len: 3 }).send(0, FIN | ACK).send(1, ACK)),
  // A request never answered, 7 s before the stated end of the capture.
  hang: () => built(80, (c) => c.handshake().send(0, PSH | ACK, { len: 20 }).send(1, ACK), { captureEndUnixS: 1007 }),
  'retransmit-storm': () =>
    built(80, (c) => {
      c.handshake().send(0, PSH | ACK, { len: 10, dt: 0.2 });
      for (const dt of [0.4, 0.8, 1.6]) c.send(0, PSH | ACK, { len: 10, seq: 101, dt });
    }),
  'retransmit-after-close': goodbye,
  reset: () => built(80, (c) => c.handshake().send(0, PSH | ACK, { len: 10 }).send(1, RST | ACK)),
  refused: () => built(81, (c) => c.send(0, SYN).send(1, RST | ACK)),
  'unanswered-syn': () => built(82, (c) => c.send(0, SYN, { dt: 1 }).send(0, SYN, { seq: 100, dt: 2 }).send(0, SYN, { seq: 100 })),
  // The SYN resent after the 1 s timeout.
  'slow-handshake': () => built(80, (c) => c.send(0, SYN, { dt: 1 }).send(0, SYN, { seq: 100 }).send(1, SYN | ACK).send(0, ACK)),
  'zero-window-stall': () =>
    built(80, (c) => {
      c.handshake().send(0, PSH | ACK, { len: 1000 }).send(1, ACK, { window: 0, dt: 0.5 });
      for (let i = 0; i < 3; i++) c.send(0, ACK, { seq: c.next(0) - 1, dt: 0.0001 }).send(1, ACK, { window: 0, dt: 0.5 });
      c.send(1, ACK, { window: 65535 }).send(0, PSH | ACK, { len: 1000 }).send(1, ACK);
    }),
  'duplicate-ack-after-fin': goodbye,
  // A SYN to a 4-tuple the server still holds in TIME_WAIT: a bare ACK, the client's RST, its SYN again.
  'syn-answered-by-ack': () => built(80, (c) => c.send(0, SYN).send(1, ACK, { seq: 7000, ack: 4242 }).send(0, RST, { seq: 4242, dt: 1 }).send(0, SYN, { seq: 100 })),
  // The request's only acknowledgement comes 1.5 s later, after its retransmission.
  stall: () =>
    built(
      80,
      (c) => c.handshake().send(0, PSH | ACK, { len: 100, dt: 1.5 }).send(0, PSH | ACK, { len: 100, seq: 101 }).send(1, ACK).send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK),
      { captureEndUnixS: 1010 },
    ),
  // The client's FIN resent 200 ms and 600 ms after the server's captured FIN covered it (no timestamps).
  'ack-lost-after-capture': () =>
    built(80, (c) => {
      c.handshake().send(0, FIN | ACK).send(1, FIN | ACK, { dt: 0.2 });
      c.send(0, FIN | ACK, { seq: 101, dt: 0.4 }).send(0, FIN | ACK, { seq: 101 });
    }),
};

/** Request, answer, a FIN each way, every segment acknowledged; the capture ends 10 s later. */
const healthy = (): Scenario =>
  built(
    7,
    (c) => c.handshake().send(0, PSH | ACK, { len: 6 }).send(1, PSH | ACK, { len: 6 }).send(0, FIN | ACK).send(1, FIN | ACK).send(0, ACK),
    { captureEndUnixS: 1010 },
  );

describe('each rule, run alone', () => {
  for (const rule of FINDING_RULES) {
    it(`${rule.kind}: fires on its connection, as it does among all the rules`, () => {
      const { frames, opts } = FIRES[rule.kind]();
      const alone = analyzeFrames(frames, { ...opts, rules: [rule] });
      assert.deepEqual(only(alone).findings, [rule.kind]);
      assert.ok(alone.findings.length > 0);
      for (const f of alone.findings) {
        assert.equal(f.kind, rule.kind);
        assert.equal(f.severity, rule.severity);
        assert.equal(f.source, 'capture');
        assert.ok(f.instances.length > 0 && f.instances.every((i) => i.frames.length > 0 && i.detail !== ''));
      }
      const all = analyzeFrames(frames, opts);
      assert.ok(only(all).findings.includes(rule.kind));
      assert.deepEqual(alone.findings, all.findings.filter((f) => f.kind === rule.kind), 'a rule does not depend on the others');
    });

    it(`${rule.kind}: silent on a healthy connection`, () => {
      const { frames, opts } = healthy();
      const report = analyzeFrames(frames, { ...opts, rules: [rule] });
      assert.equal(only(report).close.verdict, 'complete');
      assert.deepEqual(only(report).findings, []);
      assert.deepEqual(report.findings, []);
    });
  }
});

describe('the registry', () => {
  it('one module per kind, each kind once, every kind a registry kind', () => {
    assert.equal(new Set(FINDING_KINDS).size, FINDING_RULES.length);
    assert.deepEqual(FINDING_KINDS, FINDING_RULES.map((r) => r.kind));
    for (const kind of FINDING_KINDS) {
      assert.ok(existsSync(new URL(`../reports/findings/${kind}.js`, import.meta.url)), `reports/findings/${kind}.ts holds the ${kind} rule`);
    }
    for (const r of FINDING_RULES) assert.match(r.summary, /^[A-Z].*\.$/, `${r.kind}: one sentence`);
  });

  it("README.md's findings table is the registry's (npm run docs:findings regenerates it)", () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    assert.equal(tableIn(readme), findingsTable(ALL_FINDING_RULES), 'README.md is stale: run npm run docs:findings');
  });

  it('fuzz list --findings prints kind, severity, where it is found and summary, the run\'s own kinds too; --markdown the table', async () => {
    const list = await fuzz(['list', '--findings']);
    assert.equal(list.code, 0);
    for (const r of ALL_FINDING_RULES) assert.match(list.stdout, new RegExp(`\\n  ${r.kind} +${r.severity} +${r.source} +${r.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    const md = await fuzz(['list', '--findings', '--markdown']);
    assert.equal(md.code, 0);
    assert.equal(md.stdout, findingsTable(ALL_FINDING_RULES));
    const bad = await fuzz(['list', '--markdown']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});
