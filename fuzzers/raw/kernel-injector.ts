/**
 * Kernel-side raw TCP injection: TCP segments crafted byte by byte with our own wire emitters
 * and sent at the stack under test through the kernel's real output path (routing, neighbour
 * cache, the TAP device), from inside the lab namespace.
 *
 * The socket is `socket(AF_INET, SOCK_RAW, IPPROTO_RAW)`, which implies IP_HDRINCL (raw(7)): we
 * write the whole IPv4 header, so every TCP field *and* the source address are ours. A raw
 * socket of protocol TCP would also do, but it receives a copy of every TCP segment in the
 * namespace; IPPROTO_RAW is send-only, so nothing piles up unread. With IP_HDRINCL Linux still
 * rewrites Total Length and the header checksum (to the values our emitter already wrote) and
 * fills in a zero Identification — except in a DF datagram, which Linux leaves at zero as an
 * atomic datagram (RFC 6864 §4.1). Ours are DF with ident 0, so the datagram that reaches the
 * TAP is byte for byte the one built here.
 *
 * Safety: the socket is bound to the lab's TAP device (SO_BINDTODEVICE), so a datagram can only
 * leave through that device — in any other namespace the device does not exist and open() fails;
 * and every destination outside the lab's prefix is refused before anything is sent.
 */
import { createRequire } from 'node:module';
import { ipv4ToString, type Ipv4 } from '../../stack/addr.js';
import { emitIpv4, IPPROTO_TCP } from '../../stack/wire/ipv4.js';
import { emitTcp, type TcpRepr } from '../../stack/wire/tcp.js';

/** Why injection is not possible; the message is one line a user can act on. */
export type InjectErrorKind = 'no-privilege' | 'unavailable' | 'not-in-lab' | 'send-failed' | 'closed';

export class InjectError extends Error {
  override readonly name = 'InjectError';
  constructor(
    readonly kind: InjectErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** What the injector needs to know of the lab (stack/link/lab.ts's Lab has all three). */
export interface InjectorLab {
  /** The TAP device the datagrams must leave through. */
  ifname: string;
  /** Any address of the lab's prefix (the kernel side's). */
  kernelIp: Ipv4;
  prefixLen: number;
}

export interface TcpInjection {
  src: Ipv4;
  dst: Ipv4;
  repr: TcpRepr;
}

/** The part of raw-socket's API used here (the package ships no types). */
interface RawSocket {
  send(buf: Buffer, offset: number, length: number, address: string, after: (error: Error | null, bytes: number) => void): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  pauseRecv(): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(opts: { protocol: number }): RawSocket;
  SocketLevel: { SOL_SOCKET: number };
  SocketOption: { SO_BINDTODEVICE: number };
}

/** IPPROTO_RAW (raw(7)): send-only, IP_HDRINCL implied. */
const IPPROTO_RAW = 255;
const TTL = 64;
/**
 * A sendto() on a raw socket completes at once unless the socket buffer is full; the send is
 * queued until the fd is writable, so the wait for it is bounded: past this the injector is
 * closed (a datagram that goes out late would land in the wrong phase of an experiment).
 */
const SEND_TIMEOUT_MS = 1000;
const EMPTY = new Uint8Array(0);

export class KernelInjector {
  private closed = false;

  private constructor(
    private readonly socket: RawSocket,
    private readonly lab: InjectorLab,
  ) {}

  /**
   * Opens the raw socket bound to `lab.ifname`. Throws InjectError: `no-privilege` without
   * CAP_NET_RAW, `unavailable` when the addon does not load or the device is not here.
   */
  static open(lab: InjectorLab): KernelInjector {
    const raw = loadRawSocket();
    let socket: RawSocket;
    try {
      socket = raw.createSocket({ protocol: IPPROTO_RAW });
    } catch (e) {
      // raw-socket throws strerror() text without an errno code.
      const msg = (e as Error).message;
      if (msg === 'Operation not permitted') throw new InjectError('no-privilege', 'kernel-side injection needs a raw socket, which needs CAP_NET_RAW (run as root)');
      throw new InjectError('unavailable', `cannot open a raw IPv4 socket: ${msg}`);
    }
    // The socket starts polled for reading; an IPPROTO_RAW socket never becomes readable, and
    // the poll would keep the event loop alive until close().
    socket.pauseRecv();
    const dev = Buffer.from(`${lab.ifname}\0`);
    try {
      socket.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, dev, dev.length);
    } catch (e) {
      socket.close();
      throw new InjectError('unavailable', `cannot bind the raw socket to ${lab.ifname}: ${(e as Error).message} (injection runs inside the lab namespace)`);
    }
    return new KernelInjector(socket, lab);
  }

  /**
   * Sends one segment as the IPv4 datagram `tcpDatagram` builds. Resolves with that datagram
   * once sendto() took it; rejects with InjectError (`not-in-lab` before anything is sent,
   * `send-failed`, `closed`). Never retries.
   */
  sendTcp(seg: TcpInjection): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new InjectError('closed', 'the kernel injector is closed'));
    const mask = (0xffffffff << (32 - this.lab.prefixLen)) >>> 0;
    const net = (this.lab.kernelIp & mask) >>> 0;
    if (((seg.dst & mask) >>> 0) !== net) {
      return Promise.reject(new InjectError('not-in-lab', `refusing to inject toward ${ipv4ToString(seg.dst)}: outside the lab's ${ipv4ToString(net)}/${this.lab.prefixLen}`));
    }
    const datagram = tcpDatagram(seg);
    const buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const dst = ipv4ToString(seg.dst);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new InjectError('send-failed', `sending to ${dst} did not complete within ${SEND_TIMEOUT_MS} ms; the injector is closed`));
      }, SEND_TIMEOUT_MS);
      this.socket.send(buf, 0, buf.length, dst, (error, bytes) => {
        clearTimeout(timer);
        if (error) reject(new InjectError('send-failed', `sending ${buf.length} bytes to ${dst} failed: ${error.message}`));
        else if (bytes !== buf.length) reject(new InjectError('send-failed', `sent ${bytes} of ${buf.length} bytes to ${dst}`));
        else resolve(datagram);
      });
    });
  }

  /** Closes the socket; sends not yet handed to the kernel are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** The IPv4 datagram sendTcp hands to the kernel: TTL 64, DF, ident 0, no IP options, checksums computed. */
export function tcpDatagram(seg: TcpInjection): Uint8Array {
  return emitIpv4({
    src: seg.src,
    dst: seg.dst,
    protocol: IPPROTO_TCP,
    ttl: TTL,
    tos: 0,
    ident: 0,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    options: EMPTY,
    payload: emitTcp(seg.repr, seg.src, seg.dst),
  });
}

/** raw-socket is CommonJS with a native addon: loaded on first use, so importing this is free. */
function loadRawSocket(): RawSocketModule {
  try {
    return createRequire(import.meta.url)('raw-socket') as RawSocketModule;
  } catch (e) {
    throw new InjectError('unavailable', `the raw-socket addon does not load (npm ci builds it): ${(e as Error).message.split('\n')[0]}`);
  }
}
