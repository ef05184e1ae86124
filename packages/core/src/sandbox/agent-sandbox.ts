import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConveyorError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bubblewrapArgs, findBwrap, type SandboxView } from './bubblewrap.js';
import { loadExeca } from '../util/load-execa.js';

/** `workspaces.sandbox`. */
export type SandboxMode = 'auto' | 'bubblewrap' | 'none';

/** A command as a runner would start it. */
export interface Invocation {
  command: string;
  args: readonly string[];
  /** `command` is a shell command line (`/bin/sh -c`). */
  shell: boolean;
}

/** The sandbox of one agent run, handed to the runner in `AgentRunRequest.sandbox`. */
export interface RunSandbox {
  readonly kind: 'bubblewrap';
  /** The invocation that runs `inv` inside the sandbox; `readOnly` adds files the runner made for it (a prompt file). */
  wrap(inv: Invocation, extra?: { readOnly?: readonly string[] }): Invocation;
}

/** What `resolve` decided, and why. */
export interface SandboxDecision {
  kind: 'bubblewrap' | 'none';
  detail: string;
}

export interface AgentSandboxOptions {
  mode: SandboxMode;
  /** `workspaces.sandboxBind`: read-write, or read-only with a `:ro` suffix; `~/` is the home directory. */
  bind: readonly string[];
  /** Paths agents must never see (data directory, workspace root, local origins). */
  hidden: readonly string[];
  logger: Logger;
  /** The bwrap binary; found on PATH when unset (tests pass null for "absent"). */
  bwrap?: string | null;
}

/**
 * Decides once per instance whether agents run under bubblewrap (`auto`: when
 * `bwrap` is on PATH and a trial run works) and builds each run's sandbox.
 */
export class AgentSandbox {
  #decision: Promise<SandboxDecision> | null = null;
  #resolved: SandboxDecision | null = null;
  readonly #bwrap: string | null;

  constructor(private readonly o: AgentSandboxOptions) {
    this.#bwrap = o.bwrap === undefined ? findBwrap() : o.bwrap;
  }

  /** Decides (once): `bubblewrap` mode with a broken bwrap throws; `auto` without one warns once. */
  resolve(): Promise<SandboxDecision> {
    // A decision that failed is not kept: the next call decides again.
    this.#decision ??= this.#decide().then(
      (d) => (this.#resolved = d),
      (err: unknown) => {
        this.#decision = null;
        throw err;
      },
    );
    return this.#decision;
  }

  async #decide(): Promise<SandboxDecision> {
    if (this.o.mode === 'none') return { kind: 'none', detail: 'off (workspaces.sandbox: none)' };
    const probe = this.#bwrap ? await probeBubblewrap(this.#bwrap) : { ok: false, detail: 'bwrap not found on PATH' };
    if (probe.ok) return { kind: 'bubblewrap', detail: probe.detail };
    if (this.o.mode === 'bubblewrap') {
      this.#decision = null;
      throw new ConveyorError('CONVEYOR_SANDBOX', `workspaces.sandbox is "bubblewrap" but ${probe.detail}; install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or set workspaces.sandbox`);
    }
    this.o.logger.warn({ reason: probe.detail }, 'agents run without a sandbox: they can read everything this user can (install bubblewrap, or set workspaces.sandbox: none to silence this)');
    return { kind: 'none', detail: `unavailable (${probe.detail}): agents run unsandboxed` };
  }

  /** The sandbox of one run; undefined when agents run unsandboxed (or before `resolve`). */
  forRun(view: { cwd: string; readWrite: readonly string[]; readOnly: readonly string[] }): RunSandbox | undefined {
    if (this.#resolved?.kind !== 'bubblewrap' || !this.#bwrap) return undefined;
    const bwrap = this.#bwrap;
    const binds = this.o.bind.map(parseBind);
    const base: SandboxView = {
      cwd: view.cwd,
      readWrite: [...view.readWrite, ...binds.filter((b) => !b.readOnly).map((b) => b.path)],
      readOnly: [...view.readOnly, ...binds.filter((b) => b.readOnly).map((b) => b.path)],
      hidden: this.o.hidden,
      home: os.homedir(),
    };
    return {
      kind: 'bubblewrap',
      wrap: (inv, extra) => ({
        command: bwrap,
        args: [...bubblewrapArgs({ ...base, readOnly: [...base.readOnly, ...(extra?.readOnly ?? [])] }), '--', ...(inv.shell ? ['/bin/sh', '-c', inv.command] : [inv.command, ...inv.args])],
        shell: false,
      }),
    };
  }
}

/** `path[:ro]` with `~/` expanded. */
export function parseBind(entry: string): { path: string; readOnly: boolean } {
  const readOnly = entry.endsWith(':ro');
  const raw = readOnly ? entry.slice(0, -3) : entry.replace(/:rw$/, '');
  return { path: path.resolve(raw === '~' ? os.homedir() : raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(2)) : raw), readOnly };
}

/** Runs `true` in a sandbox built like an agent's: does bubblewrap work here? */
export async function probeBubblewrap(bwrap: string): Promise<{ ok: boolean; detail: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-sandbox-probe-'));
  try {
    const args = [...bubblewrapArgs({ cwd: dir, readWrite: [], readOnly: [], hidden: [], home: os.homedir() }), '--', 'true'];
    const execa = await loadExeca();
    const res = await execa(bwrap, args, { reject: false, timeout: 10_000, stdin: 'ignore' });
    if (res.exitCode === 0) {
      const version = await execa(bwrap, ['--version'], { reject: false, timeout: 10_000 });
      return { ok: true, detail: `${String(version.stdout).trim() || 'bubblewrap'} (${bwrap})` };
    }
    return { ok: false, detail: `bwrap (${bwrap}) cannot create a sandbox here: ${String(res.stderr).trim() || `exit ${res.exitCode}`}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The invocation a runner starts: inside `req.sandbox` when there is one. */
export function sandboxed(sandbox: RunSandbox | undefined, inv: Invocation, extra?: { readOnly?: readonly string[] }): Invocation {
  return sandbox ? sandbox.wrap(inv, extra) : inv;
}
