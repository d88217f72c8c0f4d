import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kernelSkipReason } from './env.js';

/** The repository's examples/lwip folder (dist/test/helpers → the package root). */
export const LWIP_DIR = fileURLToPath(new URL('../../../examples/lwip/', import.meta.url));
export const LWIP_SERVER = `${LWIP_DIR}server`;

/**
 * Why the lwIP example cannot run here, or undefined once it is built (`make` in examples/lwip,
 * against Debian's liblwip-dev, which .ci/run installs).
 */
export function lwipSkipReason(): string | undefined {
  const kernel = kernelSkipReason('unshare', 'tshark');
  if (kernel) return kernel;
  if (spawnSync('pkg-config', ['--exists', 'lwip']).status !== 0) return "needs liblwip-dev (pkg-config lwip; .ci/run installs it)";
  const make = spawnSync('make', ['-s', '-C', LWIP_DIR], { encoding: 'utf8' });
  if (make.status !== 0) return `make in examples/lwip failed: ${(make.stderr || make.stdout).trim().split('\n')[0]}`;
  return undefined;
}
