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

/** Polls until `done()` holds; the limit is generous because a busy machine delays timers, never a reason to fail. */
async function until(done: () => boolean, what: string, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('startSampler', () => {
  // What was sampled, never how fast: a loaded machine may take any time to deliver the samples.
  it('samples a real process tree and stops when asked', async () => {
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); console.log("ready"); setInterval(() => b[0]++, 100)']);
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const samples: MemorySample[] = [];
      const sampler = startSampler({ pid: child.pid!, intervalMs: 100, onSample: (s) => samples.push(s) });
      await until(() => samples.length >= 3, 'three samples');
      sampler.stop();
      const count = samples.length;
      for (const s of samples) {
        expect(s.sysUsed).toBe(s.sysTotal - s.sysAvailable);
        // The child holds 64 MiB of touched memory from before the first sample.
        expect(s.treeRss).toBeGreaterThan(64 * 1024 * 1024);
      }
      expect(samples.map((s) => s.t)).toEqual([...samples.map((s) => s.t)].sort((a, b) => a - b));
      // Stopped means no sample after stop(), however long we look (several intervals here).
      await new Promise((r) => setTimeout(r, 500));
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
    await until(() => samples.length >= 2, 'samples after the reader recovers');
    sampler.stop();
    expect(calls).toBeGreaterThan(3);
    expect(errors).toHaveLength(1);
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
