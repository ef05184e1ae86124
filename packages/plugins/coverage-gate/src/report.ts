import type { CoverageMode, CoverageVerdict } from './verdict.js';

/**
 * The artefact `<NN>-coverage-report.md`. Its front matter is the single source
 * of truth for the verdict (`coverage_status: pass|fail|skipped`).
 */
export function coverageReport(r: { verdict: CoverageVerdict; value: number | null; baseline: number | null; mode: CoverageMode; minimum: number; sha: string; detail: string | null }): string {
  const num = (n: number | null) => (n === null ? 'null' : String(n));
  return [
    '---',
    `coverage_status: ${r.verdict.status}`,
    `coverage_value: ${num(r.value)}`,
    `coverage_baseline: ${num(r.baseline)}`,
    `coverage_mode: ${r.mode}`,
    `coverage_minimum: ${r.minimum}`,
    `coverage_sha: ${r.sha}`,
    '---',
    '',
    '# Coverage report',
    '',
    r.verdict.reason[0]!.toUpperCase() + r.verdict.reason.slice(1) + '.',
    ...(r.verdict.bootstrap ? ['', 'No baseline yet: this is the bootstrap measurement; the first merge sets the baseline.'] : []),
    ...(r.detail ? ['', '```', r.detail, '```'] : []),
    '',
  ].join('\n');
}
