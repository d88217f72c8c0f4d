import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkipReason, run } from './helpers/env.js';
import { ServeProcess } from './helpers/serve.js';

/**
 * `fuzz serve` against real Linux peers (issue 4): the kernel's ping, ARP, netcat-openbsd and
 * tcpdump/tshark meet our stack over the TAP, in a namespace the serve command creates.
 */
const skip = kernelSkipReason('nc', 'ping', 'tcpdump', 'tshark', 'ss');
const dir = mkdtempSync(join(tmpdir(), 'tcpfuzz-serve-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const STACK = '10.77.0.2';
const NC128 = (port: number, extra = ''): string =>
  `for i in $(seq 1 128); do (echo "hi mom" | ${extra} nc -N ${STACK} ${port} > /tmp/out.$$.$i 2>&1; echo $? >> /tmp/rc.$$) & done; wait; ` +
  `grep -c "I made a string!" /tmp/out.$$.* | grep -c ':1$'; sort /tmp/rc.$$ | uniq -c; rm -f /tmp/out.$$.* /tmp/rc.$$`;

/** Packets a tcpdump filter matches in a pcap. */
async function tcpdumpCount(pcap: string, filter: string): Promise<number> {
  const r = await run('tcpdump', ['-n', '-r', pcap, filter], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim()).length;
}

/** tshark reads the file with checksum validation on and reports no malformed or bad-checksum frame. */
async function assertTsharkClean(pcap: string): Promise<void> {
  const r = await run('tshark', ['-n', '-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', '_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0 || ip.checksum.status == 0'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '', `tshark flags frames in ${pcap}:\n${r.stdout.slice(0, 2000)}`);
}

test('ping and ARP both ways; 128 parallel nc jobs each get the string and a FIN', { skip }, async () => {
  const pcap = join(dir, 'fixed.pcap');
  const s = await ServeProcess.start(['--target', 'builtin:goodbye', '--pcap', pcap]);
  try {
    assert.match(s.stdout, /ready: builtin:goodbye listening on 10\.77\.0\.2:19/);
    assert.match(s.stdout, /ip netns exec tcpfuzz-s-\d+-\d+ sh -c/);
    const ping = await s.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', STACK]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /3 received/);
    const neigh = await s.exec('ip', ['neigh', 'show', STACK]);
    assert.match(neigh.stdout, /02:77:00:00:00:02/, 'the kernel resolved our MAC');
    const one = await s.sh(`echo "hi mom" | timeout 5 nc -N ${STACK} 19`);
    assert.equal(one.code, 0);
    assert.equal(one.stdout, 'I made a string!\n');
    const many = await s.sh(`timeout 20 sh -c '${NC128(19).replace(/'/g, `'\\''`)}'`, 40_000);
    assert.match(many.stdout, /^128\n\s+128 0\n/, many.stdout + many.stderr);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  // The stack answered our ARP too: its ARP request for the kernel's address is in the capture.
  assert.ok((await tcpdumpCount(pcap, 'arp and src host 10.77.0.2')) >= 1);
  assert.equal(await tcpdumpCount(pcap, `src host ${STACK} and tcp[13] & 1 != 0`), 129);
  await assertTsharkClean(pcap);
});

test('--bug minnesota-goodbye: 128 kernel sockets stuck in FIN-WAIT-2 and zero FINs from the stack', { skip }, async () => {
  const pcap = join(dir, 'mg.pcap');
  const s = await ServeProcess.start(['--bug', 'minnesota-goodbye', '--pcap', pcap]);
  try {
    // nc -N waits for the server's FIN forever; the jobs are started in the background and the
    // kernel's view is read while they wait.
    await s.sh(`for i in $(seq 1 128); do (echo "hi mom" | timeout 8 nc -N ${STACK} 19 >/dev/null 2>&1 &) ; done; sleep 3`, 20_000);
    const ss = await s.exec('ss', ['-Htan', 'state', 'fin-wait-2']);
    assert.equal(ss.stdout.trim().split('\n').filter((l) => l.includes(`${STACK}:19`)).length, 128, ss.stdout);
  } finally {
    assert.equal(await s.stop(), 0);
  }
  assert.equal(await tcpdumpCount(pcap, `src host ${STACK} and tcp[13] & 1 != 0`), 0);
  // Every client sent its FIN (a client may resend it: count connections, not packets).
  const fins = await run('tcpdump', ['-n', '-r', pcap, `dst host ${STACK} and tcp[13] & 1 != 0`], { timeoutMs: 30_000 });
  const ports = new Set(fins.stdout.split('\n').map((l) => /10\.77\.0\.1\.(\d+) >/.exec(l)?.[1]).filter(Boolean));
  assert.equal(ports.size, 128, 'every client sent its FIN');
  await assertTsharkClean(pcap);
});

test('--bug minnesota-goodbye-halfway: the string after about one 3 s RTO; SYN/ACKs retransmitted, also after the FIN', { skip }, async () => {
  const pcap = join(dir, 'half.pcap');
  const s = await ServeProcess.start(['--bug', 'minnesota-goodbye-halfway', '--pcap', pcap]);
  try {
    const t0 = Date.now();
    const many = await s.sh(`timeout 25 sh -c '${NC128(19).replace(/'/g, `'\\''`)}'`, 40_000);
    const took = Date.now() - t0;
    assert.match(many.stdout, /^128\n\s+128 0\n/, many.stdout + many.stderr);
    assert.ok(took >= 2900, `the jobs waited about one initial RTO (took ${took} ms)`);
    // The orphaned SYN/ACK timer fires again one doubled RTO (6 s) after its first retransmission.
    await new Promise((r) => setTimeout(r, 7000));
  } finally {
    assert.equal(await s.stop(), 0);
  }
  const synacks = await run('tshark', ['-n', '-r', pcap, '-Y', `ip.src == ${STACK} && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.analysis.retransmission`, '-T', 'fields', '-e', 'tcp.stream', '-e', 'frame.time_relative'], { timeoutMs: 60_000 });
  const streams = new Set(synacks.stdout.trim().split('\n').map((l) => l.split('\t')[0]));
  assert.equal(streams.size, 128, 'every connection saw its SYN/ACK retransmitted');
  const fins = await run('tshark', ['-n', '-r', pcap, '-Y', `ip.src == ${STACK} && tcp.flags.fin == 1`, '-T', 'fields', '-e', 'tcp.stream', '-e', 'frame.time_relative'], { timeoutMs: 60_000 });
  const finAt = new Map(fins.stdout.trim().split('\n').map((l) => l.split('\t') as [string, string]).map(([st, t]) => [st, Number(t)]));
  assert.equal(finAt.size, 128, 'FINs are sent in this profile');
  const after = synacks.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t') as [string, string])
    .filter(([st, t]) => Number(t) > (finAt.get(st) ?? Infinity));
  assert.ok(new Set(after.map(([st]) => st)).size >= 100, `SYN/ACKs after the FIN on most connections, got ${after.length}`);
  await assertTsharkClean(pcap);
});

test('100 MiB into discard and 10 MiB through echo arrive intact, also with 5% of frames dropped', { skip }, async () => {
  for (const faults of [[], ['--faults', 'drop=5%']]) {
    const pcap = join(dir, `bulk${faults.length}.pcap`);
    const s = await ServeProcess.start(['--target', 'builtin:discard', '--pcap', pcap, '--seed', '5', ...faults]);
    try {
      const d = await s.sh(`head -c 104857600 /dev/zero | timeout 60 nc -N ${STACK} 9; echo rc=$?`, 90_000);
      assert.match(d.stdout, /rc=0/, d.stdout + d.stderr);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const e = await ServeProcess.start(['--target', 'builtin:echo', '--pcap', join(dir, `echo${faults.length}.pcap`), '--seed', '5', ...faults]);
    try {
      const r = await e.sh(
        `head -c 10485760 /dev/urandom > /tmp/echo.$$; a=$(sha256sum < /tmp/echo.$$); b=$(timeout 60 nc -N ${STACK} 7 < /tmp/echo.$$ | sha256sum); rm -f /tmp/echo.$$; [ "$a" = "$b" ] && echo same || echo "differ $a $b"`,
        90_000,
      );
      assert.match(r.stdout, /^same$/m, r.stdout + r.stderr);
    } finally {
      assert.equal(await e.stop(), 0);
    }
  }
});
