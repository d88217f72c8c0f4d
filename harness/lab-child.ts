import { readDataFile } from './data-file.js';
import type { RunEvent } from './events.js';
import { errorMessage, type LabMessage, type LabRequest } from './lab-session.js';
import type { RunPlan } from './plan.js';
import { executeRun } from './run.js';
import { serveInLab, type ServePlan } from './serve.js';
import { labChannel } from '../stack/lab/index.js';
import { createLogger } from '../stack/log.js';
import { UserError } from '../stack/user-error.js';

/**
 * The lab child: started by the parent inside the lab namespace with the request file as its
 * argument (lab-session.ts). It reads the plan, runs the body, and reports on its channel —
 * events as they come, then the result or the one error that stopped it. Its exit code is 0, 2
 * for a user's error, 70 for a bug of ours.
 */
async function main(file: string): Promise<number> {
  const channel = labChannel();
  const send = (m: LabMessage): void => channel.send(JSON.stringify(m));
  try {
    const request = readDataFile<LabRequest>(file);
    const log = createLogger(request.logLevel);
    const events = (event: RunEvent): void => send({ type: 'event', event });
    if (request.kind === 'run') {
      await executeRun(request.plan as RunPlan, { log, events });
      send({ type: 'result', result: null });
    } else {
      const done = await serveInLab(request.plan as ServePlan, { log, events, ready: (r) => send({ type: 'ready', ready: r }) });
      send({ type: 'result', result: done });
    }
    return 0;
  } catch (e) {
    send(errorMessage(e));
    return e instanceof UserError ? 2 : 70;
  }
}

void main(process.argv[2] ?? '').then((code) => {
  process.exitCode = code;
});
