// The JSON line contract shared by every benchmark:
//   {"id","metric","value","baseline","ratio","target","met"}
import { round } from './stats.mjs';

/**
 * One result line. `ratio` is value / baseline unless given; `met` is decided
 * by the caller against `target` (a number or a short text such as "≥ 0.5").
 */
export function line({ id, metric, value, baseline = null, ratio, target = null, met = true, note }) {
  const r = ratio !== undefined ? ratio : baseline ? value / baseline : null;
  const out = { id, metric, value: num(value), baseline: num(baseline), ratio: num(r, 3), target, met };
  if (note) out.note = note;
  return out;
}

function num(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  return round(v, Math.abs(v) < 10 ? Math.max(digits, 3) : digits);
}

/** A line for a benchmark that could not run here (e.g. no PostgreSQL): met stays null. */
export function skipped(id, metric, why) {
  return { id, metric, value: null, baseline: null, ratio: null, target: null, met: null, skipped: why };
}
