import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { BROADCAST_MAC, parseMac } from '../stack/addr.js';
import { RealClock } from '../stack/clock.js';
import { PacketSocketLink } from '../stack/link/packet-socket.js';
import { iproute, linkAddress, TapLink } from '../stack/link/tap.js';
import { ARP_REQUEST, parseArp } from '../stack/wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP, parseEthernet } from '../stack/wire/ethernet.js';
import { namespaceTests } from './helpers/in-namespace.js';

const nsTest = namespaceTests(import.meta.url);

const IFNAME = 'tfzps0';
const STACK_MAC = 0x027700000002;
const FOREIGN_MAC = 0x027700000003;
/** IEEE 802 local experimental ethertype: the kernel has no handler for it and drops it quietly. */
const ETHERTYPE_EXPERIMENTAL = 0x88b5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, maxMs: number): Promise<boolean> {
  for (let waited = 0; waited < maxMs && !cond(); waited += 5) await sleep(5);
  return cond();
}

function frame(dst: number, src: number, tag: number): Uint8Array {
  return emitEthernet({ dst, src, ethertype: ETHERTYPE_EXPERIMENTAL, payload: new Uint8Array(46).fill(tag) });
}

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** A TAP in this (private) namespace with the kernel's side at 10.77.0.1/24, up, IPv6 off (no MLD). */
function tapWithKernelSide(clock: RealClock): { tap: TapLink; kernelMac: number } {
  const tap = TapLink.open({ name: IFNAME, clock });
  writeFileSync(`/proc/sys/net/ipv6/conf/${IFNAME}/disable_ipv6`, '1');
  iproute(['addr', 'add', '10.77.0.1/24', 'dev', IFNAME]);
  iproute(['link', 'set', 'dev', IFNAME, 'up']);
  return { tap, kernelMac: parseMac(linkAddress(IFNAME))! };
}

nsTest("a packet socket on a TAP's kernel side: its frames reach the TAP's reader byte for byte, the reader's frames reach it whatever their MAC, the kernel's own frames do not", async () => {
  const clock = new RealClock();
  const { tap, kernelMac } = tapWithKernelSide(clock);
  const errors: string[] = [];
  const socket = PacketSocketLink.open({ ifname: IFNAME, clock, onError: (m) => errors.push(m) });
  const atTap: Uint8Array[] = [];
  const atSocket: Uint8Array[] = [];
  tap.onFrame((f) => atTap.push(f.slice()));
  socket.onFrame((f) => atSocket.push(f.slice()));
  try {
    assert.equal(socket.ifname, IFNAME);
    assert.equal(socket.maxFrame, 1514);
    const out = frame(STACK_MAC, FOREIGN_MAC, 1);
    socket.send(out);
    assert.ok(await until(() => atTap.length >= 1, 2000), 'the TAP reader got the frame');
    assert.deepEqual(atTap.map(hex), [hex(out)]);

    // The reader writes to a MAC nobody has, to everyone, and to the kernel: all three arrive.
    const sent = [frame(FOREIGN_MAC, STACK_MAC, 2), frame(BROADCAST_MAC, STACK_MAC, 3), frame(kernelMac, STACK_MAC, 4)];
    for (const f of sent) tap.send(f);
    assert.ok(await until(() => atSocket.length >= 3, 2000), `the socket got ${atSocket.length} of 3`);
    assert.deepEqual(atSocket.map(hex), sent.map(hex), 'in order, byte for byte, and not its own frame looped back');

    // The kernel sends on its own (a datagram to 10.77.0.2 makes it ask ARP for the address):
    // the TAP's reader sees that, the socket skips it as outgoing.
    const udp = dgram.createSocket('udp4');
    udp.send(Buffer.from('x'), 9, '10.77.0.2');
    const kernelArp = (f: Uint8Array): boolean => {
      const eth = parseEthernet(f);
      if (!eth.ok || eth.value.ethertype !== ETHERTYPE_ARP) return false;
      const arp = parseArp(eth.value.payload);
      return arp.ok && arp.value.op === ARP_REQUEST && arp.value.senderMac === kernelMac;
    };
    assert.ok(await until(() => atTap.some(kernelArp), 2000), "the kernel's ARP request reached the TAP");
    udp.close();
    await sleep(50);
    assert.equal(atSocket.length, 3, 'nothing the kernel sent');
    const s = socket.stats;
    assert.ok(s.rxOutgoing >= 1, `outgoing frames counted: ${s.rxOutgoing}`);
    assert.deepEqual([s.rxFrames, s.txFrames, s.rxUnclaimed, s.txErrors], [3, 1, 0, 0]);

    // The interface goes away under the socket: one error, then silence.
    tap.close();
    assert.ok(await until(() => errors.length > 0, 2000), 'the socket reported the lost interface');
    await sleep(50);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.equal(errors[0], `packet socket on ${IFNAME}: socket: Network is down`);
  } finally {
    socket.close();
    tap.close();
  }
});

nsTest('a closed packet socket delivers nothing and counts what it is still given', async () => {
  const clock = new RealClock();
  const { tap } = tapWithKernelSide(clock);
  const socket = PacketSocketLink.open({ ifname: IFNAME, clock });
  const atSocket: Uint8Array[] = [];
  socket.onFrame((f) => atSocket.push(f));
  try {
    socket.close();
    socket.close();
    tap.send(frame(FOREIGN_MAC, STACK_MAC, 5));
    socket.send(frame(STACK_MAC, FOREIGN_MAC, 6));
    await sleep(50);
    assert.deepEqual(atSocket, []);
    assert.equal(socket.stats.txAfterClose, 1);
  } finally {
    tap.close();
  }
});

test('opening a packet socket on an interface that does not exist fails with one line naming it', () => {
  assert.throws(() => PacketSocketLink.open({ ifname: 'nosuch0', clock: new RealClock() }), { message: 'interface nosuch0: No such device' });
});
