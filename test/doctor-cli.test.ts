/**
 * `workbench doctor` through the real CLI context and engine, in a fresh data
 * folder on this machine: JSON output, exit code, and every problem printed
 * with its fix.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  it('exits 0 when what is asked for can run: native by default, without any Python environment', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'cli-'));
    const ctx = createCliContext(dataDir);
    const out: string[] = [];
    ctx.out = (text) => out.push(text);
    ctx.err = () => {};
    try {
      expect(await doctorCommandMain(['--json'], ctx)).toBe(0);
      const report = DoctorReport.parse(JSON.parse(out.join('\n')));
      expect(report.problems.map((p) => p.id)).toContain('no_env');
      expect(report.problems.find((p) => p.id === 'no_env')?.severity).toBe('warn');
      expect(report.capabilities.map((c) => [c.id, c.ready])).toEqual([['native', true], ['reference', expect.any(Boolean)], ['python_routes', false]]);
      // The Python routes are what this fresh folder lacks: asking for them fails, with the one action that sets them up.
      expect(await doctorCommandMain(['--json', '--need', 'python-routes'], ctx)).toBe(1);
      expect(report.capabilities.find((c) => c.id === 'python_routes')?.fix).toMatchObject({ action: 'bootstrap', command: 'workbench doctor --bootstrap example' });
      await expect(doctorCommandMain(['--need', 'gpu'], ctx)).rejects.toThrow(/--need takes native, reference or python-routes/);
    } finally {
      await ctx.close();
    }
  });

  it("names the behaviour check's interpreter and its torch, found as the evaluate stage finds it", async () => {
    const dataDir = await mkdtemp(path.join(dir, 'cli-ref-'));
    const ctx = createCliContext(dataDir);
    const out: string[] = [];
    ctx.out = (text) => out.push(text);
    ctx.err = () => {};
    try {
      const code = await doctorCommandMain(['--need', 'native,reference'], ctx);
      const text = out.join('\n');
      expect(text).toMatch(/^What can run on this host:\n {2}ready {6}Native conversion, LoRA merge and packaging {2}\(needed\)\n {13}Run in Node\.js .*; no Python needed\./);
      const line = /ready {6}Behaviour check reference \(PyTorch\) {2}\(needed\)\n {13}(\S+) \(Python (3\.\d+\.\d+)\) with torch (\S+)\./.exec(text);
      if (!line) {
        // No Python with torch on this host: then the reference is reported not ready and --need reference fails.
        expect(text).toMatch(/NOT READY {2}Behaviour check reference/);
        expect(code).toBe(1);
        return;
      }
      expect(code).toBe(0);
      // Independently: that interpreter really is that Python with that torch.
      const [, python, version, torch] = line;
      expect(execFileSync(python!, ['-c', 'import platform, torch; print(platform.python_version(), torch.__version__)'], { encoding: 'utf8' }).trim()).toBe(`${version} ${torch}`);
    } finally {
      await ctx.close();
    }
  });

  it('says which Python lacks torch, with the command that installs it, and fails --need reference', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'cli-notorch-'));
    // A virtual environment sees none of the system's packages: a real Python without torch.
    const bare = path.join(dir, 'bare-venv');
    execFileSync(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', ['-m', 'venv', '--without-pip', bare]);
    const python = path.join(bare, 'bin', 'python3');
    const ctx = createCliContext(dataDir);
    ctx.engine().settings.update({ pythonPath: python });
    const out: string[] = [];
    ctx.out = (text) => out.push(text);
    ctx.err = () => {};
    try {
      expect(await doctorCommandMain(['--json', '--need', 'reference'], ctx)).toBe(1);
      const reference = DoctorReport.parse(JSON.parse(out.join('\n'))).capabilities.find((c) => c.id === 'reference')!;
      expect(reference).toMatchObject({ ready: false, python, torch: null, fix: { command: `${python} -m pip install torch` } });
      expect(reference.detail).toMatch(new RegExp(`^${python.replaceAll('.', '\\.')} \\(Python 3\\.\\d+\\.\\d+\\) cannot import torch`));
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
