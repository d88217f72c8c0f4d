/**
 * Every finding rule of the capture analysis, in the order they are listed (`fuzz list
 * --findings`, the README table, junit's checks). Adding a finding is a rule module, its kind in
 * kinds.ts and one line here; the compiler rejects a registry that does not match kinds.ts.
 */
import { ackLostAfterCapture } from './ack-lost-after-capture.js';
import { duplicateAckAfterFin } from './duplicate-ack-after-fin.js';
import { hang } from './hang.js';
import { FINDING_KINDS, type FindingKind } from './kinds.js';
import { missingFin } from './missing-fin.js';
import { refused } from './refused.js';
import { reset } from './reset.js';
import { retransmitAfterClose } from './retransmit-after-close.js';
import { retransmitStorm } from './retransmit-storm.js';
import { predictableIsn } from './predictable-isn.js';
import type { CaptureWideRule, FindingRule } from './rule.js';
import { slowHandshake } from './slow-handshake.js';
import { stall } from './stall.js';
import { synAnsweredByAck } from './syn-answered-by-ack.js';
import { unansweredSyn } from './unanswered-syn.js';
import { zeroWindowStall } from './zero-window-stall.js';

export { FINDING_KINDS, type FindingKind };

/** One rule per kind, at the kind's position. */
type RulesFor<K extends readonly FindingKind[]> = { readonly [I in keyof K]: FindingRule<K[I]> };

export const FINDING_RULES = [
  missingFin,
  hang,
  retransmitStorm,
  retransmitAfterClose,
  reset,
  refused,
  unansweredSyn,
  slowHandshake,
  zeroWindowStall,
  duplicateAckAfterFin,
  synAnsweredByAck,
  stall,
  ackLostAfterCapture,
] as const satisfies RulesFor<typeof FINDING_KINDS>;

/** The rules about a server's connections together, after the per-connection ones. */
export const CAPTURE_WIDE_RULES: readonly CaptureWideRule[] = [predictableIsn];

/** A rule of the registry (its kind is a FindingKind). */
export type CaptureFindingRule = FindingRule<FindingKind>;
