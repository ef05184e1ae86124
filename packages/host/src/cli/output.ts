/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** `[  12.3s]` since `start`. */
export function elapsed(start: number): string {
  return `[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s]`;
}
