import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layering DESIGN.md asks for, checked on the sources: dependencies point one way,
 * `cli → harness → fuzzers/targets/reports → stack`, `reports/` uses only the pure parts of
 * `stack/`, nothing outside `cli/` (and the tests) imports the command line, and no module
 * imports itself through a cycle.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FOLDERS = ['stack', 'targets', 'fuzzers', 'reports', 'harness', 'cli', 'bench', 'tools'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/**
 * Module → the modules it imports (relative imports, `.js` read as the `.ts` source). With
 * `entries`, also the modules it starts as a worker or a child process (`new URL('./x.js',
 * import.meta.url)`): they count for the layering, but a process boundary is not an import cycle.
 */
function graph(entries: boolean): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of FOLDERS.flatMap(sources)) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const started = entries ? [...text.matchAll(/new URL\('(\.[^']+\.js)', import\.meta\.url\)/g)] : [];
    const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/import\('(\.[^']+)'\)/g), ...started]
      .map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'))
      .filter((d) => !d.startsWith('..'));
    g.set(file, [...new Set(deps)]);
  }
  return g;
}

const top = (file: string): string => file.split('/')[0]!;

/** What each top-level folder may import besides itself. */
const ALLOWED: Record<string, (dep: string) => boolean> = {
  stack: () => false,
  // reports/ analyses any pcap: only the pure parts of the stack (wire formats, pcap, addresses, the error base).
  reports: (d) => /^stack\/(wire|pcap)\//.test(d) || d === 'stack/addr.ts' || d === 'stack/user-error.ts',
  fuzzers: (d) => top(d) === 'stack',
  // docs/design.md: the built-in HTTP target speaks the pathoc language of fuzzers/http.
  targets: (d) => top(d) === 'stack' || d.startsWith('fuzzers/http/'),
  harness: (d) => ['stack', 'targets', 'fuzzers', 'reports'].includes(top(d)),
  cli: (d) => top(d) !== 'bench' && top(d) !== 'tools',
  bench: (d) => top(d) !== 'cli',
  tools: (d) => top(d) === 'reports',
};

test('dependencies point one way', () => {
  const bad: string[] = [];
  for (const [file, deps] of graph(true)) {
    for (const d of deps) if (top(d) !== top(file) && !ALLOWED[top(file)]!(d)) bad.push(`${file} → ${d}`);
  }
  assert.deepEqual(bad, []);
});

test('no cycles in the import graph', () => {
  const g = graph(false);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (m: string, path: string[]): void => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      cycles.push([...path.slice(path.indexOf(m)), m].map((f) => relative('', f)).join(' → '));
      return;
    }
    state.set(m, 'open');
    for (const d of g.get(m) ?? []) visit(d, [...path, m]);
    state.set(m, 'done');
  };
  for (const m of g.keys()) visit(m, []);
  assert.deepEqual(cycles, []);
});
