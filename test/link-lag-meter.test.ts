/**
 * The harness's own lag (issue #14 item 1): a frame read later than its sender's TSval progress
 * says it left waited for us, not for the network. The meter measures it per connection against
 * the least delayed frame; past the bound the connection's findings are set apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '../stack/addr.js';
import { VirtualClock } from '../stack/clock.js';
import type { FrameReceiver, Link } from '../stack/link/link.js';
import { flowKey, LagMeterLink } from '../stack/link/lag-meter.js';
import { ACK, PSH, SYN } from '../stack/wire/tcp.js';
import { harnessFellBehind, harnessLoad, OVERLOAD_BOUND_MS, type HarnessSample } from '../harness/harness-load.js';
import { tcpFrame } from './analyze-support.js';

const KERNEL = parseIpv4('10.77.0.1')!;
const STACK = parseIpv4('10.77.0.2')!;

/** A link whose frames the test delivers by hand, with the read stamps it chooses. */
class HandLink implements Link {
  readonly clock = new VirtualClock();
  readonly maxFrame = 1514;
  receiver: FrameReceiver | undefined;
  send(): void {}
  onFrame(cb: FrameReceiver): void {
    this.receiver = cb;
  }
  close(): void {}
}

const segment = (port: number, tsval: number): Uint8Array =>
  tcpFrame(KERNEL, STACK, { srcPort: 40000, dstPort: port, seq: 1, ack: 1, flags: PSH | ACK, window: 65535, urgent: 0, options: [{ kind: 'timestamps', tsval, tsecr: 0 }], payload: new Uint8Array(10) });

test('a connection read 226 ms late against 86 ms of its sender clock shows 140 ms of lag; an on-time one none', () => {
  const hand = new HandLink();
  const meter = new LagMeterLink(hand);
  const got: number[] = [];
  meter.onFrame((_f, at) => got.push(at!));
  // Connection to port 80: the SYN-time frame at 1000 ms (TSval 5000), the request read at 1226 ms with TSval 5086.
  hand.receiver!(segment(80, 5000), 1000);
  hand.receiver!(segment(80, 5086), 1226);
  // Port 81: on time.
  hand.receiver!(segment(81, 9000), 1000);
  hand.receiver!(segment(81, 9100), 1100.4);
  assert.deepEqual(got, [1000, 1226, 1000, 1100.4], 'frames pass through with their read stamps');
  const lags = meter.lags();
  assert.equal(lags.get(flowKey('10.77.0.1:40000', '10.77.0.2:80'))!.maxLagMs, 140);
  assert.ok(lags.get(flowKey('10.77.0.2:81', '10.77.0.1:40000'))!.maxLagMs < 1);
});

test('a SYN held in its sender\'s neighbour queue (ARP) is not our lag', () => {
  const hand = new HandLink();
  const meter = new LagMeterLink(hand);
  const syn = tcpFrame(KERNEL, STACK, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 65535, urgent: 0, options: [{ kind: 'timestamps', tsval: 5000, tsecr: 0 }], payload: new Uint8Array(0) });
  // Built at TSval 5000, it left after the ARP retry a second later; the ACK left at once.
  hand.receiver!(syn, 2000);
  hand.receiver!(segment(80, 6025), 2025);
  hand.receiver!(segment(80, 6030), 2030);
  assert.equal(meter.lags().get(flowKey('10.77.0.1:40000', '10.77.0.2:80'))!.maxLagMs, 0);
});

test('past the bound the run says the harness was overloaded, and that connection is its own doing', () => {
  const hand = new HandLink();
  const meter = new LagMeterLink(hand);
  hand.receiver!(segment(80, 5000), 1000);
  hand.receiver!(segment(80, 5010), 1010 + OVERLOAD_BOUND_MS + 50);
  hand.receiver!(segment(81, 5000), 1000);
  const sample: HarnessSample = {
    lags: meter.lags(),
    stalls: [[5000, 5300]],
    eventLoop: { maxMs: 12, p99Ms: 10, meanMs: 10 },
    device: { rxFrames: 3, rxBytes: 0, rxBatches: 3, rxErrors: 0, txFrames: 0, txBytes: 0, txDeferred: 0, txDeferredMaxMs: 0, txQueued: 0, txQueueDrops: 0, txErrors: 0, lastError: undefined, rxUnclaimed: 0, txAfterClose: 0 },
    kernelLink: { tx_dropped: 0, rx_dropped: 0 },
  };
  assert.equal(harnessFellBehind(sample, '10.77.0.1:40000', '10.77.0.2:80', 1000, 1300), true);
  assert.equal(harnessFellBehind(sample, '10.77.0.1:40000', '10.77.0.2:81', 1000, 1300), false);
  // Read on time, but open while the event loop stood still for 300 ms: our timers fired late.
  assert.equal(harnessFellBehind(sample, '10.77.0.1:40000', '10.77.0.2:81', 4900, 5100), true);
  const load = harnessLoad(sample);
  assert.equal(load.overloaded, true);
  assert.equal(load.lag_ms.connections_over_bound, 1);
  assert.match(load.summary, /^the harness was overloaded: frames of 1 connection read up to 250 ms later/);
  assert.equal(harnessLoad({ ...sample, lags: new Map() }).overloaded, false);
});
