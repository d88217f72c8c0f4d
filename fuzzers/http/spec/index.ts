/**
 * pathoc/pathod's spec language (pathod 6.0.2), for HTTP jobs and the built-in HTTP target:
 * parse, render to a plan of bytes and actions, freeze to a replayable spec. docs/pathoc.md
 * lists where we deliberately differ from pathod.
 */
export type { MessageSpec, Offset, RequestSpec, ResponseSpec, Token, Value } from './ast.js';
export type { ByteRun } from './byte-source.js';
export { RenderError, SpecError } from './errors.js';
export type { FileAccess } from './file-source.js';
export { FREEZE_LIMIT } from './freeze.js';
export { MAX_REPEAT, parseRequests, parseResponse } from './parser.js';
export { renderMessage, sentBytes, type PlanStep, type RenderedMessage } from './render.js';
export type { RenderOptions } from './resolve.js';
export { specString } from './spec-string.js';

import type { MessageSpec } from './ast.js';
import { freezeResolved } from './freeze.js';
import { resolveMessage, type RenderOptions } from './resolve.js';

/** The frozen spec of the rendering `renderMessage(msg, opts)` would make with the same Rng state. */
export function freezeMessage(msg: MessageSpec, opts: RenderOptions): string {
  return freezeResolved(resolveMessage(msg, opts));
}
