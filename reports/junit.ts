import { writeFileSync } from 'node:fs';
import { packets, showCommands } from './commands.js';
import { escapeXml } from './escape.js';
import { FINDING_KINDS } from './findings/registry.js';
import { ladderFileName, Representatives } from './html/representatives.js';
import type { Finding } from './report.js';
import type { Report } from './run-report.js';

interface Case {
  classname: string;
  name: string;
  time: number;
  failure?: { message: string; type: string; body: string };
  /** What a passing case reports (an explained finding's explanation). */
  out?: string;
}

/**
 * junit.xml for CI, agreeing with the verdict: it fails exactly when the run or the analysis
 * does. Suite "findings" has one passing case per finding kind the capture was checked for and
 * has none of, one failing case per standing finding (capture or run), and one passing case per
 * finding the injected faults explain (reported in its output, failing nothing). Suite
 * "connections" has one case per connection record, failing when the connection has a finding
 * that stands on it. The data (job rows, records) stays in report.json; only the replay command,
 * target, link and seed ride along as properties.
 */
export function formatJunit(report: Report): string {
  const findingCases: Case[] = [];
  for (const kind of FINDING_KINDS) {
    if (!report.findings.some((f) => f.kind === kind)) findingCases.push({ classname: 'findings', name: `no ${kind}`, time: 0 });
  }
  const reps = new Representatives(report);
  for (const f of report.findings) findingCases.push(findingCase(report, reps, f));
  for (const f of report.verdict.explained_by_faults) {
    findingCases.push({ classname: `findings.${f.kind}`, name: `explained by the injected faults: ${f.title}`, time: 0, out: f.explanation });
  }
  const apart = report.set_apart.flatMap((a) => a.findings.map((f) => ({ f, reason: a.reason })));
  for (const { f, reason } of apart) {
    findingCases.push({ classname: `findings.${f.kind}`, name: `not charged to the target (${reason}): ${f.title}`, time: 0, out: f.explanation });
  }
  // A connection's finding is explained on it when an explained or set-apart finding of that kind lists it.
  const explainedOn = new Set([...report.verdict.explained_by_faults, ...apart.map((a) => a.f)].flatMap((f) => f.instances.map((i) => `${f.kind}|${i.stream}`)));
  const connectionCases: Case[] = report.connections.map((r) => {
    const name = `#${r.stream} ${r.client.ip}:${r.client.port} → ${r.server.ip}:${r.server.port} (${r.close.verdict})`;
    const c: Case = { classname: `connections.${r.server.ip}:${r.server.port}`, name, time: r.duration_ms / 1000 };
    const standing = r.findings.filter((k) => !explainedOn.has(`${k}|${r.stream}`));
    if (standing.length > 0) {
      const body = report.findings
        .flatMap((f) => f.instances.filter((i) => i.stream === r.stream).map((i) => `${f.kind}: ${i.detail}`))
        .join('\n');
      c.failure = { message: standing.join(', '), type: standing[0]!, body };
    }
    return c;
  });
  const run = report.run;
  const props = run
    ? Object.entries({ command: run.command, target: run.target, link: run.link, seed: String(run.seed), exit_code: String(report.verdict.exit_code) }).map(
        ([k, v]) => `    <property name="${escapeXml(k)}" value="${escapeXml(v)}"/>`,
      )
    : [];
  const suite = (name: string, cases: Case[]): string[] => {
    const failures = cases.filter((c) => c.failure).length;
    const lines = [`  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`];
    if (props.length > 0) lines.push('   <properties>', ...props, '   </properties>');
    for (const c of cases) lines.push(...caseXml(c));
    lines.push('  </testsuite>');
    return lines;
  };
  const all = [...findingCases, ...connectionCases];
  const title = run ? `tcpfuzz run ${run.target}` : `tcpfuzz analyze ${report.capture.file ?? ''}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(title)}" tests="${all.length}" failures="${all.filter((c) => c.failure).length}">`,
    ...suite('findings', findingCases),
    ...suite('connections', connectionCases),
    '</testsuites>',
    '',
  ].join('\n');
}

export function writeJunit(report: Report, path: string): void {
  writeFileSync(path, formatJunit(report));
}

function findingCase(report: Report, reps: Representatives, f: Finding): Case {
  const cmd = showCommands(report, f);
  const body = [
    f.explanation,
    '',
    ...f.instances.slice(0, 20).map((i) => `#${i.stream} ${i.client.ip}:${i.client.port} → ${i.server.ip}:${i.server.port}: ${i.detail}`),
    ...(f.connections > 20 ? [`… and ${f.connections - 20} more`] : []),
    '',
    `show: ${cmd.tcpdump}  (${packets(f.show.tcpdump_packets)})`,
    `      ${cmd.tshark}  (${packets(f.show.tshark_packets)})`,
    ...(reps.forFinding(f) ? [`ladder: ${ladderFileName(report.findings, f)} (beside this file: a representative connection, segment by segment)`] : []),
  ].join('\n');
  return { classname: `findings.${f.kind}`, name: f.title, time: 0, failure: { message: f.title, type: f.kind, body } };
}

function caseXml(c: Case): string[] {
  const open = `   <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="${c.time.toFixed(3)}"`;
  if (c.out !== undefined) return [`${open}>`, `    <system-out>${escapeXml(c.out)}</system-out>`, '   </testcase>'];
  if (!c.failure) return [`${open}/>`];
  return [
    `${open}>`,
    `    <failure message="${escapeXml(c.failure.message)}" type="${escapeXml(c.failure.type)}">${escapeXml(c.failure.body)}</failure>`,
    '   </testcase>',
  ];
}
