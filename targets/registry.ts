import type { BuiltinService } from './target.js';
import { goodbye } from './builtin/goodbye.js';
import { echo } from './builtin/echo.js';
import { discard } from './builtin/discard.js';
import { http } from './builtin/http.js';

export const BUILTIN_SERVICES: readonly BuiltinService[] = [goodbye, echo, discard, http];

export class TargetError extends Error {}

/** Resolves `builtin:NAME`; anything else is a one-line error that lists what exists. */
export function resolveBuiltin(target: string): BuiltinService {
  const m = /^builtin:([a-z0-9-]+)$/.exec(target);
  const found = m ? BUILTIN_SERVICES.find((s) => s.name === m[1]) : undefined;
  if (!found) {
    const names = BUILTIN_SERVICES.map((s) => `builtin:${s.name}`).join(', ');
    throw new TargetError(`unknown target '${target}' (known: ${names})`);
  }
  return found;
}
