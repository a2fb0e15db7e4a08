import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MemorySample } from '../../common/memory.js';
import { applyCgroupLimit, parseCgroupMemory, parseMeminfo, readHostMemory, startSampler } from './sampler.js';

describe('host memory', () => {
  it('parses /proc/meminfo and rejects a file without the fields', () => {
    const text = 'MemTotal:       16000000 kB\nMemFree:   100 kB\nMemAvailable:    4000000 kB\nSwapTotal:  2000000 kB\nSwapFree:   1500000 kB\n';
    expect(parseMeminfo(text)).toEqual({ total: 16000000 * 1024, available: 4000000 * 1024, swapTotal: 2000000 * 1024, swapUsed: 500000 * 1024 });
    expect(parseMeminfo('MemFree: 1 kB\n')).toBeNull();
    if (process.platform === 'linux') expect(parseMeminfo(readFileSync('/proc/meminfo', 'latin1'))).not.toBeNull();
  });

  it('reads this host', async () => {
    const host = await readHostMemory();
    expect(host.total).toBeGreaterThan(0);
    expect(host.available).toBeGreaterThan(0);
    expect(host.available).toBeLessThanOrEqual(host.total);
  });
});

describe('startSampler', () => {
  it('samples a real process tree at the interval and stops when asked', async () => {
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 100)']);
    try {
      const samples: MemorySample[] = [];
      const sampler = startSampler({ pid: child.pid!, intervalMs: 100, onSample: (s) => samples.push(s) });
      await new Promise((r) => setTimeout(r, 650));
      sampler.stop();
      const count = samples.length;
      expect(count).toBeGreaterThanOrEqual(4);
      expect(count).toBeLessThanOrEqual(8);
      const last = samples.at(-1)!;
      expect(last.sysUsed).toBe(last.sysTotal - last.sysAvailable);
      expect(Math.max(...samples.map((s) => s.treeRss))).toBeGreaterThan(64 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 300));
      expect(samples.length).toBe(count);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a failing reader once and keeps sampling', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const samples: MemorySample[] = [];
    const sampler = startSampler({
      pid: process.pid,
      intervalMs: 100,
      readHost: async () => {
        calls++;
        if (calls <= 3) throw new Error('meminfo unreadable');
        return { total: 100, available: 40, swapTotal: 0, swapUsed: 0 };
      },
      onSample: (s) => samples.push(s),
      onError: (e) => errors.push(e),
    });
    await new Promise((r) => setTimeout(r, 600));
    sampler.stop();
    expect(errors).toHaveLength(1);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples[0]!.sysUsed).toBe(60);
  });
});

describe('cgroup limits', () => {
  it('parses v2 and v1 files, and treats "max" or a 2^63 limit as none', () => {
    expect(parseCgroupMemory('8589934592\n', '4294967296\n', 'anon 1\ninactive_file 1073741824\n')).toEqual({ limit: 8 * 1024 ** 3, used: 3 * 1024 ** 3 });
    expect(parseCgroupMemory('4294967296', '3221225472', 'inactive_file 5\ntotal_inactive_file 1073741824\n')).toEqual({ limit: 4 * 1024 ** 3, used: 2 * 1024 ** 3 });
    expect(parseCgroupMemory('max\n', '123\n', '')).toBeNull();
    expect(parseCgroupMemory('9223372036854771712\n', '123\n', '')).toBeNull();
  });

  it('judges against the container limit when it is tighter than the host', () => {
    const host = { total: 128 * 1024 ** 3, available: 100 * 1024 ** 3, swapTotal: 0, swapUsed: 0 };
    expect(applyCgroupLimit(host, { limit: 16 * 1024 ** 3, used: 10 * 1024 ** 3 })).toEqual({ ...host, total: 16 * 1024 ** 3, available: 6 * 1024 ** 3 });
    expect(applyCgroupLimit(host, { limit: 256 * 1024 ** 3, used: 1 })).toBe(host);
    expect(applyCgroupLimit(host, null)).toBe(host);
  });
});
