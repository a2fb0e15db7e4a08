/**
 * The doctor against the real interpreters of this machine, in fresh data
 * folders: not set up, an unfinished venv, and a broken Settings choice.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorReport } from '../../common/env.js';
import { runDoctor } from './doctor.js';
import { findPythons, venvDir } from './python.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'doctor-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('doctor', () => {
  it('reports a host with Python but no environment, with the fix command', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'fresh-'));
    const report = await runDoctor({ dataDir, settingsPythonPath: null });
    expect(report.pythons.some((p) => p.source === 'path' && p.usable && /^3\.\d+\.\d+$/.test(p.version ?? ''))).toBe(true);
    expect(report.venv).toMatchObject({ exists: false, route: null });
    const noEnv = report.problems.find((p) => p.id === 'no_env');
    expect(noEnv).toMatchObject({ severity: 'warn', fix: { action: 'bootstrap', route: 'example', command: 'workbench doctor --bootstrap example' } });
    // Installed vs pinned, read from the stage interpreter.
    const converter = report.routes?.example.packages.find((p) => p.name === 'ai-edge-torch');
    expect(converter).toMatchObject({ pinned: '0.7.1', ok: false });
    expect(report.routes?.export_hf.packages.map((p) => p.name)).toContain('litert-torch');
    expect(report.disk.map((d) => d.label)).toEqual(['data', 'output']);
    expect(report.disk[0]?.freeBytes).toBeGreaterThan(0);
    expect(report.memory.totalBytes).toBe(os.totalmem());
    expect(report.cpu.cores).toBe(os.cpus().length);
    expect(report.runtime.node).toBe(process.versions.node);
    expect(() => DoctorReport.parse(report)).not.toThrow();
  });

  it('says an unfinished venv needs a rebuild', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'unfinished-'));
    execFileSync(PYTHON, ['-m', 'venv', '--without-pip', venvDir(dataDir)]);
    const pythons = await findPythons({ dataDir, settingsPath: null });
    expect(pythons[0]).toMatchObject({ source: 'venv', usable: true });
    const report = await runDoctor({ dataDir, settingsPythonPath: null });
    expect(report.venv.exists).toBe(true);
    expect(report.problems.find((p) => p.id === 'env_unfinished')?.fix).toMatchObject({ action: 'rebuild', command: 'workbench doctor --bootstrap example --rebuild' });
  });

  it('answers again from the last seconds\' probes, and probes anew when asked to (Check again)', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'probes-'));
    // A Settings interpreter that counts its runs: the doctor's version, torch and package probes all go through it.
    const counter = path.join(dataDir, 'runs.txt');
    const python = path.join(dataDir, 'python3');
    writeFileSync(python, `#!/bin/sh\nprintf x >> '${counter}'\nexec ${PYTHON} "$@"\n`);
    chmodSync(python, 0o755);
    const runs = () => (existsSync(counter) ? readFileSync(counter, 'utf8').length : 0);
    const first = await runDoctor({ dataDir, settingsPythonPath: python });
    const probed = runs();
    expect(probed).toBeGreaterThan(0);
    const again = await runDoctor({ dataDir, settingsPythonPath: python });
    expect(runs()).toBe(probed);
    expect(again.pythons).toEqual(first.pythons);
    await runDoctor({ dataDir, settingsPythonPath: python, fresh: true });
    expect(runs()).toBe(2 * probed);
  });

  it('flags a Settings interpreter that does not exist and sends the user to Settings', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'settings-'));
    const report = await runDoctor({ dataDir, settingsPythonPath: path.join(dir, 'no', 'python3') });
    expect(report.stagePython).toBeNull();
    expect(report.problems.find((p) => p.id === 'settings_python')).toMatchObject({ severity: 'error', fix: { action: 'openSettings' } });
  });
});
