import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { histogram, parseProcNetTcp, type KernelTcpState } from '../stack/lab/index.js';

// Lines as a little-endian Linux prints them: the address is the raw 32-bit word (bytes
// reversed), the port is big-endian hex. Taken from a lab run (kernel clients to 10.77.0.2:19).
const SAMPLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8AC3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41721 1 0000000000000000 100 0 0 10 0
   1: 01004D0A:D2F0 02004D0A:0013 05 00000000:00000000 00:00000000 00000000     0        0 41730 1 0000000000000000 20 4 30 10 -1
   2: 01004D0A:D2F2 02004D0A:0013 05 00000000:00000000 00:00000000 00000000     0        0 41731 1 0000000000000000 20 4 30 10 -1
   3: 01004D0A:D2F4 02004D0A:0013 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   4: 01004D0A:D2F6 02004D0A:0013 01 0000000A:00000003 01:00000014 00000000  1000        0 41740 1 0000000000000000 20 4 30 10 -1
   5: garbage line
`;

test('parseProcNetTcp decodes states, host-order addresses, big-endian ports and queues', { skip: endianness() === 'LE' ? undefined : 'sample is little-endian' }, () => {
  const socks = parseProcNetTcp(SAMPLE);
  assert.equal(socks.length, 5, 'the header and the malformed line are skipped');
  assert.deepEqual(socks[0], {
    state: 'LISTEN',
    localIp: 0x7f000001,
    localAddress: '127.0.0.1',
    localPort: 0x8ac3,
    remoteIp: 0,
    remoteAddress: '0.0.0.0',
    remotePort: 0,
    txQueue: 0,
    rxQueue: 0,
    uid: 0,
    inode: 41721,
  });
  assert.equal(socks[1]!.state, 'FIN_WAIT2');
  assert.equal(socks[1]!.localAddress, '10.77.0.1');
  assert.equal(socks[1]!.remoteAddress, '10.77.0.2');
  assert.equal(socks[1]!.remotePort, 19);
  assert.equal(socks[3]!.state, 'TIME_WAIT');
  assert.equal(socks[3]!.inode, 0);
  assert.equal(socks[4]!.state, 'ESTABLISHED');
  assert.equal(socks[4]!.txQueue, 10);
  assert.equal(socks[4]!.rxQueue, 3);
  assert.equal(socks[4]!.uid, 1000);
});

test('histogram counts per state, most frequent first, ties in the kernel state order', () => {
  const states: KernelTcpState[] = ['TIME_WAIT', 'FIN_WAIT2', 'LISTEN', 'FIN_WAIT2', 'ESTABLISHED', 'TIME_WAIT', 'FIN_WAIT2'];
  const h = histogram(states.map((state) => ({ state })));
  assert.deepEqual([...h], [
    ['FIN_WAIT2', 3],
    ['TIME_WAIT', 2],
    ['ESTABLISHED', 1],
    ['LISTEN', 1],
  ]);
  assert.equal(histogram([]).size, 0);
});
