import fs from 'node:fs';
import path from 'node:path';

/** What one agent run may see, besides a read-only system. */
export interface SandboxView {
  /** The agent's cwd; also read-write. */
  cwd: string;
  /** Read-write: the worktree, `workspaces.sandboxBind`. */
  readWrite: readonly string[];
  /** Read-only: the repository objects, a prompt file. */
  readOnly: readonly string[];
  /** Emptied even when a system or PATH directory contains them: the data directory, the workspace root. */
  hidden: readonly string[];
  /** The agent's HOME: an empty, private directory (its binds are mounted on top). */
  home?: string;
}

// Merged-/usr systems make these symlinks; copying the link keeps the layout.
const TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const SYSTEM = ['/usr', '/etc', '/opt'];

/**
 * The `bwrap` arguments (before the command) for one agent run: new namespaces
 * except the network (models need it), a read-only system and PATH, a private
 * `/tmp`, `/proc` of its own pid namespace (so no other process's environment is
 * readable), an empty HOME, and only the paths of `view`. Order matters: bwrap
 * mounts in order, so the hidden paths are emptied before the worktree and the
 * binds are mounted back on top.
 */
export function bubblewrapArgs(view: SandboxView, env: { PATH?: string } = process.env): string[] {
  const args = ['--die-with-parent', '--unshare-all', '--share-net', '--cap-drop', 'ALL'];
  for (const dir of TOP_LEVEL) {
    const link = readLink(dir);
    if (link !== null) args.push('--symlink', link, dir);
    else args.push('--ro-bind-try', dir, dir);
  }
  for (const dir of SYSTEM) args.push('--ro-bind-try', dir, dir);
  const home = view.home ? path.resolve(view.home) : null;
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  if (home) args.push('--tmpfs', home);
  // After the empty HOME and /tmp, so a tool installed under them (nvm) stays visible.
  const covered = (p: string) => [...TOP_LEVEL, ...SYSTEM].some((root) => p === root || p.startsWith(root + '/'));
  for (const entry of (env.PATH ?? '').split(':')) {
    if (!path.isAbsolute(entry) || covered(entry)) continue;
    // A `…/bin` of a tool install needs its `../lib`, but under HOME that prefix may
    // hold credentials (~/.cargo/credentials.toml): there only the directory itself.
    const inHome = home !== null && entry.startsWith(home + '/');
    const prefix = path.basename(entry) === 'bin' && !inHome && path.dirname(entry) !== '/' ? path.dirname(entry) : entry;
    args.push('--ro-bind-try', prefix, prefix);
  }
  for (const p of view.hidden) args.push('--tmpfs', path.resolve(p));
  for (const p of view.readOnly) args.push('--ro-bind-try', path.resolve(p), path.resolve(p));
  args.push('--bind', path.resolve(view.cwd), path.resolve(view.cwd));
  // A listed path that does not exist (no ~/.claude yet) is skipped, not fatal.
  for (const p of view.readWrite) if (path.resolve(p) !== path.resolve(view.cwd)) args.push('--bind-try', path.resolve(p), path.resolve(p));
  args.push('--setenv', 'TMPDIR', '/tmp', '--chdir', path.resolve(view.cwd));
  return args;
}

/** The `bwrap` binary on PATH, or null. */
export function findBwrap(env: { PATH?: string } = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, 'bwrap');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

function readLink(p: string): string | null {
  try {
    return fs.lstatSync(p).isSymbolicLink() ? fs.readlinkSync(p) : null;
  } catch {
    return null;
  }
}
