/**
 * Resident memory of a whole process tree: a stage's root process plus every
 * descendant (the Python converter, its compiler workers, a grandchild that a
 * shell wrapper started). The guard compares this with the host's RAM, so it
 * must count the children the OOM killer would count, and be cheap enough to
 * read twice a second for 40 minutes.
 *
 * Linux: one read of /proc/<pid>/stat per process gives both the parent pid
 * (field 4) and the resident set in pages (field 24). A full scan of /proc
 * happens every 10th read (5 s at the default period); in between only the known members and the pids
 * newer than the last scan are read (Linux hands out pids in increasing order,
 * and the periodic full scan catches wrap-around). macOS and other POSIX
 * systems use `ps -A -o pid=,ppid=,rss=`, Windows systeminformation.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TreeRss {
  /** Sum of the resident set sizes of the root and all its descendants. */
  rssBytes: number;
  /** The pids counted (root first when alive). */
  pids: number[];
  /** Whether the root process still exists. */
  rootAlive: boolean;
}

export interface TreeRssReader {
  read(): Promise<TreeRss>;
}

interface ProcInfo {
  ppid: number;
  rssBytes: number;
}

/** A process identity that survives pid reuse: pid plus its start time (clock ticks since boot). */
interface Member {
  pid: number;
  startTime: number;
}

/** A reader for the tree under `rootPid`, using the cheapest method of this platform. */
export function createTreeRssReader(rootPid: number, opts: { fullScanEvery?: number } = {}): TreeRssReader {
  if (process.platform === 'linux') return new ProcfsTreeReader(rootPid, opts.fullScanEvery ?? 10);
  if (process.platform === 'win32') return new SnapshotTreeReader(rootPid, windowsSnapshot);
  return new SnapshotTreeReader(rootPid, psSnapshot);
}

/**
 * Sums the subtree of `rootPid` in a pid → {ppid, rss} table. `extraRoots` are
 * earlier members whose parent died (re-parented to init): still the stage's.
 */
export function sumTree(rootPid: number, table: Map<number, ProcInfo>, extraRoots: readonly number[] = []): TreeRss {
  const children = new Map<number, number[]>();
  for (const [pid, info] of table) {
    if (pid === info.ppid) continue;
    const list = children.get(info.ppid);
    if (list) list.push(pid);
    else children.set(info.ppid, [pid]);
  }
  const rootAlive = table.has(rootPid);
  const pids: number[] = [];
  let rssBytes = 0;
  const stack = [...extraRoots, ...(rootAlive ? [rootPid] : (children.get(rootPid) ?? []))];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const info = table.get(pid);
    if (!info) continue;
    pids.push(pid);
    rssBytes += info.rssBytes;
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return { rssBytes, pids, rootAlive };
}

// ---------------------------------------------------------------------------
// Linux

const statBuffer = Buffer.alloc(4096);

/** Reads /proc/<pid>/stat into the shared buffer; null when the process is gone. */
function readStat(pid: number | 'self'): string | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    return statBuffer.toString('latin1', 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** ppid and rss (pages) from a stat line; the command name (field 2) may hold spaces and ')'. */
export function parseStat(line: string): { ppid: number; startTime: number; rssPages: number } | null {
  const close = line.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after the name start at field 3 (state): index 0 = state, 1 = ppid, 19 = starttime, 21 = rss.
  const rest = line.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  const rssPages = Number(rest[21]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTime) || !Number.isFinite(rssPages)) return null;
  return { ppid, startTime, rssPages };
}

let cachedPageSize: number | undefined;

/** The kernel page size (4 KiB on x86-64, 16/64 KiB on some arm64 kernels), from our own RSS. */
export function linuxPageSize(): number {
  if (cachedPageSize) return cachedPageSize;
  const own = readStat('self');
  const parsed = own ? parseStat(own) : null;
  const rss = process.memoryUsage.rss();
  let size = 4096;
  if (parsed && parsed.rssPages > 0) {
    const ratio = rss / parsed.rssPages;
    for (const candidate of [4096, 16384, 65536]) if (Math.abs(ratio - candidate) < Math.abs(ratio - size)) size = candidate;
  }
  return (cachedPageSize = size);
}

class ProcfsTreeReader implements TreeRssReader {
  private readonly pageSize = linuxPageSize();
  private members = new Map<number, Member>();
  private maxPidAtScan = 0;
  private reads = 0;

  constructor(
    private readonly rootPid: number,
    private readonly fullScanEvery: number,
  ) {}

  async read(): Promise<TreeRss> {
    const full = this.reads % this.fullScanEvery === 0;
    this.reads++;
    const table = new Map<number, ProcInfo>();
    let maxPid = this.maxPidAtScan;
    const candidates: number[] = [];
    for (const name of readdirSync('/proc')) {
      const code = name.charCodeAt(0);
      if (code < 48 || code > 57) continue;
      const pid = Number(name);
      if (full || pid > this.maxPidAtScan || this.members.has(pid)) candidates.push(pid);
      if (pid > maxPid) maxPid = pid;
    }
    if (full) this.maxPidAtScan = maxPid;
    const startTimes = new Map<number, number>();
    for (const pid of candidates) {
      const line = readStat(pid);
      const parsed = line ? parseStat(line) : null;
      if (!parsed) continue;
      table.set(pid, { ppid: parsed.ppid, rssBytes: parsed.rssPages * this.pageSize });
      startTimes.set(pid, parsed.startTime);
    }
    // Members seen before whose parent has died are still ours if they are the same process.
    const orphans = [...this.members.values()].filter((m) => m.pid !== this.rootPid && startTimes.get(m.pid) === m.startTime).map((m) => m.pid);
    const tree = sumTree(this.rootPid, table, orphans);
    this.members = new Map(tree.pids.map((pid) => [pid, { pid, startTime: startTimes.get(pid) ?? -1 }]));
    return tree;
  }
}

// ---------------------------------------------------------------------------
// macOS / other POSIX and Windows

type Snapshot = () => Promise<Map<number, ProcInfo>>;

class SnapshotTreeReader implements TreeRssReader {
  constructor(
    private readonly rootPid: number,
    private readonly snapshot: Snapshot,
  ) {}

  async read(): Promise<TreeRss> {
    return sumTree(this.rootPid, await this.snapshot());
  }
}

/** `ps` prints rss in KiB on macOS, the BSDs and Linux. */
export function parsePsOutput(stdout: string): Map<number, ProcInfo> {
  const table = new Map<number, ProcInfo>();
  for (const line of stdout.split('\n')) {
    const [pid, ppid, rss] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || rss === undefined) continue;
    if (!Number.isFinite(pid) || !Number.isFinite(ppid) || !Number.isFinite(rss)) continue;
    table.set(pid, { ppid, rssBytes: rss * 1024 });
  }
  return table;
}

async function psSnapshot(): Promise<Map<number, ProcInfo>> {
  const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,ppid=,rss='], { maxBuffer: 16 * 1024 * 1024 });
  return parsePsOutput(stdout);
}

async function windowsSnapshot(): Promise<Map<number, ProcInfo>> {
  const si = await import('systeminformation');
  const { list } = await si.processes();
  const table = new Map<number, ProcInfo>();
  // memRss is reported in KiB.
  for (const p of list) table.set(p.pid, { ppid: p.parentPid, rssBytes: p.memRss * 1024 });
  return table;
}
