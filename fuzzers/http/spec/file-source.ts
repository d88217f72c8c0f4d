import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { ByteSource } from './byte-source.js';
import { RenderError } from './errors.js';

/**
 * Where `<path` values may be read from. pathoc reads relative to its working directory and
 * anywhere (`confined: false`); pathod only below its static directory. Without a FileAccess,
 * file values are refused, as pathod does without `-d`.
 */
export interface FileAccess {
  readonly root: string;
  readonly confined: boolean;
}

/** A file's bytes, sized now and read range by range while they are sent. */
export function fileSource(path: string, access: FileAccess | undefined): ByteSource {
  if (!access) throw new RenderError('File access disabled.');
  const expanded = path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
  const root = resolve(access.root);
  const full = normalize(isAbsolute(expanded) ? expanded : join(root, expanded));
  if (access.confined && full !== root && !full.startsWith(root + sep)) {
    throw new RenderError(`File access outside of configured directory: ${path}`);
  }
  let length: number;
  try {
    const st = statSync(full);
    if (!st.isFile()) throw new Error('not a file');
    length = st.size;
  } catch {
    throw new RenderError(`File not readable: ${path}`);
  }
  return {
    length,
    *read(start, end, max) {
      const fd = openSync(full, 'r');
      try {
        for (let at = start; at < end; ) {
          const buf = new Uint8Array(Math.min(max, end - at));
          const got = readSync(fd, buf, 0, buf.length, at);
          if (got === 0) throw new RenderError(`File shrank while being sent: ${path}`);
          yield buf.subarray(0, got);
          at += got;
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}
