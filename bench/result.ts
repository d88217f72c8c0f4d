/**
 * One benchmark metric next to a baseline measured in the same run, so results compare across
 * commits and machines: `ratio` = value / baseline_value (for "lower is better" metrics the
 * metric's name says so). bench/main.ts prints these as a table, then one JSON line each.
 */
export interface BenchResult {
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baseline_value: number;
  ratio: number;
}

/** A result with its ratio computed (rounded to 3 significant decimals). */
export function benchResult(metric: string, value: number, unit: string, baseline: string, baselineValue: number): BenchResult {
  const ratio = baselineValue > 0 ? Math.round((value / baselineValue) * 1000) / 1000 : 0;
  return { metric, value: Math.round(value * 100) / 100, unit, baseline, baseline_value: Math.round(baselineValue * 100) / 100, ratio };
}
