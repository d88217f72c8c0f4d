import { UsageError } from '../stack/user-error.js';

/**
 * Setting values as typed on the command line or written in a case file, checked with one-line
 * UsageErrors that name the flag: the plan and the command-line thresholds share them.
 */

/** A whole number in [min, max] from flag text, or a UsageError naming the flag. */
export function intFlag(name: string, text: string | undefined, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${name} must be a whole number, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A duration: plain milliseconds, or with a unit (250ms, 10s, 2m). */
export function durationFlag(name: string, text: string | undefined, dfltMs: number, minMs = 1, maxMs = 24 * 3600_000): number {
  if (text === undefined) return dfltMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${name} must be a duration like 500ms, 10s or 2m, got '${text}'`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (ms < minMs || ms > maxMs) throw new UsageError(`--${name} must be between ${minMs} ms and ${maxMs} ms, got ${ms} ms`);
  return ms;
}
