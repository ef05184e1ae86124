import fs from 'node:fs';
import { SCENARIO_MARKER } from './fault-host.js';

/** A process that belongs to a scenario. */
export interface ScenarioProcess {
  pid: number;
  cmdline: string;
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Every live process of the scenario in `dir`: one that inherited the scenario's
 * marker variable, runs inside `dir`, or names it on its command line (an agent whose
 * environment was filtered still runs in its worktree there). Zombies are not counted.
 */
export function scenarioProcesses(dir: string): ScenarioProcess[] {
  const out: ScenarioProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (!stat || / Z /.test(stat.slice(stat.lastIndexOf(')')))) continue;
    const cmdline = (read(`/proc/${pid}/cmdline`) ?? '').split('\0').join(' ').trim();
    const environ = read(`/proc/${pid}/environ`) ?? '';
    let cwd = '';
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    const marked = environ.split('\0').includes(`${SCENARIO_MARKER}=${dir}`);
    if (marked || cwd === dir || cwd.startsWith(`${dir}/`) || cmdline.includes(dir)) out.push({ pid, cmdline });
  }
  return out;
}
