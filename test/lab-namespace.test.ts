import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { RealClock } from '../stack/clock.js';
import { enterLabNamespace, LabError, setupLab } from '../stack/lab/index.js';
import { kernelSkipReason, run, TestNetns } from './helpers/env.js';

const skip = kernelSkipReason('unshare', 'ping');
const LAB = new URL('../stack/lab/index.js', import.meta.url).href;
const CLOCK = new URL('../stack/clock.js', import.meta.url).href;

interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `node -e CODE` (an ES module) as its own command, so that `enterLabNamespace` re-executes
 * exactly that command. Stopped (SIGTERM, then SIGKILL, by PID) after the test if still running.
 */
function startChild(t: TestContext, code: string, timeoutMs = 15_000): Child {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buf = '';
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      for (const w of watchers.splice(0)) if (w.re.test(l)) w.resolve(l);
      else watchers.push(w);
    }
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (code !== 0 && stderr) t.diagnostic(stderr.trim());
      resolve({ code, signal });
    }),
  );
  t.after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    // SIGTERM first: the parent forwards it and deletes a namespace it created.
    proc.kill('SIGTERM');
    const hard = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(hard);
  });
  const line = (re: RegExp, ms = 10_000): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} (stderr: ${stderr.trim()})`)), ms);
      watchers.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  };
  return { proc, lines, line, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function netnsNames(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout.split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean);
}

test('private namespace: the command re-runs inside a fresh network namespace and its exit code comes back', { skip }, async (t) => {
  const c = startChild(
    t,
    `import { enterLabNamespace } from '${LAB}';
     import { readlinkSync } from 'node:fs';
     const ns = await enterLabNamespace();
     console.log(JSON.stringify({ netns: ns.netns ?? null, ppid: process.ppid, net: readlinkSync('/proc/self/ns/net') }));
     process.exit(5);`,
  );
  const { code } = await c.exited;
  assert.equal(code, 5);
  assert.equal(c.lines.length, 1, 'only the re-executed child printed: the parent never resumed');
  const inside = JSON.parse(c.lines[0]!) as { netns: null; ppid: number; net: string };
  assert.equal(inside.netns, null);
  assert.equal(inside.ppid, c.proc.pid, 'unshare exec()s node: the parent waits on it directly');
  assert.notEqual(inside.net, readlinkSync('/proc/self/ns/net'));
});

test('setupLab inside: lo up, the TAP with 10.77.0.1/24, IPv6 off on it, addresses reported; nothing left outside', { skip }, async (t) => {
  const c = startChild(
    t,
    `import { enterLabNamespace, setupLab } from '${LAB}';
     import { RealClock } from '${CLOCK}';
     import { execFileSync } from 'node:child_process';
     import { readFileSync } from 'node:fs';
     await enterLabNamespace();
     const lab = setupLab({ clock: new RealClock() });
     const sh = (...a) => execFileSync(a[0], a.slice(1), { encoding: 'utf8' });
     console.log(JSON.stringify({
       ifname: lab.ifname, kernelIp: lab.kernelIp, stackIp: lab.stackIp, stackMac: lab.stackMac, kernelMac: lab.kernelMac,
       prefixLen: lab.prefixLen, netns: lab.netns ?? null, maxFrame: lab.link.maxFrame,
       addr: sh('ip', '-o', '-4', 'addr', 'show', 'dev', lab.ifname),
       mac: sh('ip', '-o', 'link', 'show', 'dev', lab.ifname),
       lo: sh('ip', '-o', 'link', 'show', 'dev', 'lo'),
       v6: readFileSync('/proc/sys/net/ipv6/conf/' + lab.ifname + '/disable_ipv6', 'utf8').trim(),
       routes: sh('ip', '-o', '-4', 'route', 'show'),
     }));
     lab.close();
     console.log(JSON.stringify({ afterClose: sh('ip', '-o', 'link', 'show') }));`,
  );
  const { code } = await c.exited;
  assert.equal(code, 0);
  const lab = JSON.parse(c.lines[0]!) as Record<string, string | number | null>;
  assert.equal(lab.ifname, 'tcpfuzz0');
  assert.equal(lab.kernelIp, 0x0a4d0001);
  assert.equal(lab.stackIp, 0x0a4d0002);
  assert.equal(lab.stackMac, 0x027700000002);
  assert.equal(lab.prefixLen, 24);
  assert.equal(lab.netns, null);
  assert.equal(lab.maxFrame, 1514);
  assert.match(String(lab.addr), /inet 10\.77\.0\.1\/24 /);
  assert.match(String(lab.lo), /<LOOPBACK,UP/);
  assert.equal(lab.v6, '1');
  const macText = /link\/ether ([0-9a-f:]{17})/.exec(String(lab.mac))![1]!;
  assert.equal(lab.kernelMac, parseInt(macText.replaceAll(':', ''), 16));
  assert.equal(String(lab.routes).trim(), '10.77.0.0/24 dev tcpfuzz0 proto kernel scope link src 10.77.0.1', 'no route leads anywhere else');
  const after = JSON.parse(c.lines[1]!) as { afterClose: string };
  assert.doesNotMatch(after.afterClose, /tcpfuzz0/, 'closing the link removes the device');
  const outside = await run('ip', ['link', 'show', 'dev', 'tcpfuzz0']);
  assert.notEqual(outside.code, 0, 'the host namespace never saw the TAP');
});

test('named namespace: created, joinable by other tools while the run is on, deleted after SIGTERM; the child dies by the same signal', { skip }, async (t) => {
  const name = `tcpfuzz-lab-${process.pid}`;
  const c = startChild(
    t,
    `import { enterLabNamespace, setupLab } from '${LAB}';
     import { RealClock } from '${CLOCK}';
     const ns = await enterLabNamespace({ netns: '${name}' });
     const lab = setupLab({ clock: new RealClock() });
     console.log('ready ' + lab.netns);
     setInterval(() => {}, 1000);`,
  );
  // Registered after the child's own clean-up, so it runs once the child is gone.
  t.after(async () => {
    if ((await netnsNames()).includes(name)) await run('ip', ['netns', 'delete', name]);
  });
  assert.equal(await c.line(/^ready/), `ready ${name}`);
  assert.ok((await netnsNames()).includes(name));
  const joined = await run('ip', ['netns', 'exec', name, 'ip', '-o', '-4', 'addr', 'show', 'dev', 'tcpfuzz0']);
  assert.match(joined.stdout, /10\.77\.0\.1\/24/, 'another tool sees the lab through ip netns exec');
  const second = startChild(
    t,
    `import { enterLabNamespace, setupLab } from '${LAB}';
     import { RealClock } from '${CLOCK}';
     await enterLabNamespace({ netns: '${name}' });
     try { setupLab({ clock: new RealClock() }); } catch (e) { console.log(e.name + ': ' + e.message); process.exit(2); }`,
  );
  assert.equal((await second.exited).code, 2);
  assert.deepEqual(second.lines, ['LabError: cannot build the lab: TUNSETIFF tcpfuzz0: Device or resource busy'], 'a second run in the same namespace is told why');
  assert.ok((await netnsNames()).includes(name), 'the second run did not create the namespace, so it left it alone');
  c.proc.kill('SIGTERM');
  const { signal } = await c.exited;
  assert.equal(signal, 'SIGTERM');
  assert.ok(!(await netnsNames()).includes(name), 'the namespace it created is gone');
});

test('named namespace that existed before is left in place', { skip }, async (t) => {
  const ns = await TestNetns.create('tcpfuzz-lab');
  t.after(() => ns.close());
  const c = startChild(
    t,
    `import { enterLabNamespace } from '${LAB}';
     const ns = await enterLabNamespace({ netns: '${ns.name}' });
     console.log('inside ' + ns.netns);`,
  );
  const { code } = await c.exited;
  assert.equal(code, 0);
  assert.deepEqual(c.lines, [`inside ${ns.name}`]);
  assert.ok((await netnsNames()).includes(ns.name));
});

test('SIGINT to the parent reaches the child exactly once', { skip }, async (t) => {
  const c = startChild(
    t,
    `import { enterLabNamespace } from '${LAB}';
     await enterLabNamespace();
     process.on('SIGINT', () => { console.log('sigint'); setTimeout(() => process.exit(3), 300); });
     console.log('ready');
     setInterval(() => {}, 1000);`,
  );
  await c.line(/^ready$/);
  c.proc.kill('SIGINT');
  const { code } = await c.exited;
  assert.equal(code, 3);
  assert.deepEqual(c.lines, ['ready', 'sigint']);
});

test('when the parent is killed outright the child terminates itself, so the namespace goes too', { skip }, async (t) => {
  const c = startChild(
    t,
    `import { enterLabNamespace } from '${LAB}';
     await enterLabNamespace();
     console.log('ready ' + process.pid);
     setInterval(() => {}, 1000);`,
  );
  const pid = Number((await c.line(/^ready \d+$/)).split(' ')[1]);
  t.after(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  assert.ok(alive(pid));
  c.proc.kill('SIGKILL');
  await c.exited;
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!alive(pid), 'the orphaned child ended by itself');
});

test('setupLab refuses the namespace this test runs in and creates nothing', { skip }, async () => {
  assert.throws(() => setupLab({ clock: new RealClock(), ifname: 'tfzrefuse0' }), (e: unknown) => e instanceof LabError && /refusing/.test(e.message));
  const r = await run('ip', ['link', 'show', 'dev', 'tfzrefuse0']);
  assert.notEqual(r.code, 0);
});

test('bad lab settings are LabErrors before anything is touched', async () => {
  await assert.rejects(enterLabNamespace({ netns: 'no spaces allowed' }), (e: unknown) => e instanceof LabError && /bad namespace name/.test(e.message));
  assert.throws(() => setupLab({ clock: new RealClock(), kernelIp: 0x0a4d0001, stackIp: 0x0a4d0001 }), /both 10\.77\.0\.1/);
  assert.throws(() => setupLab({ clock: new RealClock(), stackIp: 0x0a4e0002 }), /10\.78\.0\.2 is not in 10\.77\.0\.1\/24/);
  assert.throws(() => setupLab({ clock: new RealClock(), prefixLen: 32 }), /bad prefix length/);
});

test("readKernelSockets sees the lab namespace's own socket table: half-closed clients in FIN_WAIT2", { skip }, async (t) => {
  const c = startChild(
    t,
    `import { enterLabNamespace, readKernelSockets, histogram, setupLab } from '${LAB}';
     import { RealClock } from '${CLOCK}';
     import net from 'node:net';
     await enterLabNamespace();
     setupLab({ clock: new RealClock() });
     const held = [];
     const server = net.createServer({ allowHalfOpen: true }, (s) => held.push(s)).listen(0, '127.0.0.1');
     await new Promise((r) => server.once('listening', r));
     const port = server.address().port;
     for (let i = 0; i < 3; i++) {
       const s = net.connect(port, '127.0.0.1');
       await new Promise((r) => s.once('connect', r));
       s.end(); // FIN sent, the server never closes: the client waits in FIN_WAIT2
       held.push(s);
     }
     await new Promise((r) => setTimeout(r, 200));
     const socks = await readKernelSockets();
     console.log(JSON.stringify({ port, hist: [...histogram(socks)], fw2: socks.filter((s) => s.state === 'FIN_WAIT2').map((s) => [s.localAddress, s.remotePort]) }));
     process.exit(0);`,
  );
  const { code } = await c.exited;
  assert.equal(code, 0);
  const out = JSON.parse(c.lines[0]!) as { port: number; hist: Array<[string, number]>; fw2: Array<[string, number]> };
  assert.deepEqual(out.hist, [
    ['FIN_WAIT2', 3],
    ['CLOSE_WAIT', 3],
    ['LISTEN', 1],
  ], 'exactly the namespace sockets: nothing from the host or other tests');
  assert.deepEqual(out.fw2, [
    ['127.0.0.1', out.port],
    ['127.0.0.1', out.port],
    ['127.0.0.1', out.port],
  ]);
});
