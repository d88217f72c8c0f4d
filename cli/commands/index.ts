import type { CommandEntry } from '../command.js';

/**
 * Every subcommand, in the order `fuzz --help` lists them. Modules load on use: `fuzz analyze`
 * does not pay for the stack, the lab and the HTTP language at start-up.
 */
export const commands: CommandEntry[] = [
  { name: 'run', summary: 'run netcat-like or HTTP jobs against a target, capture, analyse, judge', load: async () => (await import('./run.js')).runCommand },
  { name: 'reproduce', summary: 'run a saved bug case and check its expected findings', load: async () => (await import('./reproduce.js')).reproduceCommand },
  { name: 'serve', summary: 'serve a built-in target on our stack over a TAP device in a lab namespace', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'list', summary: 'list targets, bug profiles and cases', load: async () => (await import('./list.js')).listCommand },
  { name: 'spec', summary: 'show the exact bytes (or the frozen spec) of a pathoc/pathod spec', load: async () => (await import('./spec.js')).specCommand },
  { name: 'report', summary: 'redraw report.html and the ladders from a run folder (report.json, trace.log)', load: async () => (await import('./report.js')).reportCommand },
  { name: 'analyze', summary: 'judge every TCP connection in a pcap: hangs, half-closes, missing FINs, storms', load: async () => (await import('./analyze.js')).analyzeCommand },
];
