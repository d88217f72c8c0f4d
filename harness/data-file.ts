import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Plain data with byte arrays in it (a plan holds payload bytes and parsed specs) as a JSON file
 * a person can read: every Uint8Array is written as `{"$bytes": "<base64>"}` and read back as a
 * Uint8Array, so a plan survives the trip to the lab child exactly.
 */

const BYTES = '$bytes';

export function encodeData(value: unknown): string {
  return JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      // JSON.stringify has already turned a Uint8Array into an index object by now: look at the original.
      const raw = (this as Record<string, unknown>)[key];
      return raw instanceof Uint8Array ? { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : v;
    },
    1,
  );
}

export function decodeData<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const b = (v as Record<string, unknown>)[BYTES];
      if (keys.length === 1 && typeof b === 'string') return new Uint8Array(Buffer.from(b, 'base64'));
    }
    return v;
  }) as T;
}

export function writeDataFile(path: string, value: unknown): void {
  writeFileSync(path, encodeData(value) + '\n');
}

export function readDataFile<T>(path: string): T {
  return decodeData<T>(readFileSync(path, 'utf8'));
}
