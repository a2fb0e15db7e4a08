import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createTreeRssReader, parsePsOutput, parseStat, sumTree } from './treeRss.js';

const MiB = 1024 * 1024;
const children: ChildProcess[] = [];
const grandchildren: number[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const pid of grandchildren.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * A child that starts a grandchild; each fills `mib` MiB of touched memory,
 * prints its pid and idles until killed.
 */
function spawnTree(mib: number): Promise<{ root: ChildProcess; pids: number[] }> {
  const hold = `const b = Buffer.alloc(${mib} * 1024 * 1024, 1); console.log(process.pid); setInterval(() => b[0]++, 1000);`;
  const parent = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', ${JSON.stringify(hold)}], { stdio: ['ignore', 'inherit', 'inherit'] });
    ${hold}`;
  const root = spawn(process.execPath, ['-e', parent], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(root);
  return new Promise((resolve, reject) => {
    const pids: number[] = [];
    root.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) pids.push(Number(line));
      if (pids.length === 2) {
        grandchildren.push(...pids);
        resolve({ root, pids });
      }
    });
    root.on('error', reject);
  });
}

describe('treeRss', () => {
  it('parses /proc stat lines whose command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i));
    fields[1] = '4242'; // ppid
    fields[19] = '777'; // starttime
    fields[21] = '1500'; // rss pages
    const line = `123 (my (odd) name) ${fields.join(' ')}`;
    expect(parseStat(line)).toEqual({ ppid: 4242, startTime: 777, rssPages: 1500 });
    expect(parseStat('garbage')).toBeNull();
  });

  it('parses ps output in KiB and sums only the subtree', () => {
    const table = parsePsOutput('  1     0   1000\n 10     1   2000\n 11    10   3000\n 12    11   4000\n 20     1   9999\nbad line\n');
    const tree = sumTree(10, table);
    expect(tree.pids.sort()).toEqual([10, 11, 12]);
    expect(tree.rssBytes).toBe((2000 + 3000 + 4000) * 1024);
    expect(tree.rootAlive).toBe(true);
  });

  it('measures a real child and grandchild, and nothing else', async () => {
    const { root, pids } = await spawnTree(64);
    const reader = createTreeRssReader(root.pid!);
    const tree = await reader.read();
    for (const pid of [root.pid!, ...pids]) expect(tree.pids).toContain(pid);
    expect(tree.pids).not.toContain(process.pid);
    // Two processes each holding 64 MiB of touched memory plus two Node runtimes.
    expect(tree.rssBytes).toBeGreaterThan(128 * MiB);
    expect(tree.rssBytes).toBeLessThan(600 * MiB);
    // Incremental reads (not full scans) still see the same tree.
    for (let i = 0; i < 3; i++) expect((await reader.read()).pids.length).toBe(tree.pids.length);
  });

  it('reports an exited root as not alive with nothing counted', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    const tree = await createTreeRssReader(child.pid!).read();
    expect(tree).toEqual({ rssBytes: 0, pids: [], rootAlive: false });
  });
});
