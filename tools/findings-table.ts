import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ALL_FINDING_RULES } from '../harness/run-findings/registry.js';
import { findingsTable, withTable } from '../reports/findings/table.js';

/**
 * `npm run docs:findings`: rewrites README.md's findings table (between its markers) from the
 * finding registries, the capture's and the run's; a test fails when the README's copy is stale.
 */
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
writeFileSync(README, withTable(readFileSync(README, 'utf8'), findingsTable(ALL_FINDING_RULES)));
