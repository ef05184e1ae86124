/** How a coverage value is judged. */
export type CoverageMode = 'absolute' | 'baseline' | 'both';

export interface VerdictInput {
  /** Measured line coverage (%), or null when the tool failed. */
  value: number | null;
  /** The repo's baseline (%), or null before the first merge. */
  baseline: number | null;
  mode: CoverageMode;
  /** The absolute floor (%). */
  minimum: number;
  /** Tolerance below the baseline (percentage points), so noise does not flap the gate. */
  epsilon: number;
  /** On a tool error: true fails the gate, false lets it pass with a warning. */
  failClosed: boolean;
}

export interface CoverageVerdict {
  status: 'pass' | 'fail' | 'skipped';
  /** One sentence for people. */
  reason: string;
  /** True when no baseline existed: only the absolute floor was applied. */
  bootstrap: boolean;
}

const pct = (n: number) => `${n.toFixed(2)}%`;

/** The coverage verdict: a pure function of the measurement, the baseline and the settings. */
export function coverageVerdict(i: VerdictInput): CoverageVerdict {
  if (i.value === null) {
    return i.failClosed
      ? { status: 'fail', reason: 'coverage could not be measured (fail-closed)', bootstrap: false }
      : { status: 'skipped', reason: 'coverage could not be measured; passing (fail-open)', bootstrap: false };
  }
  const bootstrap = i.baseline === null && i.mode !== 'absolute';
  const checkAbsolute = i.mode !== 'baseline' || bootstrap;
  if (checkAbsolute && i.value < i.minimum) return { status: 'fail', reason: `coverage ${pct(i.value)} is below the minimum ${pct(i.minimum)}`, bootstrap };
  if (i.mode !== 'absolute' && i.baseline !== null && i.value < i.baseline - i.epsilon) {
    return { status: 'fail', reason: `coverage ${pct(i.value)} fell below the baseline ${pct(i.baseline)} (tolerance ${i.epsilon} points)`, bootstrap: false };
  }
  const against = bootstrap ? `no baseline yet, minimum ${pct(i.minimum)}` : i.mode === 'absolute' ? `minimum ${pct(i.minimum)}` : `baseline ${pct(i.baseline!)}`;
  return { status: 'pass', reason: `coverage ${pct(i.value)} (${against})`, bootstrap };
}
