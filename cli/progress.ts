import { replayCommand, runPlan, type RunEvent, type RunPlan } from '../harness/index.js';
import type { Report } from '../reports/run-report.js';
import { createLogger } from '../stack/log.js';

/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY (logs and CI output stay
 * clean). Redraws are throttled so 10,000 jobs do not cost 10,000 writes.
 */
export class ProgressBar {
  private last = 0;
  private readonly enabled: boolean;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
    private readonly out: NodeJS.WriteStream = stream,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.out.write(`\r${this.label} [${bar}] ${done}/${this.total} ${extra}`.padEnd(79).slice(0, 120));
    this.shown = true;
  }

  done(): void {
    if (this.enabled && this.shown) this.out.write('\n');
    this.shown = false;
  }
}

/**
 * Runs a plan with the CLI's view of it: a progress bar for the jobs, notices as log lines, and
 * a note when the link was chosen for the user.
 */
export async function runWithProgress(plan: RunPlan, logLevel: string | undefined, opts: { json?: boolean } = {}): Promise<Report> {
  const log = createLogger(logLevel);
  if (plan.link === 'sim' && plan.linkDefaulted) log.info('not privileged for the TAP lab; using --link sim (our own client stack on a virtual-clock wire)');
  const bar = new ProgressBar(`${plan.targetText} jobs`, plan.jobs.count);
  const events = (e: RunEvent): void => {
    if (e.type === 'progress') bar.update(e.done);
    else {
      bar.done();
      log[e.level](e.message);
    }
  };
  try {
    // Before the lab, the target or a job can fail, a run that crashes has left its seed on stdout
    // (stderr stays the one line of an error; with --json, report.json holds the seed).
    const onStart = (p: RunPlan): void => void (opts.json ? undefined : process.stdout.write(`seed ${p.seed}; replay: ${replayCommand(p)}\n`));
    return await runPlan(plan, { logLevel, events, onStart });
  } finally {
    bar.done();
  }
}
