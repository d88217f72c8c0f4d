/** The registry as the README's findings table, and the check that the README's copy is current. */
import type { FindingRuleInfo } from './rule.js';

export const TABLE_BEGIN = '<!-- findings:begin -->';
export const TABLE_END = '<!-- findings:end -->';

/** The rules as a Markdown table: kind | found in | severity | what it means. */
export function findingsTable(rules: readonly (FindingRuleInfo & { source?: 'capture' | 'run' })[]): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const where = (r: { source?: 'capture' | 'run' }): string => (r.source === 'run' ? 'the run' : 'the capture');
  const rows = rules.map((r) => `| \`${r.kind}\` | ${where(r)} | ${r.severity} | ${cell(r.summary)} |`);
  return ['| kind | found in | severity | what it means |', '|---|---|---|---|', ...rows, ''].join('\n');
}

/** Where the table sits in a Markdown text: the offsets just after the begin marker's line and at the end marker. */
function tableSpan(markdown: string): { from: number; to: number } {
  const begin = markdown.indexOf(TABLE_BEGIN);
  const end = markdown.indexOf(TABLE_END);
  const from = markdown.indexOf('\n', begin) + 1;
  if (begin < 0 || from === 0 || end < from) throw new Error(`no ${TABLE_BEGIN} … ${TABLE_END} section on lines of their own`);
  return { from, to: end };
}

/** The text between the markers (the table as the file has it). */
export function tableIn(markdown: string): string {
  const { from, to } = tableSpan(markdown);
  return markdown.slice(from, to);
}

/** `markdown` with `table` between its markers. */
export function withTable(markdown: string, table: string): string {
  const { from, to } = tableSpan(markdown);
  return markdown.slice(0, from) + table + markdown.slice(to);
}
