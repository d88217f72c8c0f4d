/**
 * packetimpact's matching rule for TCP segments: a field the test leaves unset is a
 * don't-care; a set field must equal what arrived. A mismatch is reported field by field with
 * the frame number, the numbers also relative to the ISNs when they are known (as Wireshark
 * shows them), so a failing script says what it wanted and what the stack did.
 */
import { tcpFlagsShort, type TcpOption, type TcpRepr } from '../../../stack/wire/tcp.js';

/** A segment with any field left out: a default when sending, a don't-care when matching. */
export type SegmentFields = Partial<TcpRepr>;

/** The fields a segment is compared on, in header order. */
const FIELDS = ['srcPort', 'dstPort', 'seq', 'ack', 'flags', 'window', 'urgent', 'options', 'payload'] as const;
type Field = (typeof FIELDS)[number];

/** ISNs to show sequence numbers against: `seq` of the sender, `ack` of the receiver. */
export interface RelativeTo {
  seq?: number;
  ack?: number;
}

export interface FieldMismatch {
  field: Field;
  expected: string;
  got: string;
}

/** The fields of `expected` that `got` does not have; empty when it matches. */
export function segmentMismatches(expected: SegmentFields, got: TcpRepr, rel: RelativeTo = {}): FieldMismatch[] {
  const out: FieldMismatch[] = [];
  for (const field of FIELDS) {
    const want = expected[field];
    if (want === undefined) continue;
    if (!fieldEquals(field, want, got[field])) out.push({ field, expected: showField(field, want, rel), got: showField(field, got[field], rel) });
  }
  return out;
}

export function segmentMatches(expected: SegmentFields, got: TcpRepr): boolean {
  return FIELDS.every((f) => expected[f] === undefined || fieldEquals(f, expected[f], got[f]));
}

function fieldEquals(field: Field, a: TcpRepr[Field], b: TcpRepr[Field]): boolean {
  switch (field) {
    case 'options':
      return showOptions(a as TcpOption[]) === showOptions(b as TcpOption[]);
    case 'payload': {
      const x = a as Uint8Array;
      return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(b as Uint8Array);
    }
    default:
      return a === b;
  }
}

function showField(field: Field, v: TcpRepr[Field], rel: RelativeTo): string {
  switch (field) {
    case 'flags':
      return tcpFlagsShort(v as number);
    case 'seq':
      return showNumber(v as number, rel.seq);
    case 'ack':
      return showNumber(v as number, rel.ack);
    case 'options':
      return `<${showOptions(v as TcpOption[])}>`;
    case 'payload':
      return showPayload(v as Uint8Array);
    default:
      return String(v);
  }
}

function showNumber(n: number, isn: number | undefined): string {
  return isn === undefined ? String(n) : `${n} (relative ${((n - isn) | 0).toString()})`;
}

/** A segment on one line, tcpdump style: `40000 > 80 [S.] seq 1 ack 2 win 65535 <mss 1460> len 0`. */
export function describeSegment(s: TcpRepr, rel: RelativeTo = {}): string {
  const opts = s.options.length > 0 ? ` <${showOptions(s.options)}>` : '';
  const urg = s.urgent !== 0 ? ` urg ${s.urgent}` : '';
  return `${s.srcPort} > ${s.dstPort} [${tcpFlagsShort(s.flags)}] seq ${showNumber(s.seq, rel.seq)} ack ${showNumber(s.ack, rel.ack)} win ${s.window}${urg}${opts} ${showPayload(s.payload)}`;
}

/** The fields a partial segment sets, in the same words as describeSegment. */
export function describeFields(f: SegmentFields, rel: RelativeTo = {}): string {
  const parts = FIELDS.flatMap((field) => (f[field] === undefined ? [] : [`${field} ${showField(field, f[field], rel)}`]));
  return parts.length > 0 ? `{${parts.join(', ')}}` : '{any segment}';
}

function showOptions(opts: readonly TcpOption[]): string {
  return opts.map(showOption).join(',');
}

function showOption(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return o.kind;
    case 'mss':
      return `mss ${o.mss}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.map(([l, r]) => `{${l}:${r}}`).join('')}`;
    case 'timestamps':
      return `TS val ${o.tsval} ecr ${o.tsecr}`;
    case 'unknown':
      return `opt-${o.type} ${Buffer.from(o.data).toString('hex')}`;
    case 'padding':
      return `padding ${Buffer.from(o.data).toString('hex')}`;
  }
}

const PREVIEW_BYTES = 32;

/** `len N`, and the first bytes as text when they are printable, else as hex. */
function showPayload(p: Uint8Array): string {
  if (p.length === 0) return 'len 0';
  const head = Buffer.from(p.subarray(0, PREVIEW_BYTES));
  const more = p.length > PREVIEW_BYTES ? '…' : '';
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  return `len ${p.length} ${printable ? JSON.stringify(head.toString('latin1')) : head.toString('hex')}${more}`;
}

/** An expectation that failed: what was wanted, what came (or that nothing did), and where. */
export class ExpectError extends Error {
  override readonly name = 'ExpectError';
  constructor(
    message: string,
    /** The frame (1-based, in the order the endpoint received them) that failed, if one did. */
    readonly frame: number | undefined,
    readonly mismatches: readonly FieldMismatch[],
  ) {
    super(message);
  }
}
