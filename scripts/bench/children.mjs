// Every process a benchmark starts, so an interrupted run (Ctrl-C, a thrown
// error) does not leave hosts, servers or workers running behind it.
const live = new Set();

/** Tracks `child` until it exits. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGTERM to every tracked child still running (synchronous: safe in an 'exit' handler). */
export function killAll() {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
