import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseLabPrivileges, labPrivilegeProblem } from '../stack/lab/index.js';
import { hasCommand, isRoot, run } from './helpers/env.js';

const ALL_CAPS = (1n << 41n) - 1n;
const BOTH = new Set(['ip', 'unshare']);
const LAB = new URL('../stack/lab/index.js', import.meta.url).href;

test('nothing missing: no problem', () => {
  assert.equal(diagnoseLabPrivileges({ capEff: ALL_CAPS, tunExists: true, commands: BOTH, named: false }), undefined);
  assert.equal(diagnoseLabPrivileges({ capEff: (1n << 12n) | (1n << 21n), tunExists: true, commands: BOTH, named: false }), undefined);
});

test('each missing piece is named in one line that points at --link sim', () => {
  const msg = diagnoseLabPrivileges({ capEff: 0n, tunExists: false, commands: new Set(), named: false })!;
  assert.equal(msg, "the TAP lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), /dev/net/tun, the 'ip' command, the 'unshare' command; --link sim works without them");
  assert.doesNotMatch(msg, /\n/);
  assert.equal(
    diagnoseLabPrivileges({ capEff: 1n << 12n, tunExists: true, commands: BOTH, named: false }),
    'the TAP lab needs root (CAP_SYS_ADMIN); --link sim works without them',
  );
  assert.equal(
    diagnoseLabPrivileges({ capEff: ALL_CAPS, tunExists: true, commands: new Set(['ip']), named: false }),
    "the TAP lab needs the 'unshare' command; --link sim works without them",
  );
  assert.equal(diagnoseLabPrivileges({ capEff: ALL_CAPS, tunExists: true, commands: new Set(['ip']), named: true }), undefined, 'a named namespace needs no unshare');
});

test('as root here: no problem', { skip: isRoot() ? undefined : 'needs root' }, () => {
  assert.equal(labPrivilegeProblem(), undefined);
});

test('as an unprivileged user: the missing capabilities are named', { skip: isRoot() && hasCommand('setpriv') ? undefined : 'needs root and setpriv' }, async () => {
  const r = await run('setpriv', [
    '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
    process.execPath, '--input-type=module', '-e', `import { labPrivilegeProblem } from '${LAB}'; console.log(labPrivilegeProblem());`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'the TAP lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); --link sim works without them');
});

test('without ip and unshare on PATH: the commands are named', { skip: isRoot() ? undefined : 'needs root' }, async () => {
  const r = await run('env', [
    'PATH=/nonexistent', process.execPath, '--input-type=module', '-e', `import { labPrivilegeProblem } from '${LAB}'; console.log(labPrivilegeProblem());`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "the TAP lab needs the 'ip' command, the 'unshare' command; --link sim works without them");
});
