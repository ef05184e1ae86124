import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@conveyor/core/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The `conveyor` command of this checkout. */
export const CONVEYOR_BIN = path.join(root, 'packages/host/bin/conveyor.js');
/** Every process a scenario starts carries this variable (value: the scenario's directory). */
export const SCENARIO_MARKER = 'CONVEYOR_FAULT_SCENARIO';

/** How one run of the host ended. */
export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of one start. */
export interface StartOptions {
  /** `CONVEYOR_FAULT_POINTS` for this run: `name` or `name@N`, comma-separated. */
  faultPoints?: string;
  /** More environment for this run. */
  env?: Record<string, string>;
  /** How long the host may take to listen. @default 60 000 ms */
  readyTimeoutMs?: number;
}

/**
 * One Conveyor host, as people run it: `conveyor start --config <file>` in its own
 * process, started, killed and started again by a scenario. Its stderr of every run
 * is kept (each run headed by a line naming it) for failure messages.
 */
export class FaultHost {
  /** The host's address of the current run (null while it is down). */
  url: string | null = null;
  /** Runs started so far. */
  runs = 0;
  #child: ChildProcess | null = null;
  #exit: Promise<HostExit> | null = null;
  #log = '';
  #runLog = '';

  constructor(
    /** `instance.hostId` of this host. */
    readonly hostId: string,
    readonly configPath: string,
    readonly cwd: string,
    private readonly baseEnv: Record<string, string>,
  ) {}

  get running(): boolean {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | null {
    return this.running ? (this.#child!.pid ?? null) : null;
  }

  /** stderr of every run so far (the last 20 000 characters). */
  get log(): string {
    return this.#log.slice(-20_000);
  }

  /** Starts the host and resolves with its URL once it listens; rejects with its stderr if it exits first. */
  async start(options: StartOptions = {}): Promise<string> {
    if (this.running) throw new Error(`host ${this.hostId} is already running (pid ${this.pid})`);
    this.runs++;
    this.#runLog = '';
    this.#log += `\n----- ${this.hostId} run ${this.runs}${options.faultPoints ? ` (CONVEYOR_FAULT_POINTS=${options.faultPoints})` : ''} -----\n`;
    const env = { ...process.env, ...this.baseEnv, ...options.env, CONVEYOR_FAULT_POINTS: options.faultPoints ?? '' };
    const child = spawn(process.execPath, [CONVEYOR_BIN, 'start', '--config', this.configPath], { cwd: this.cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.stderr!.on('data', (d: Buffer) => {
      this.#runLog += d.toString();
      this.#log += d.toString();
      if (this.#log.length > 200_000) this.#log = this.#log.slice(-100_000);
    });
    const url = await eventually<string | null>(
      () => /listening on (http:\/\/\S+)/.exec(this.#runLog)?.[1] ?? (this.running ? null : Promise.reject(new Error(`host ${this.hostId} exited before listening:\n${this.#runLog}`))),
      options.readyTimeoutMs ?? 60_000,
      `host ${this.hostId} listening`,
    );
    this.url = url!;
    return url!;
  }

  /** Resolves when the current run has ended (at once when none runs). */
  async exited(): Promise<HostExit | null> {
    return this.#exit ? await this.#exit : null;
  }

  /**
   * SIGKILLs the host process (not its agents: a crashed host leaves them running,
   * as a real one would) and waits for it to be gone.
   */
  async kill(): Promise<HostExit | null> {
    if (this.running) this.#child!.kill('SIGKILL');
    const exit = await this.exited();
    this.url = null;
    return exit;
  }

  /** SIGINT, the clean stop; resolves with the exit (0 expected). */
  async stop(): Promise<HostExit | null> {
    if (this.running) this.#child!.kill('SIGINT');
    const exit = await this.exited();
    this.url = null;
    return exit;
  }

  /** Sends a signal to the host process (SIGSTOP, SIGCONT …). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) throw new Error(`host ${this.hostId} is not running`);
    this.#child!.kill(sig);
  }

  /** Whether this run has printed `pattern` on stderr. */
  printed(pattern: RegExp): boolean {
    return pattern.test(this.#runLog);
  }

  /** Sets up the marker every process of the scenario inherits. */
  static env(scenarioDir: string, extra: Record<string, string>): Record<string, string> {
    return { [SCENARIO_MARKER]: scenarioDir, ...extra };
  }
}
