import fs from 'node:fs';

/** USER_HZ, the unit of `/proc/<pid>/stat` times: 100 on every Linux Node runs on. */
export const CLK_TCK = 100;

/**
 * CPU time of a process so far, in clock ticks (`utime + stime` of
 * `/proc/<pid>/stat`); null when it is gone, a zombie, or this is not Linux.
 */
export function cpuTicks(pid: number, procRoot = '/proc'): number | null {
  try {
    const stat = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null;
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
  } catch {
    return null;
  }
}
