/**
 * Finds Python interpreters for the stages and the doctor, in the order the
 * workbench uses them: the one chosen in Settings, the bootstrapped virtual
 * environment (`<dataDir>/python/venv`), then python3 / python on PATH.
 * Each is asked for its version by running it, so a broken or foreign file
 * shows up as such instead of failing later inside a stage.
 */
import { execFile } from 'node:child_process';
import { access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { cachedProbe, environmentSalt } from './probeCache.js';

export const MIN_PYTHON: readonly [number, number] = [3, 10];

export type PythonSource = 'settings' | 'venv' | 'path';

export interface PythonCandidate {
  path: string;
  source: PythonSource;
  /** "3.11.2", or null when it did not run. */
  version: string | null;
  /** Runs and is >= 3.10. */
  usable: boolean;
  /** Why it is not usable, one sentence. */
  problem: string | null;
}

export function venvDir(dataDir: string): string {
  return path.join(dataDir, 'python', 'venv');
}

export function venvPython(dataDir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? path.join(venvDir(dataDir), 'Scripts', 'python.exe') : path.join(venvDir(dataDir), 'bin', 'python');
}

/** How to get a suitable Python on each platform (shown when none is found). */
export function installPythonHint(platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return 'Install Python 3.11: `brew install python@3.11`, the installer from python.org, or `uv python install 3.11`.';
    case 'win32':
      return 'Install Python 3.11: `winget install Python.Python.3.11`, the installer from python.org, or `uv python install 3.11`.';
    default:
      return 'Install Python 3.11: `sudo apt install python3.11 python3.11-venv` (Debian/Ubuntu), `sudo dnf install python3.11` (Fedora), or `uv python install 3.11`.';
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves a command name against PATH like a shell would (first hit wins). */
export async function whichOnPath(name: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, name + ext);
      if (await isExecutable(file)) return file;
    }
  }
  return null;
}

/**
 * Runs `python -c` and returns its version and the interpreter it really is
 * (shims such as pyenv's resolve to one executable), or an error sentence.
 */
export function probePython(file: string, timeoutMs = 20_000): Promise<{ version: string | null; executable: string | null; error: string | null }> {
  return new Promise((resolve) => {
    execFile(file, ['-c', "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"], { timeout: timeoutMs, windowsHide: true }, (error, stdout) => {
      const [version = '', executable = ''] = stdout.trim().split(/\r?\n/);
      if (error || !/^\d+\.\d+\.\d+$/.test(version)) {
        resolve({ version: null, executable: null, error: error ? error.message.split('\n')[0] ?? 'it did not run' : `it printed "${version.slice(0, 80)}" instead of a version` });
      } else {
        resolve({ version, executable: executable || null, error: null });
      }
    });
  });
}

export function versionAtLeast(version: string, min: readonly [number, number] = MIN_PYTHON): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/** The marker bootstrap.py writes into the environment when its install is done (route, pins, versions). */
export function venvMarker(dataDir: string): string {
  return path.join(venvDir(dataDir), 'workbench-env.json');
}

/**
 * What a setup or rebuild of the workbench's environment changes (its folder
 * and its marker): probes whose answer depends on installed packages are
 * kept only while this stays the same (probeCache.ts).
 */
export function workbenchEnvironmentSalt(dataDir: string): Promise<string> {
  return environmentSalt(venvDir(dataDir), venvMarker(dataDir));
}

export interface FindPythonsOptions {
  dataDir: string;
  settingsPath: string | null;
  envPath?: string;
}

/** Every interpreter the workbench would consider, in preference order, deduplicated. */
export async function findPythons(options: FindPythonsOptions): Promise<PythonCandidate[]> {
  const raw: Array<{ path: string; source: PythonSource }> = [];
  if (options.settingsPath) raw.push({ path: options.settingsPath, source: 'settings' });
  raw.push({ path: venvPython(options.dataDir), source: 'venv' });
  for (const name of ['python3', 'python']) {
    const found = await whichOnPath(name, options.envPath);
    if (found) raw.push({ path: found, source: 'path' });
  }
  const seen = new Set<string>();
  const result: PythonCandidate[] = [];
  for (const candidate of raw) {
    const exists = await isExecutable(candidate.path);
    if (!exists && candidate.source === 'venv') continue; // not bootstrapped yet: not a problem of its own
    const key = exists ? await realpath(candidate.path).catch(() => candidate.path) : candidate.path;
    // A venv's python is a symlink to its base interpreter: keep both entries, they differ in packages.
    const dedupeKey = `${candidate.source === 'venv' ? 'venv:' : ''}${key}`;
    if (seen.has(dedupeKey)) continue;
    seen.add(dedupeKey);
    if (!exists) {
      result.push({ ...candidate, version: null, usable: false, problem: `${candidate.path} does not exist or is not executable.` });
      continue;
    }
    const { version, executable, error } = await cachedProbe('version', candidate.path, '', () => probePython(candidate.path));
    // python3 and python on PATH are often the same interpreter behind two names or shims.
    if (candidate.source === 'path' && executable) {
      const real = await realpath(executable).catch(() => executable);
      if (seen.has(`exe:${real}`)) continue;
      seen.add(`exe:${real}`);
    }
    const usable = version !== null && versionAtLeast(version);
    result.push({
      ...candidate,
      version,
      usable,
      problem: version === null ? `${candidate.path} does not run (${error}).` : usable ? null : `Python ${version} is older than ${MIN_PYTHON.join('.')}.`,
    });
  }
  return result;
}

