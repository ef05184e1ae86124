// Starts the real `conveyor start` in its own process, the way an operator does,
// and waits for the line that says it listens. Shared by B1 (load target), B6
// (idle RSS, start-to-ready) and B8 (pipeline hosts).
import { spawn } from 'node:child_process';
import { track } from './children.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CONVEYOR_BIN = path.join(ROOT, 'packages/host/bin/conveyor.js');

/** The start of a host config: data and SQLite file under the config's directory, loopback only. */
export const LOCAL_SQLITE_YAML = `instance:
  dataDir: ./data
database:
  client: sqlite
  filename: ./data/conveyor.db
host:
  address: 127.0.0.1
`;

/**
 * Writes `config` (already YAML text) to `<dir>/conveyor.config.yaml` and starts
 * a host on an ephemeral port. Resolves once stderr says "listening on <url>";
 * `readyMs` is the time from spawn to that line.
 * @param {{ dir: string, yaml: string, env?: Record<string,string>, timeoutMs?: number }} o
 */
export async function startHost(o) {
  fs.mkdirSync(o.dir, { recursive: true });
  const file = path.join(o.dir, 'conveyor.config.yaml');
  fs.writeFileSync(file, o.yaml);
  const t0 = performance.now();
  // e.g. BENCH_HOST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the hosts (Node refuses it in NODE_OPTIONS).
  const nodeArgs = (process.env.BENCH_HOST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = track(spawn(process.execPath, [...nodeArgs, CONVEYOR_BIN, 'start', '--config', file, '-p', '0'], {
    cwd: o.dir,
    // warn: per-request info lines would measure the log pipe, not the host.
    env: { ...process.env, CONVEYOR_LOG_LEVEL: 'warn', ...o.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  }));
  let stderr = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not listen within ${o.timeoutMs ?? 20_000} ms:\n${stderr}`)), o.timeoutMs ?? 20_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
      const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`host exited (${signal ?? code}) before listening:\n${stderr}`));
    });
  });
  const readyMs = performance.now() - t0;
  return {
    url,
    readyMs,
    pid: child.pid,
    /** Resident set size in bytes, from /proc (Linux). */
    rssBytes() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
