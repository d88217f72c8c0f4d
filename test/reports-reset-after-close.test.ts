/**
 * A RST after both sides had sent FIN aborts nothing (issue #14's socat "echo hello" row): the
 * server shut down its side, then closed with the client's request unread, and Linux answers
 * that with RST (RFC 2525 §2.17). A RST before both FINs is still a reset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../stack/addr.js';
import { ACK, FIN, PSH, RST } from '../stack/wire/tcp.js';
import { analyzeFrames, Conversation, type TimedFrame } from './analyze-support.js';

const CLIENT: [number, number] = [parseIpv4('10.77.0.2')!, 40000];
const SERVER: [number, number] = [parseIpv4('10.77.0.1')!, 8080];

function kinds(build: (c: Conversation) => void): string[] {
  const frames: TimedFrame[] = [];
  build(new Conversation(frames, CLIENT, SERVER, { isn: [100, 9000] }));
  return analyzeFrames(frames, { captureEndUnixS: 1010 }).findings.map((f) => f.kind);
}

test('FIN both ways, then the server RSTs for the request it never read: no reset finding', () => {
  // Before: "server reset 1/1 connections ... after a FIN (abortive close)".
  assert.deepEqual(kinds((c) => c.handshake().send(0, PSH | ACK, { len: 7 }).send(0, FIN | ACK).send(1, ACK).send(1, FIN | ACK, { dt: 0.00001 }).send(1, RST | ACK, { seq: 9002 })), []);
});

test('the server RSTs after its own FIN while the client is still open: a reset', () => {
  assert.deepEqual(kinds((c) => c.handshake().send(0, PSH | ACK, { len: 7 }).send(1, FIN | ACK).send(1, RST | ACK, { seq: 9002 })), ['reset']);
});