/**
 * The interpreter a Python conversion stage runs with: Settings, else the
 * bootstrapped venv, else the first usable Python on PATH (which then reports
 * its missing packages with the fix, through the stage's own error event).
 */
export async function stagePython(options: FindPythonsOptions): Promise<string> {
  const candidates = await findPythons(options);
  const fromSettings = candidates.find((c) => c.source === 'settings');
  if (fromSettings) {
    if (!fromSettings.usable) {
      throw new WorkbenchError('python_unsuitable', `The Python chosen in Settings cannot be used: ${fromSettings.problem}`, {
        hint: 'Clear or change the Python interpreter in Settings.',
      });
    }
    return fromSettings.path;
  }
  const chosen = candidates.find((c) => c.usable);
  if (!chosen) {
    throw new WorkbenchError('python_not_found', `No Python ${MIN_PYTHON.join('.')} or newer was found.`, { hint: installPythonHint() });
  }
  return chosen.path;
}

/**
 * The interpreter that runs bootstrap.py (and builds the venv from itself
 * unless Settings names another): never the venv it may be about to delete.
 */
export async function bootstrapPython(options: FindPythonsOptions): Promise<string> {
  const candidates = (await findPythons(options)).filter((c) => c.source !== 'venv');
  const chosen = candidates.find((c) => c.usable);
  if (!chosen) {
    const seen = candidates.map((c) => c.problem ?? c.path).join(' ');
    throw new WorkbenchError('python_not_found', `No Python ${MIN_PYTHON.join('.')} or newer was found to set up the environment.${seen ? ` ${seen}` : ''}`, {
      hint: installPythonHint(),
    });
  }
  return chosen.path;
}

/**
 * Finds torch without importing it and reads its version from the file
 * `torch.__version__` itself comes from (torch/version.py), falling back to
 * the package metadata. Importing torch costs seconds of CPU (~1.8 s here),
 * and this runs before every behaviour check, recipes comparison and demo,
 * for every candidate interpreter; the stage that then needs torch imports
 * it and names an installed-but-broken torch in its own error.
 */
const TORCH_PROBE = String.raw`
import importlib.util, os, re
spec = importlib.util.find_spec('torch')
version = ''
for folder in (spec.submodule_search_locations or []) if spec else []:
  try:
    found = re.search(r'^__version__\s*=\s*[\x27\x22]([^\x27\x22]+)', open(os.path.join(folder, 'version.py')).read(), re.M)
  except OSError:
    found = None
  if found:
    version = found.group(1)
    break
if spec and not version:
  import importlib.metadata
  try:
    version = importlib.metadata.version('torch')
  except Exception:
    version = 'of unknown version'
print(version)
`;

/** The torch version an interpreter would import, or null when it has no torch (or does not run); uncached. */
export function probeTorchVersion(python: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(python, ['-c', TORCH_PROBE], { timeout: 60_000, windowsHide: true }, (error, stdout) => {
      resolve(error ? null : String(stdout).trim() || null);
    });
  });
}

export interface ReferencePython {
  path: string;
  /** torch's version in that interpreter; null: it cannot import torch (the behaviour check then says so). */
  torch: string | null;
}

/**
 * The Python for the behaviour check's reference answers — the one function
 * the evaluate stage launches with and the doctor reports: the one chosen in
 * Settings or the workbench's environment when there is one; otherwise the
 * first Python on the PATH, or the system's /usr/bin/python3 (where the
 * distribution's python3-torch lives), that can import torch (a pyenv shim
 * without it may come first); else the usual stage Python, without torch
 * (the stage then names what is missing). Throws like stagePython when no
 * usable Python exists at all.
 */
export async function referencePython(options: FindPythonsOptions): Promise<ReferencePython> {
  const candidates = await findPythons(options);
  const salt = await workbenchEnvironmentSalt(options.dataDir);
  const torchVersion = (python: string) => cachedProbe('torch', python, salt, () => probeTorchVersion(python));
  const chosen = candidates.find((c) => c.source === 'settings') ?? candidates.find((c) => c.source === 'venv' && c.usable);
  if (chosen) {
    const interpreter = await stagePython(options);
    return { path: interpreter, torch: await torchVersion(interpreter) };
  }
  const paths = [...candidates.filter((c) => c.usable).map((c) => c.path), ...(process.platform === 'win32' ? [] : ['/usr/bin/python3'])];
  for (const candidate of [...new Set(paths)]) {
    const torch = await torchVersion(candidate);
    if (torch) return { path: candidate, torch };
  }
  return { path: await stagePython(options), torch: null };
}
