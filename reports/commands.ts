import type { AnalysisReport, Finding } from './report.js';

/** Quotes one shell word (POSIX sh): bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The two commands that show a finding's packets, ready to paste, with their packet counts. */
export function showCommands(report: AnalysisReport, f: Finding): { tcpdump: string; tshark: string } {
  const file = shellQuote(report.capture.file ?? 'capture.pcap');
  return {
    tcpdump: `tcpdump -nr ${file} ${shellQuote(f.show.tcpdump)}`,
    tshark: `tshark -r ${file} -Y ${shellQuote(f.show.tshark)}`,
  };
}

/** "1 packet", "3 packets". */
export function packets(n: number): string {
  return `${n} packet${n === 1 ? '' : 's'}`;
}
