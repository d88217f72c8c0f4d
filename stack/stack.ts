import type { Ipv4, Mac } from './addr.js';
import type { Clock } from './clock.js';
import { Interface } from './iface/interface.js';
import type { Link } from './link/link.js';
import { silentLogger, type Logger } from './log.js';
import { bugSwitches, validateBugs, type BugProfile } from './tcp/bugs.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './tcp/config.js';
import { TcpLayer, type ConnectOptions } from './tcp/layer.js';
import type { ConnectionHandler, Listener } from './tcp/listener.js';
import type { TcpSocket } from './tcp/socket.js';
import { TransitionTrace, type TransitionRecord } from './tcp/trace.js';

export interface StackOptions {
  link: Link;
  mac: Mac;
  ip: Ipv4;
  /** Default 24. */
  prefixLen?: number;
  /** How long a learned ARP entry is trusted (the interface's default when absent). */
  arpTimeoutMs?: number;
  clock: Clock;
  log?: Logger;
  /** Deterministic ISNs and ephemeral ports; RFC 9293 §3.4.1 random-key mode when absent. */
  seed?: number;
  /** Bug profiles to switch on (tcp/bugs.ts); unknown names throw BugProfileError. */
  bugs?: string[];
  /** TCP tunables; the bug profiles' defaults apply underneath these. */
  tcp?: Partial<TcpConfig>;
  /** Transition records kept for `trace` (ring buffer, oldest dropped); default 10,000, 0 keeps none. */
  traceLimit?: number;
  /** Receives every transition record (e.g. to stream the trace to a file). */
  onTransition?: (r: TransitionRecord) => void;
}

const ETHERNET_IPV4_TCP_HEADERS = 14 + 20 + 20;

/**
 * A userspace TCP/IP host: one interface (ARP, IPv4, ICMP echo) and TCP on top, driven by the
 * given clock over the given link.
 */
export class Stack {
  readonly iface: Interface;
  readonly tcp: TcpLayer;
  readonly bugs: readonly BugProfile[];
  readonly config: TcpConfig;
  /** The transition trace (bounded); `trace` reads it as a list. */
  readonly transitions: TransitionTrace;

  constructor(opts: StackOptions) {
    const log = opts.log ?? silentLogger;
    this.bugs = validateBugs(opts.bugs ?? []);
    const profileDefaults = Object.assign({}, ...this.bugs.map((b) => b.defaults)) as Partial<TcpConfig>;
    this.config = {
      ...DEFAULT_TCP_CONFIG,
      mss: Math.max(64, opts.link.maxFrame - ETHERNET_IPV4_TCP_HEADERS),
      ...profileDefaults,
      ...opts.tcp,
    };
    this.transitions = new TransitionTrace(log, { limit: opts.traceLimit ?? 10_000, onTransition: opts.onTransition });
    this.iface = new Interface({ link: opts.link, mac: opts.mac, ip: opts.ip, prefixLen: opts.prefixLen ?? 24, clock: opts.clock, log, arpTimeoutMs: opts.arpTimeoutMs });
    this.tcp = new TcpLayer({
      ip: this.iface,
      clock: opts.clock,
      log,
      config: this.config,
      bugs: bugSwitches(this.bugs),
      trace: this.transitions,
      seed: opts.seed,
    });
  }

  listen(port: number, onConnection: ConnectionHandler, opts?: { backlog?: number }): Listener {
    return this.tcp.listen(port, onConnection, opts);
  }

  connect(ip: Ipv4, port: number, opts?: ConnectOptions): TcpSocket {
    return this.tcp.connect(ip, port, opts);
  }

  /** The kept transition records, oldest first. */
  get trace(): TransitionRecord[] {
    return this.transitions.list();
  }

  /** Aborts every connection, stops every timer, closes the interface. */
  close(): void {
    this.tcp.close();
    this.iface.close();
  }
}
