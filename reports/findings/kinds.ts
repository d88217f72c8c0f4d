/**
 * The capture's finding kinds, in the registry's order: a plain list the report's types (and
 * the JSON Schema generated from them) can name without loading the rules. registry.ts checks,
 * at compile time, that its rules are exactly these kinds in this order.
 */
export const FINDING_KINDS = [
  'missing-fin',
  'hang',
  'retransmit-storm',
  'retransmit-after-close',
  'reset',
  'refused',
  'unanswered-syn',
  'slow-handshake',
  'zero-window-stall',
  'duplicate-ack-after-fin',
  'syn-answered-by-ack',
  'stall',
  'ack-lost-after-capture',
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];
