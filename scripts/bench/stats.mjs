// Small statistics and formatting helpers for scripts/bench.mjs.

/** Median of a non-empty list of numbers (mean of the middle two for even lengths). */
export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function min(values) {
  return Math.min(...values);
}

export function max(values) {
  return Math.max(...values);
}

/** Geometric mean of positive numbers. */
export function geomean(values) {
  if (values.length === 0) return NaN;
  return Math.exp(values.reduce((acc, v) => acc + Math.log(v), 0) / values.length);
}

/** Rounds to `digits` significant decimals for JSON output (keeps integers readable). */
export function round(value, digits = 3) {
  if (value === null || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Ops/s with thousands separators, no decimals. */
export function fmtRate(value) {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

export function fmtRatio(value) {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value.toFixed(2)}x`;
}

/** Renders rows (arrays of strings) as a left/right aligned text table. */
export function table(header, rows, align) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) =>
    r
      .map((cell, i) => (align[i] === 'r' ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), sep, ...rows.map(line)].join('\n');
}
