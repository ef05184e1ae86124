/**
 * Named places between two steps whose crash the fault suite forces on purpose
 * ("the job is finished, the advance is not yet recorded"). In production nothing
 * is armed and `faultPoint()` is a map lookup.
 *
 * Armed by `CONVEYOR_FAULT_POINTS` when the process starts (a comma-separated list of
 * `name` or `name@N`, N being the pass that trips, 1 by default, optionally followed
 * by `:stop` to SIGSTOP instead of SIGKILL — a host paused past its lease), or
 * in-process by `armFaultPoint()`. A tripped point SIGKILLs its own process unless
 * an in-process test gave it another action (a thrown error, say).
 */
export type FaultAction = (name: string) => void;

interface Armed {
  readonly at: number;
  passes: number;
  readonly action: FaultAction;
}

const killSelf: FaultAction = () => {
  process.kill(process.pid, 'SIGKILL');
};

const stopSelf: FaultAction = () => {
  process.kill(process.pid, 'SIGSTOP');
};

const armed = new Map<string, Armed>();

function parse(spec: string | undefined): void {
  for (const item of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [spec, how] = item.split(':') as [string, string | undefined];
    const [name, nth] = spec.split('@') as [string, string | undefined];
    const at = nth === undefined ? 1 : Number(nth);
    if (!Number.isInteger(at) || at < 1 || (how !== undefined && how !== 'stop')) throw new Error(`CONVEYOR_FAULT_POINTS: "${item}" is not name, name@N or name@N:stop (N ≥ 1)`);
    armed.set(name, { at, passes: 0, action: how === 'stop' ? stopSelf : killSelf });
  }
}

parse(process.env.CONVEYOR_FAULT_POINTS);

/** Marks a crash window. Does nothing unless `name` is armed. */
export function faultPoint(name: string): void {
  if (armed.size === 0) return;
  const point = armed.get(name);
  if (!point) return;
  point.passes++;
  if (point.passes === point.at) point.action(name);
}

/** Arms `name` in this process (tests); returns a disarm function. */
export function armFaultPoint(name: string, opts: { at?: number; action?: FaultAction } = {}): () => void {
  armed.set(name, { at: opts.at ?? 1, passes: 0, action: opts.action ?? killSelf });
  return () => {
    armed.delete(name);
  };
}
