import { RealClock } from '../../stack/clock.js';
import { TapLink } from '../../stack/link/tap.js';

/**
 * A "stack" that opens the TAP it is given (TCPFUZZ_TAP) and never sends a frame: what the
 * readiness doctor must call "opened but sent nothing". It reads (and drops) what arrives, and
 * ends on SIGTERM.
 */
const link = TapLink.open({ name: process.env['TCPFUZZ_TAP'] ?? '', clock: new RealClock() });
link.onFrame(() => undefined);
process.on('SIGTERM', () => {
  link.close();
  process.exit(0);
});
setTimeout(() => process.exit(0), 60_000);
