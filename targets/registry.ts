import type { BuiltinService } from './target.js';
import { goodbye } from './builtin/goodbye.js';
import { echo } from './builtin/echo.js';
import { discard } from './builtin/discard.js';
import { http } from './builtin/http.js';
import { EnvironmentError, UsageError } from '../stack/user-error.js';

export const BUILTIN_SERVICES: readonly BuiltinService[] = [goodbye, echo, discard, http];

/** A `--target` that names nothing we can fuzz (syntax, unknown name, unreachable address). */
export class TargetError extends UsageError {
  override readonly name = 'TargetError';
}

/** A target that was named right but did not come up (exited, never listened): the target's to fix. */
export class TargetStartError extends EnvironmentError {
  override readonly name = 'TargetStartError';
}

/** Resolves `builtin:NAME`; anything else is a one-line error that lists what exists. */
export function resolveBuiltin(target: string): BuiltinService {
  const m = /^builtin:([a-z0-9-]+)$/.exec(target);
  const found = m ? BUILTIN_SERVICES.find((s) => s.name === m[1]) : undefined;
  if (!found) {
    const names = BUILTIN_SERVICES.map((s) => `builtin:${s.name}`).join(', ');
    throw new TargetError(`unknown target '${target}' (known: ${names}; kernel-side targets: tcp://HOST:PORT or exec:PORT:'COMMAND')`);
  }
  return found;
}
