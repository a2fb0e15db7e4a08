/**
 * `workbench doctor` through the real CLI context and engine, in a fresh data
 * folder on this machine: JSON output, exit code, and every problem printed
 * with its fix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorReport } from '../main/common/env.js';
import { doctorCommandMain } from '../main/cli/commands/doctor.js';
import { createCliContext } from '../main/cli/context.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'doctor-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('workbench doctor', () => {
  it('workbench doctor --json prints the report and exits 1 when there is an error', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'cli-'));
    const ctx = createCliContext(dataDir);
    const out: string[] = [];
    ctx.out = (text) => out.push(text);
    try {
      const code = await doctorCommandMain(['--json'], ctx);
      expect(code).toBe(1);
      const report = DoctorReport.parse(JSON.parse(out.join('\n')));
      expect(report.problems.map((p) => p.id)).toContain('no_env');
    } finally {
      await ctx.close();
    }
  });

  it('workbench doctor prints every problem with its fix', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'cli-text-'));
    const ctx = createCliContext(dataDir);
    const out: string[] = [];
    ctx.out = (text) => out.push(text);
    try {
      await doctorCommandMain([], ctx);
      const text = out.join('\n');
      expect(text).toMatch(/Route example: not ready/);
      expect(text).toMatch(/ai-edge-torch\s+0\.7\.1\s+missing/);
      expect(text).toMatch(/fix: Set up the example environment — workbench doctor --bootstrap example/);
    } finally {
      await ctx.close();
    }
  });
});
