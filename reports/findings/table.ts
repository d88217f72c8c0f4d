/** The registry as the README's findings table, and the check that the README's copy is current. */
import { readFileSync, writeFileSync } from 'node:fs';
import { FINDING_RULES } from './registry.js';
import type { FindingRuleInfo } from './rule.js';

export const TABLE_BEGIN = '<!-- findings:begin -->';
export const TABLE_END = '<!-- findings:end -->';

/** The rules as a Markdown table: kind | severity | what it means. */
export function findingsTable(rules: readonly FindingRuleInfo[] = FINDING_RULES): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const rows = rules.map((r) => `| \`${r.kind}\` | ${r.severity} | ${cell(r.summary)} |`);
  return ['| kind | severity | what it means |', '|---|---|---|', ...rows, ''].join('\n');
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

/** `markdown` with the current table between its markers. */
export function withCurrentTable(markdown: string): string {
  const { from, to } = tableSpan(markdown);
  return markdown.slice(0, from) + findingsTable() + markdown.slice(to);
}

/** Rewrites the table in a Markdown file (`npm run docs:findings` on README.md). */
export function updateTableIn(path: string): void {
  writeFileSync(path, withCurrentTable(readFileSync(path, 'utf8')));
}
