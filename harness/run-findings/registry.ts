import type { RunRule } from './rule.js';
import { wrongData } from './wrong-data.js';
import { malformedResponse } from './malformed-response.js';
import { targetExited } from './target-exited.js';
import { jobStuck } from './job-stuck.js';

/** Every run-level rule, in the order their findings are reported. */
export const RUN_RULES: readonly RunRule[] = [wrongData, malformedResponse, targetExited, jobStuck];
