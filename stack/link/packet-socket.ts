import { NativeFrameLink, type NativeLinkOptions, type PacketSocketNativeStats } from './tap.js';

export interface PacketSocketOpenOptions extends Omit<NativeLinkOptions, 'mtu'> {
  /** The interface to bind to (it must exist). */
  ifname: string;
}

/**
 * The kernel's side of a network interface as a Link: an AF_PACKET SOCK_RAW socket for every
 * protocol (ETH_P_ALL), bound to one interface (packet(7); native/tap.cc's PacketSocket).
 *
 * On a TAP this is the other end of the wire from our stack: a frame sent here leaves through
 * the interface and reaches the TAP's reader, and every frame the reader writes arrives here,
 * whatever its destination MAC — before the kernel's IP layer has looked at it (and dropped it,
 * when it is addressed to a MAC the kernel does not own). Frames the interface itself sends
 * (the kernel's own traffic, and this socket's frames looped back) are skipped in the addon, so
 * `onFrame` sees only what arrived. Needs CAP_NET_RAW.
 */
export class PacketSocketLink extends NativeFrameLink<PacketSocketNativeStats> {
  private constructor(opts: PacketSocketOpenOptions) {
    super('PacketSocket', 'packet socket on', opts.ifname, opts);
  }

  /** Opens the socket; throws when the interface does not exist or CAP_NET_RAW is missing. */
  static open(opts: PacketSocketOpenOptions): PacketSocketLink {
    return new PacketSocketLink(opts);
  }
}
