/**
 * Stops a stage's whole process tree: the child, its children and theirs.
 * Stages are started in their own process group (POSIX), so one signal to the
 * group reaches every member that did not leave it; descendants that did
 * (setsid) are found by walking parent links, and remembered before anything
 * dies, because an orphan is re-parented to init and vanishes from the tree.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ParentLink {
  pid: number;
  ppid: number;
}

/** Every process's parent, from /proc on Linux or `ps` elsewhere on POSIX. */
export async function listParentLinks(): Promise<ParentLink[]> {
  if (process.platform === 'linux') {
    const entries = await readdir('/proc');
    const links: ParentLink[] = [];
    await Promise.all(
      entries.map(async (name) => {
        if (!/^\d+$/.test(name)) return;
        try {
          const stat = await readFile(`/proc/${name}/stat`, 'utf8');
          // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
          const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          links.push({ pid: Number(name), ppid: Number(rest[1]) });
        } catch {
          // The process exited while we were listing: nothing to kill.
        }
      }),
    );
    return links;
  }
  const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,ppid=']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((pair): pair is [number, number] => pair.length === 2 && pair.every(Number.isFinite))
    .map(([pid, ppid]) => ({ pid, ppid }));
}

/** The pids of `rootPid`'s descendants (not including the root). */
export function descendantsOf(rootPid: number, links: ParentLink[]): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of links) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of children.get(next) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Alive and not a zombie (a zombie holds no memory and cannot be killed again). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone (ESRCH) or not ours (EPERM): nothing more to do for it.
  }
}

export interface KillTreeOptions {
  /** Time between SIGTERM and SIGKILL. */
  graceMs?: number;
  /** True when the root was started as a process-group leader (detached). */
  processGroup?: boolean;
}

/**
 * SIGTERM to the tree, then SIGKILL to whatever is still alive after the grace
 * period. Resolves once every known member is gone (or after a hard deadline).
 */
export async function killProcessTree(rootPid: number, options: KillTreeOptions = {}): Promise<void> {
  const graceMs = options.graceMs ?? 3000;
  if (process.platform === 'win32') {
    await execFileAsync('taskkill', ['/pid', String(rootPid), '/T', '/F']).catch(() => undefined);
    return;
  }
  const known = new Set<number>([rootPid]);
  const remember = async (): Promise<void> => {
    for (const pid of descendantsOf(rootPid, await listParentLinks())) known.add(pid);
  };
  const signalAll = (sig: NodeJS.Signals): void => {
    if (options.processGroup) signal(-rootPid, sig);
    for (const pid of known) signal(pid, sig);
  };

  await remember();
  signalAll('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (isAlive(rootPid)) await remember().catch(() => undefined);
    if ([...known].every((pid) => !isAlive(pid))) return;
  }
  signalAll('SIGKILL');
  const hardDeadline = Date.now() + 2000;
  while (Date.now() < hardDeadline && [...known].some(isAlive)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Whether any live (non-zombie) process is still in process group `pgid`: a
 * stage's children stay in its group after the stage itself died, and may
 * still be writing. Unknown (no way to list groups) counts as alive.
 */
export async function processGroupAlive(pgid: number): Promise<boolean> {
  if (process.platform === 'win32') return false;
  if (process.platform === 'linux') {
    let entries: string[];
    try {
      entries = await readdir('/proc');
    } catch {
      return true;
    }
    for (const name of entries) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8');
        // After the command name: state, ppid, pgrp.
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(rest[2]) === pgid && rest[0] !== 'Z') return true;
      } catch {
        // Exited while listing.
      }
    }
    return false;
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pgid=,stat=']);
    return stdout.split('\n').some((line) => {
      const [group, state] = line.trim().split(/\s+/);
      return Number(group) === pgid && !state?.startsWith('Z');
    });
  } catch {
    return true;
  }
}
