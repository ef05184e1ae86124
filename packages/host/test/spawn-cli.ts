import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The `conveyor` command as users run it. */
export const BIN = fileURLToPath(new URL('../../bin/conveyor.js', import.meta.url));

type After = { after: (fn: () => void | Promise<void>) => void };

/** A temp directory outside the repository, removed after the test. */
export function tmpDir(t: After, prefix = 'conveyor-cli-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One `conveyor …` run to its end, in `cwd` (or `{ cwd, env }`: variables added to this process's). */
export function cli(at: string | { cwd: string; env: Record<string, string> }, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const { cwd, env } = typeof at === 'string' ? { cwd: at, env: {} } : at;
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

export interface RunningHost {
  /** The URL the host printed when it started listening. */
  url: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * `conveyor start …` in `cwd` (or `{ cwd, env }`), resolved once it prints "listening on" (or rejected
 * when it exits first, with its stderr); killed after the test if still running.
 */
export async function startHost(t: After, at: string | { cwd: string; env: Record<string, string> }, ...args: string[]): Promise<RunningHost> {
  const { cwd, env } = typeof at === 'string' ? { cwd: at, env: {} } : at;
  const child: ChildProcessByStdio<null, null, Readable> = spawn(process.execPath, [BIN, 'start', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let signal: NodeJS.Signals | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, sig) => {
      signal = sig;
      resolve(code);
    }),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`conveyor start ${signal ? `was killed by ${signal}` : `exited ${code}`} before listening:\n${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
