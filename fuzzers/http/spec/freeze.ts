import { readAll } from './byte-source.js';
import { RenderError } from './errors.js';
import { quoteLiteral } from './escapes.js';
import type { ResolvedMessage } from './resolve.js';
import { tokenSpec, valueSpec } from './spec-string.js';

/** A frozen spec writes generated data out as literals; past this it is a mistake, not a replay. */
export const FREEZE_LIMIT = 16 * 1024 * 1024;

/**
 * pathod's `freeze()`: the resolved message as a spec that replays it byte for byte: generated
 * values become the literals this rendering sends, `r`/`a` offsets their numbers, automatic
 * headers explicit `h` clauses at the end. Files stay `<'path'`. A nested `s'…'` stays as
 * written: it is literal text of the request line (pathod froze it, which changed the request
 * it claimed to replay).
 */
export function freezeResolved(resolved: ResolvedMessage): string {
  let budget = FREEZE_LIMIT;
  return resolved.tokens
    .map((t) =>
      tokenSpec(t, (b) => {
        if (b.spec.kind !== 'generated') return valueSpec(b.spec);
        if (b.data.length > budget) {
          throw new RenderError(`cannot freeze ${valueSpec(b.spec)}: frozen specs hold at most ${FREEZE_LIMIT} bytes of generated data`);
        }
        budget -= b.data.length;
        return quoteLiteral(readAll(b.data, b.data.length));
      }),
    )
    .join(':');
}
