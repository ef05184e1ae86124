import fs from 'node:fs';
import path from 'node:path';

/** A coverage report format Conveyor reads. */
export type CoverageFormat = 'istanbul' | 'coverage-py' | 'lcov';

/** Line coverage in percent (0–100) read from a report, or a reason it could not be. */
export type CoverageReading = { percent: number; format: CoverageFormat } | { error: string };

const round = (n: number) => Math.round(n * 100) / 100;

/** istanbul/nyc/c8 `coverage-summary.json`: `total.lines.pct`. */
export function readIstanbulSummary(text: string): CoverageReading {
  const j = JSON.parse(text) as { total?: { lines?: { pct?: unknown; total?: unknown; covered?: unknown } } };
  const lines = j.total?.lines;
  if (!lines) return { error: 'coverage-summary.json has no total.lines' };
  // istanbul writes "Unknown" as pct when there are no lines at all.
  if (typeof lines.pct === 'number') return { percent: round(lines.pct), format: 'istanbul' };
  if (Number(lines.total) === 0) return { percent: 100, format: 'istanbul' };
  return { error: `coverage-summary.json total.lines.pct is ${JSON.stringify(lines.pct)}` };
}

/** coverage.py `coverage json`: `totals.covered_lines / totals.num_statements`. */
export function readCoveragePy(text: string): CoverageReading {
  const j = JSON.parse(text) as { totals?: { covered_lines?: unknown; num_statements?: unknown } };
  const covered = Number(j.totals?.covered_lines);
  const total = Number(j.totals?.num_statements);
  if (!Number.isFinite(covered) || !Number.isFinite(total) || total < 0 || covered < 0 || covered > total) return { error: 'coverage.json has no usable totals.covered_lines / totals.num_statements' };
  return { percent: total === 0 ? 100 : round((covered / total) * 100), format: 'coverage-py' };
}

/** lcov `lcov.info`: the sum of `LH` over the sum of `LF` across records. */
export function readLcov(text: string): CoverageReading {
  let found = 0;
  let hit = 0;
  let records = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('LF:')) found += Number(line.slice(3)) || 0;
    else if (line.startsWith('LH:')) hit += Number(line.slice(3)) || 0;
    else if (line === 'end_of_record') records++;
  }
  if (!records) return { error: 'lcov.info holds no record' };
  if (hit > found) return { error: `lcov.info counts more lines hit (${hit}) than found (${found})` };
  return { percent: found === 0 ? 100 : round((hit / found) * 100), format: 'lcov' };
}

/** Where each format is looked for under the checkout, in this order, when no report path is configured. */
export const DEFAULT_REPORTS: readonly (readonly [string, CoverageFormat])[] = [
  ['coverage/coverage-summary.json', 'istanbul'],
  ['coverage.json', 'coverage-py'],
  ['coverage/lcov.info', 'lcov'],
  ['lcov.info', 'lcov'],
];

const READERS: Record<CoverageFormat, (text: string) => CoverageReading> = { istanbul: readIstanbulSummary, 'coverage-py': readCoveragePy, lcov: readLcov };

/** The format a report file name suggests. */
export function formatOf(file: string): CoverageFormat {
  if (file.endsWith('.info')) return 'lcov';
  return path.basename(file) === 'coverage-summary.json' ? 'istanbul' : 'coverage-py';
}

/**
 * Reads line coverage from `report` (relative to `dir`), or from the first default
 * report present. Never throws: a missing or malformed report is a reading error.
 */
export function readCoverage(dir: string, report?: string): CoverageReading {
  const candidates = report ? [[report, formatOf(report)] as const] : DEFAULT_REPORTS;
  for (const [rel, format] of candidates) {
    const file = path.resolve(dir, rel);
    // The report is written by the repo's (agent-written) command: never follow it out of the checkout.
    if (!file.startsWith(path.resolve(dir) + path.sep)) return { error: `report path ${rel} leaves the checkout` };
    let text: string;
    try {
      if (!fs.lstatSync(file).isFile()) continue;
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    try {
      return READERS[format](text);
    } catch (err) {
      return { error: `${rel} is not valid ${format}: ${(err as Error).message}` };
    }
  }
  return { error: report ? `no coverage report at ${report}` : `no coverage report found (looked for ${DEFAULT_REPORTS.map(([p]) => p).join(', ')})` };
}
