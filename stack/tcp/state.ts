/**
 * The TCP state machine as data, after mirage-tcpip's `state.ml`: one state type, one action
 * type, one pure transition function. The connection code never assigns a state directly; it
 * ticks an action and reacts to whatever state comes out, so the trace of ticks is the whole
 * story of a connection. State names and the printed shape are mirage's (2014), because the
 * seed's traces are written in them: `{ Syn_rcvd 452873839 }  - Recv_ack 452873840 ->  { Established }`.
 */
export type State =
  | { readonly name: 'Closed' }
  | { readonly name: 'Listen' }
  /** `seq` is our ISS; `passive` records how the connection was opened (MUST-11, RFC 9293 §3.5). */
  | { readonly name: 'Syn_rcvd'; readonly seq: number; readonly passive: boolean }
  | { readonly name: 'Syn_sent'; readonly seq: number }
  | { readonly name: 'Established' }
  | { readonly name: 'Close_wait' }
  /** `seq` is the sequence number of our FIN. */
  | { readonly name: 'Last_ack'; readonly seq: number }
  | { readonly name: 'Fin_wait_1'; readonly seq: number }
  /** mirage counts the ACKs received in FIN-WAIT-2. */
  | { readonly name: 'Fin_wait_2'; readonly count: number }
  | { readonly name: 'Closing'; readonly seq: number }
  | { readonly name: 'Time_wait' };

export type StateName = State['name'];

export type Action =
  | { readonly kind: 'Passive_open' }
  | { readonly kind: 'Recv_rst' }
  /** `seq` is the acknowledgment number of the SYN,ACK. */
  | { readonly kind: 'Recv_synack'; readonly seq: number }
  /**
   * A SYN without ACK: in SYN-SENT a simultaneous open (RFC 9293 §3.10.7.3); in TIME-WAIT a new
   * incarnation that ends the old one (RFC 1122 §4.2.2.13). `seq` is the peer's ISN.
   */
  | { readonly kind: 'Recv_syn'; readonly seq: number }
  /** `seq` is the segment's acknowledgment number. */
  | { readonly kind: 'Recv_ack'; readonly seq: number }
  | { readonly kind: 'Recv_fin' }
  | { readonly kind: 'Send_syn'; readonly seq: number }
  | { readonly kind: 'Send_synack'; readonly seq: number }
  | { readonly kind: 'Send_rst' }
  | { readonly kind: 'Send_fin'; readonly seq: number }
  | { readonly kind: 'Timeout' }
  /** ABORT (§3.10.5) where no RST is due (SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT); not in mirage. */
  | { readonly kind: 'Abort' };

export const CLOSED: State = { name: 'Closed' };
const LISTEN: State = { name: 'Listen' };
const ESTABLISHED: State = { name: 'Established' };
const CLOSE_WAIT: State = { name: 'Close_wait' };
const TIME_WAIT: State = { name: 'Time_wait' };

/** b acknowledges exactly the one sequence number a (a SYN or a FIN). */
function diffone(a: number, b: number): boolean {
  return ((a + 1) >>> 0) === b;
}

/**
 * RFC 9293 §3.3.2 (Figure 5) as a total function. Pairs not listed leave the state unchanged,
 * as in mirage; unlike mirage 2014, a CLOSE (`Send_fin`) in SYN-RECEIVED moves to FIN-WAIT-1
 * (§3.10.4) — whether the connection code ever ticks it there is what the Minnesota Goodbye
 * bug profiles change, not this table.
 */
export function transition(s: State, a: Action): State {
  switch (a.kind) {
    case 'Recv_rst':
      if (s.name === 'Listen' || s.name === 'Closed') return s;
      // §3.10.7.4 "Second": a passive open that is reset returns to LISTEN.
      if (s.name === 'Syn_rcvd' && s.passive) return LISTEN;
      return CLOSED;
    case 'Send_rst':
    case 'Timeout':
    case 'Abort':
      return s.name === 'Listen' ? s : CLOSED;
    default:
      break;
  }
  switch (s.name) {
    case 'Closed':
      if (a.kind === 'Passive_open') return LISTEN;
      if (a.kind === 'Send_syn') return { name: 'Syn_sent', seq: a.seq };
      return s;
    case 'Listen':
      if (a.kind === 'Send_synack') return { name: 'Syn_rcvd', seq: a.seq, passive: true };
      return s;
    case 'Syn_sent':
      if (a.kind === 'Recv_synack' && diffone(s.seq, a.seq)) return ESTABLISHED;
      if (a.kind === 'Recv_syn') return { name: 'Syn_rcvd', seq: s.seq, passive: false };
      return s;
    case 'Syn_rcvd':
      if (a.kind === 'Recv_ack' && diffone(s.seq, a.seq)) return ESTABLISHED;
      if (a.kind === 'Send_fin') return { name: 'Fin_wait_1', seq: a.seq };
      return s;
    case 'Established':
      if (a.kind === 'Send_fin') return { name: 'Fin_wait_1', seq: a.seq };
      if (a.kind === 'Recv_fin') return CLOSE_WAIT;
      return s;
    case 'Close_wait':
      if (a.kind === 'Send_fin') return { name: 'Last_ack', seq: a.seq };
      return s;
    case 'Fin_wait_1':
      if (a.kind === 'Recv_ack' && diffone(s.seq, a.seq)) return { name: 'Fin_wait_2', count: 0 };
      if (a.kind === 'Recv_fin') return { name: 'Closing', seq: s.seq };
      return s;
    case 'Fin_wait_2':
      if (a.kind === 'Recv_ack') return { name: 'Fin_wait_2', count: s.count + 1 };
      if (a.kind === 'Recv_fin') return TIME_WAIT;
      return s;
    case 'Closing':
      if (a.kind === 'Recv_ack' && diffone(s.seq, a.seq)) return TIME_WAIT;
      return s;
    case 'Last_ack':
      if (a.kind === 'Recv_ack' && diffone(s.seq, a.seq)) return CLOSED;
      return s;
    case 'Time_wait':
      if (a.kind === 'Recv_syn') return CLOSED;
      return s;
  }
}

/** mirage's `to_string`: `{ Syn_rcvd 452873839 }`, `{ Fin_wait_2 0 }`, `{ Established }`. */
export function formatState(s: State): string {
  switch (s.name) {
    case 'Syn_rcvd':
    case 'Syn_sent':
    case 'Last_ack':
    case 'Fin_wait_1':
    case 'Closing':
      return `{ ${s.name} ${s.seq} }`;
    case 'Fin_wait_2':
      return `{ ${s.name} ${s.count} }`;
    default:
      return `{ ${s.name} }`;
  }
}

export function formatAction(a: Action): string {
  return 'seq' in a ? `${a.kind} ${a.seq}` : a.kind;
}

/** One trace line, with mirage's spacing: two spaces before `-`, two after `->`. */
export function formatTransition(from: State, action: Action, to: State): string {
  return `${formatState(from)}  - ${formatAction(action)} ->  ${formatState(to)}`;
}
