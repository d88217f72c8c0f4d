import type { TcpConfig } from './config.js';
import { UsageError } from '../user-error.js';

/**
 * Historic bugs the stack can reproduce on demand (`bugs: [...]` on the Stack, `--bug NAME` on
 * the CLI). Each is off by default and reproduces the original *mechanism*, so a detector that
 * finds it finds the real thing, not a missing segment faked on purpose.
 */
export interface BugProfile {
  readonly name: string;
  readonly summary: string;
  /** Where the bug and its fix are recorded. */
  readonly source: string;
  readonly details: string;
  /** Config the profile implies unless the user overrides it (e.g. the 2014 initial RTO). */
  readonly defaults: Partial<TcpConfig>;
}

const PR51 =
  'mirage-tcpip before PR #51 (commit 7f256fb0, Mindy Preston, 2014-05-30; CHANGES v1.1.4); ' +
  'the blog post "The Minnesota Goodbye" (shared/seeds/minnesota-goodbye.txt)';

export const BUG_PROFILES: readonly BugProfile[] = [
  {
    name: 'minnesota-goodbye',
    summary: 'listener hands the connection to the app before the handshake ACK is processed; close() in SYN_RCVD does nothing, so no FIN is ever sent',
    source: PR51,
    details:
      'pcb.ml input_no_pcb, on the ACK matching a listen entry, moved the PCB from `listens` to ' +
      '`channels` and ran the user callback `pushf` BEFORE `Rx.input` processed that ACK. The ' +
      'callback therefore ran in Syn_rcvd, where Tx.close matched `| _ -> return ()`. Reproduced ' +
      'here the same way: the listener calls onConnection while the state is still Syn_rcvd and ' +
      'the SYN,ACK still unacknowledged; the handshake ACK is processed only once the callback has ' +
      'completed (see "callback completion" in tcp/layer.ts); end() in Syn_rcvd completes at once ' +
      'without queueing a FIN. Data written in the callback goes out once the ACK is processed; ' +
      'the FIN never does, so a peer that half-closes waits in FIN_WAIT_2 while this side sits ' +
      'in Close_wait.',
    defaults: {},
  },
  {
    name: 'minnesota-goodbye-halfway',
    summary: "the seed's first attempted fix: close() in SYN_RCVD waits for the data to flush, but the handshake ACK still waits for the callback, so nothing moves until the SYN,ACK is retransmitted (3 s), and SYN,ACKs keep coming after close",
    source: PR51,
    details:
      'The blog post\'s intermediate patch let Tx.close run in Syn_rcvd (`UTX.wait_for_flushed` ' +
      'then Send_fin) without changing the order in input_no_pcb. The callback now blocks in ' +
      'close: the user queue cannot flush before Established, Established needs the handshake ' +
      'ACK, and that ACK waits for the callback. The deadlock is broken by the retransmission ' +
      'timer: after the initial RTO (3.0 s in 2014, this profile\'s default) the SYN,ACK is resent, ' +
      'the peer answers with a duplicate ACK that reaches the connection directly (it is already ' +
      'in `channels`), Syn_rcvd -> Established, the data and then the FIN go out, close returns, ' +
      'and the callback completes. Meanwhile segments carrying data or a FIN (the seed\'s "hi mom") ' +
      'wait in order behind the held ACK, as they did behind the stalled Rx.input of that flow; ' +
      'pure ACKs take the ACK path — which is why a data segment does not end the pause and the ' +
      'duplicate ACK does. When the callback has completed the held ACK is processed ' +
      '— now stale (the seed\'s ' +
      '`{ Fin_wait_1 .. }  - Recv_ack <isn+1> ->  { Fin_wait_1 .. }` line). ' +
      'Why SYN,ACKs continue after the close (our reconstruction; the 2014 Tx/Rx thread code ' +
      'is not reproduced line by line): in mirage the listen entry `(tx_isn, (pushf, (pcb, th)))` ' +
      'owns the handshake — its SYN,ACK and the retransmission thread started with it — and the ' +
      'one thing meant to retire that thread is the processing of the ACK that matched the entry. ' +
      'Here that ACK is processed last and acknowledges nothing new, so the entry\'s timer is never ' +
      'cancelled: it keeps resending the SYN,ACK with exponential back-off until its retry limit, ' +
      'long after the connection has closed. In the plain minnesota-goodbye profile the same ACK ' +
      'is processed right after the (non-blocking) callback, while the SYN,ACK is still ' +
      'outstanding, so it retires the timer and no retransmission is seen — as in the seed.',
    defaults: { initialRto: 3000 },
  },
];

/** The behaviour switches the TCP code consults (derived from the chosen profiles). */
export interface BugSwitches {
  /** Hand passive connections to the app before processing the handshake's final ACK. */
  readonly callbackBeforeHandshakeAck: boolean;
  /** What close() does in Syn_rcvd: RFC 9293 §3.10.4, mirage 2014's no-op, or the halfway fix. */
  readonly closeInSynRcvd: 'rfc' | 'noop' | 'wait-for-flush';
}

export class BugProfileError extends UsageError {
  override readonly name = 'BugProfileError';
}

/** Checks names against BUG_PROFILES; throws BugProfileError (one line) on an unknown or conflicting name. */
export function validateBugs(names: readonly string[]): BugProfile[] {
  const out: BugProfile[] = [];
  for (const n of names) {
    const p = BUG_PROFILES.find((b) => b.name === n);
    if (!p) throw new BugProfileError(`unknown bug profile '${n}' (known: ${BUG_PROFILES.map((b) => b.name).join(', ')}; fuzz list shows them)`);
    if (!out.includes(p)) out.push(p);
  }
  if (out.length > 1 && out.every((p) => p.name.startsWith('minnesota-goodbye'))) {
    throw new BugProfileError("bug profiles 'minnesota-goodbye' and 'minnesota-goodbye-halfway' are two stages of one bug; choose one");
  }
  return out;
}

export function bugSwitches(profiles: readonly BugProfile[]): BugSwitches {
  const has = (n: string): boolean => profiles.some((p) => p.name === n);
  return {
    callbackBeforeHandshakeAck: has('minnesota-goodbye') || has('minnesota-goodbye-halfway'),
    closeInSynRcvd: has('minnesota-goodbye') ? 'noop' : has('minnesota-goodbye-halfway') ? 'wait-for-flush' : 'rfc',
  };
}
