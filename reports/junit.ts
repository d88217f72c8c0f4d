import { writeFileSync } from 'node:fs';
import { packets, showCommands } from './commands.js';
import { escapeXml } from './escape.js';
import { FINDING_KINDS, type AnalysisReport, type Finding } from './report.js';

interface Case {
  classname: string;
  name: string;
  time: number;
  failure?: { message: string; type: string; body: string };
}

/**
 * junit.xml for CI: suite "findings" has one test case per finding kind checked (passing when
 * the capture has none) and one failing case per finding group; suite "connections" has one
 * case per connection record in the report, failing when the connection has findings.
 */
export function formatJunit(report: AnalysisReport): string {
  const findingCases: Case[] = [];
  for (const kind of FINDING_KINDS) {
    const groups = report.findings.filter((f) => f.kind === kind);
    if (groups.length === 0) findingCases.push({ classname: 'findings', name: `no ${kind}`, time: 0 });
    for (const f of groups) findingCases.push(findingCase(report, f));
  }
  const connectionCases: Case[] = report.connections.map((r) => {
    const name = `#${r.stream} ${r.client.ip}:${r.client.port} → ${r.server.ip}:${r.server.port} (${r.close.verdict})`;
    const c: Case = { classname: `connections.${r.server.ip}:${r.server.port}`, name, time: r.duration_ms / 1000 };
    if (r.findings.length > 0) {
      const body = report.findings
        .flatMap((f) => f.instances.filter((i) => i.stream === r.stream).map((i) => `${f.kind}: ${i.detail}`))
        .join('\n');
      c.failure = { message: r.findings.join(', '), type: r.findings[0]!, body };
    }
    return c;
  });
  const props = Object.entries(report.run ?? {}).map(
    ([k, v]) => `    <property name="${escapeXml(k)}" value="${escapeXml(typeof v === 'string' ? v : JSON.stringify(v))}"/>`,
  );
  const suite = (name: string, cases: Case[]): string[] => {
    const failures = cases.filter((c) => c.failure).length;
    const lines = [`  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`];
    if (props.length > 0) lines.push('   <properties>', ...props, '   </properties>');
    for (const c of cases) lines.push(...caseXml(c));
    lines.push('  </testsuite>');
    return lines;
  };
  const all = [...findingCases, ...connectionCases];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tcpfuzz analyze ${escapeXml(report.capture.file ?? '')}" tests="${all.length}" failures="${all.filter((c) => c.failure).length}">`,
    ...suite('findings', findingCases),
    ...suite('connections', connectionCases),
    '</testsuites>',
    '',
  ].join('\n');
}

export function writeJunit(report: AnalysisReport, path: string): void {
  writeFileSync(path, formatJunit(report));
}

function findingCase(report: AnalysisReport, f: Finding): Case {
  const cmd = showCommands(report, f);
  const body = [
    f.explanation,
    '',
    ...f.instances.slice(0, 20).map((i) => `#${i.stream} ${i.client.ip}:${i.client.port} → ${i.server.ip}:${i.server.port}: ${i.detail}`),
    ...(f.connections > 20 ? [`… and ${f.connections - 20} more`] : []),
    '',
    `show: ${cmd.tcpdump}  (${packets(f.show.tcpdump_packets)})`,
    `      ${cmd.tshark}  (${packets(f.show.tshark_packets)})`,
  ].join('\n');
  return { classname: `findings.${f.kind}`, name: f.title, time: 0, failure: { message: f.title, type: f.kind, body } };
}

function caseXml(c: Case): string[] {
  const open = `   <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="${c.time.toFixed(3)}"`;
  if (!c.failure) return [`${open}/>`];
  return [
    `${open}>`,
    `    <failure message="${escapeXml(c.failure.message)}" type="${escapeXml(c.failure.type)}">${escapeXml(c.failure.body)}</failure>`,
    '   </testcase>',
  ];
}
