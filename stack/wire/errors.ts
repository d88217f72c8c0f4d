/**
 * Typed parse failures. Parsers in `stack/wire/` never throw on input bytes: hostile frames are
 * the point of a fuzzer, so every rejection names the layer, the field and the byte offset,
 * and the caller decides (drop and count, report, or re-parse without checksum verification).
 */
export type WireLayer = 'ethernet' | 'arp' | 'ipv4' | 'icmp' | 'tcp' | 'frame';

/**
 * `truncated`: the bytes end before the field does; `bad-field`: a value the format forbids;
 * `bad-checksum`: the internet checksum does not verify; `unsupported`: well-formed but not a
 * variant this code decodes (e.g. ARP for a non-Ethernet hardware type, an unknown linktype).
 */
export type WireErrorKind = 'truncated' | 'bad-field' | 'bad-checksum' | 'unsupported';

export interface WireError {
  layer: WireLayer;
  kind: WireErrorKind;
  /** The offending field, in the RFC's words ("data offset", "option length", "total length"). */
  field: string;
  /** Byte offset of the field within the buffer given to the parser (decodeFrame: the frame). */
  offset: number;
  /** What was seen and what was expected, e.g. "bad data offset 3 (must be 5..15)". */
  detail: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Builds a rejection; allocation happens only on the error path. */
export function wireFail(layer: WireLayer, kind: WireErrorKind, field: string, offset: number, detail: string): { ok: false; error: WireError } {
  return { ok: false, error: { layer, kind, field, offset, detail } };
}

/** One line, e.g. "tcp: bad data offset 3 (must be 5..15) at byte 12". */
export function formatWireError(e: WireError): string {
  return `${e.layer}: ${e.detail} at byte ${e.offset}`;
}
