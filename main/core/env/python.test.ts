/**
 * The torch probe the behaviour check, recipes and demo launch with: it finds
 * torch without importing it (an import costs seconds of CPU). Checked on this
 * machine's real interpreter against `torch.__version__` itself, and on
 * interpreters whose torch is a stand-in the test writes: one with a version
 * file, one without, one that does not import (the reference stage then says
 * so in one sentence), and none at all.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStageLine } from '../runner/lineProtocol.js';
import { probeTorchVersion as torchVersion } from './python.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
let dir: string;

/** An interpreter whose `torch` is the folder the test writes: the system Python with that folder first on its path. */
function pythonWithTorch(name: string, files: Record<string, string>): string {
  const site = path.join(dir, name);
  mkdirSync(path.join(site, 'torch'), { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(site, 'torch', file), text);
  const wrapper = path.join(dir, `${name}-python`);
  writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH='${site}' exec ${SYSTEM_PYTHON} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wb-torch-probe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(existsSync(SYSTEM_PYTHON))('torchVersion', () => {
  it('reads the version torch.__version__ reports, without importing torch', async () => {
    const imported = (() => {
      try {
        return execFileSync(SYSTEM_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
      } catch {
        return null;
      }
    })();
    expect(await torchVersion(SYSTEM_PYTHON)).toBe(imported);
    // A torch whose import would fail is still found, with its version: the probe never imports it.
    const broken = pythonWithTorch('broken', { '__init__.py': 'raise ImportError("libtorch_cpu.so: cannot open shared object file")\n', 'version.py': "__version__ = '9.8.7+cpu'\n" });
    expect(await torchVersion(broken)).toBe('9.8.7+cpu');
  });

  it('falls back to the package metadata, and says null when there is no torch or no interpreter', async () => {
    const noVersionFile = pythonWithTorch('bare', { '__init__.py': '' });
    // No version.py and no installed metadata for this stand-in: found, version unknown.
    const version = await torchVersion(noVersionFile);
    expect(version === 'of unknown version' || /^\d/.test(version ?? '')).toBe(true);
    const noTorch = path.join(dir, 'no-torch-python');
    writeFileSync(noTorch, `#!/bin/sh\nexec ${SYSTEM_PYTHON} -S -c 'import sys; sys.path[:] = [p for p in sys.path if "packages" not in p]; exec(sys.argv[2])' -c "$2"\n`);
    chmodSync(noTorch, 0o755);
    expect(await torchVersion(noTorch)).toBeNull();
    expect(await torchVersion(path.join(dir, 'missing-python'))).toBeNull();
  });

  it('a torch that is found but does not import is one sentence from the reference stage, not a traceback', () => {
    const broken = pythonWithTorch('broken-stage', { '__init__.py': 'raise ImportError("libtorch_cpu.so: cannot open shared object file")\n', 'version.py': "__version__ = '9.8.7'\n" });
    const params = path.join(dir, 'params.json');
    writeFileSync(params, JSON.stringify({ modelDir: dir, prompts: [[1, 2]], maxNewTokens: 2, stopIds: [], windows: [] }));
    let stdout = '';
    try {
      stdout = execFileSync(broken, [path.join(REPO, 'python-env', 'stages', 'reference_answers.py'), '--params', params], { encoding: 'utf8' });
    } catch (error) {
      stdout = String((error as { stdout?: string }).stdout ?? '');
    }
    const errors = stdout.split('\n').map(parseStageLine).flatMap((line) => (line.kind === 'event' && line.event.type === 'error' ? [line.event] : []));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'missing_package' });
    expect(JSON.stringify(errors[0])).toMatch(/installed in the stage Python .* but does not import: ImportError: libtorch_cpu\.so/);
  });
});
