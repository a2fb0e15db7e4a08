/**
 * The environment doctor: checks this host for what a conversion needs and
 * says, for each problem, which button or command fixes it. Package versions
 * come from python-env/doctor.py run with the interpreter a conversion would
 * use (metadata only, no heavy imports), compared with the route's pins.
 */
import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PythonRoute } from '../../common/stages/convert.js';
import { WorkbenchError } from '../../common/errors.js';
import { DoctorReport, type Capability, type DoctorFix, type DoctorProblem, type PackageCheck, type PythonInfo } from '../../common/env.js';
import { pythonEnvPath } from '../paths.js';
import { findPythons, installPythonHint, probePython, referencePython, venvDir, venvMarker, whichOnPath, workbenchEnvironmentSalt, type ReferencePython } from './python.js';
import { cachedProbe, forgetProbes } from './probeCache.js';

export interface DoctorOptions {
  dataDir: string;
  settingsPythonPath: string | null;
  /** Where converted models go (default: <dataDir>/runs). */
  outputDir?: string;
  /** How the doctor command is spelled in fixes (the CLI's own name). */
  cli?: string;
  /** Probe every interpreter again ("Check again"), not the answers of the last seconds (probeCache.ts). */
  fresh?: boolean;
}

/** Below this, a 1.5B conversion (env ~6 GB + output ~2 GB + temporaries) may not fit. */
const MIN_FREE_DISK = 12 * 1024 ** 3;
/** Qwen2.5-1.5B at context 4096 peaked at 30–35 GB (28–33 GiB) in the field report: below this, conversions of that size need care. */
const FIELD_PEAK_BYTES = 32 * 1024 ** 3;

interface PythonDoctorOutput {
  executable: string;
  version: string;
  routes: Record<PythonRoute, { ready: boolean; packages: PackageCheck[] }>;
}

function runPythonDoctor(python: string): Promise<PythonDoctorOutput | null> {
  return new Promise((resolve) => {
    execFile(python, [pythonEnvPath('doctor.py')], { timeout: 60_000, windowsHide: true, env: { ...process.env, PYTHONNOUSERSITE: '1' } }, (error, stdout) => {
      if (error) return resolve(null);
      try {
        resolve(JSON.parse(stdout) as PythonDoctorOutput);
      } catch {
        resolve(null);
      }
    });
  });
}

async function disk(label: 'data' | 'output', dir: string) {
  // The folder may not exist yet: measure the nearest existing parent.
  let probe = dir;
  for (;;) {
    try {
      const info = await statfs(probe);
      return { label, path: dir, freeBytes: Number(info.bavail) * Number(info.bsize), totalBytes: Number(info.blocks) * Number(info.bsize) };
    } catch {
      const parent = path.dirname(probe);
      if (parent === probe) return { label, path: dir, freeBytes: null, totalBytes: null };
      probe = parent;
    }
  }
}

async function readMarker(dataDir: string) {
  try {
    const json = JSON.parse(await readFile(venvMarker(dataDir), 'utf8')) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const route: PythonRoute | null = json.route === 'example' || json.route === 'export_hf' ? json.route : null;
    return { route, pythonVersion: str(json.pythonVersion), installer: str(json.installer), createdAt: str(json.createdAt) };
  } catch {
    return { route: null, pythonVersion: null, installer: null, createdAt: null };
  }
}

/**
 * The behaviour check's reference, found by the same function the evaluate
 * stage launches with (referencePython), so the page names the interpreter
 * the check will actually use.
 */
async function referenceCapability(options: DoctorOptions, pythons: PythonInfo[]): Promise<Capability> {
  const label = 'Behaviour check reference (PyTorch)';
  let found: ReferencePython;
  try {
    found = await referencePython({ dataDir: options.dataDir, settingsPath: options.settingsPythonPath });
  } catch (error) {
    if (!(error instanceof WorkbenchError)) throw error;
    const fix: DoctorFix = error.code === 'python_unsuitable'
      ? { label: 'Change the Python in Settings', action: 'openSettings', route: null, command: null }
      : { label: 'Install Python 3 with PyTorch', action: null, route: null, command: process.platform === 'linux' ? 'sudo apt install python3-torch' : installPythonHint() };
    return { id: 'reference', label, ready: false, detail: `${error.message} The behaviour check compares the bundle's answers with the model's in PyTorch.`, python: null, torch: null, fix };
  }
  const version = pythons.find((p) => p.path === found.path)?.version ?? (await probePython(found.path)).version;
  const named = `${found.path}${version ? ` (Python ${version})` : ''}`;
  if (found.torch) return { id: 'reference', label, ready: true, detail: `${named} with torch ${found.torch}.`, python: found.path, torch: found.torch, fix: null };
  const debian = process.platform === 'linux' && found.path === '/usr/bin/python3';
  return {
    id: 'reference',
    label,
    ready: false,
    detail: `${named} cannot import torch, which the behaviour check's reference answers need.`,
    python: found.path,
    torch: null,
    fix: { label: debian ? "Install Debian's PyTorch" : 'Install PyTorch into that Python', action: null, route: null, command: debian ? 'sudo apt install python3-torch' : `${found.path} -m pip install torch` },
  };
}

const GiB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const cli = options.cli ?? 'workbench';
  if (options.fresh) forgetProbes();
  const pythons = await findPythons({ dataDir: options.dataDir, settingsPath: options.settingsPythonPath });
  const fromSettings = pythons.find((p) => p.source === 'settings');
  const stage = fromSettings ?? pythons.find((p) => p.usable) ?? null;
  const stagePython = stage?.usable ? stage.path : null;
  const salt = await workbenchEnvironmentSalt(options.dataDir);
  const pyReport = stagePython ? await cachedProbe('doctor', stagePython, salt, () => runPythonDoctor(stagePython)) : null;
  const venvExists = pythons.some((p) => p.source === 'venv');
  const marker = await readMarker(options.dataDir);
  const outputDir = options.outputDir ?? path.join(options.dataDir, 'runs');
  const disks = [await disk('data', options.dataDir), await disk('output', outputDir)];
  const cpus = os.cpus();
  const problems: DoctorProblem[] = [];
  const bootstrapFix = (route: PythonRoute, rebuild = false) => ({
    label: rebuild ? `Rebuild the ${route} environment` : `Set up the ${route} environment`,
    action: rebuild ? ('rebuild' as const) : ('bootstrap' as const),
    route,
    command: `${cli} doctor --bootstrap ${route}${rebuild ? ' --rebuild' : ''}`,
  });

  if (fromSettings && !fromSettings.usable) {
    problems.push({ id: 'settings_python', severity: 'error', message: `The Python chosen in Settings cannot be used: ${fromSettings.problem}`, fix: { label: 'Change it in Settings', action: 'openSettings', route: null, command: null } });
  }
  // Nothing here stops the native route (Node.js only): these are warnings for the Python parts, whose capability says so.
  if (!pythons.some((p) => p.usable && p.source !== 'venv')) {
    problems.push({ id: 'no_python', severity: 'warn', message: 'No Python 3.10 or newer was found on this machine: the behaviour check and the Python conversion routes need one (the native route does not).', fix: { label: 'Install Python 3.11', action: null, route: null, command: installPythonHint() } });
  }
  if (!venvExists && !fromSettings) {
    problems.push({ id: 'no_env', severity: 'warn', message: 'The Python conversion routes (example, export_hf) are not set up; the native route needs no Python and can run now.', fix: bootstrapFix('example') });
  } else if (venvExists && marker.route === null && !fromSettings) {
    problems.push({ id: 'env_unfinished', severity: 'warn', message: 'The Python environment for the example and export_hf routes exists but its setup never finished.', fix: bootstrapFix('example', true) });
  }
  if (pyReport) {
    const route: PythonRoute = marker.route ?? 'example';
    const wrong = pyReport.routes[route].packages.filter((p) => !p.ok);
    if ((venvExists || fromSettings) && wrong.length > 0 && marker.route !== null) {
      const list = wrong.slice(0, 6).map((p) => `${p.name} ${p.installed ?? 'missing'} (pinned ${p.pinned})`).join(', ');
      problems.push({ id: 'pins_differ', severity: 'warn', message: `${wrong.length} package(s) of the ${route} route differ from the pins: ${list}.`, fix: bootstrapFix(route, true) });
    }
    const major = pyReport.version.split('.').map(Number);
    if ((major[0] ?? 0) === 3 && (major[1] ?? 0) > 13) {
      problems.push({ id: 'python_new', severity: 'warn', message: `Python ${pyReport.version} is newer than the converter is published for (3.10–3.13).`, fix: { label: 'Choose Python 3.11 in Settings', action: 'openSettings', route: null, command: installPythonHint() } });
    }
  } else if (stagePython) {
    problems.push({ id: 'python_doctor_failed', severity: 'warn', message: `${stagePython} could not report its packages.`, fix: bootstrapFix(marker.route ?? 'example', true) });
  }
  for (const d of disks) {
    if (d.freeBytes !== null && d.freeBytes < MIN_FREE_DISK) {
      problems.push({ id: `disk_${d.label}`, severity: 'warn', message: `Only ${gib(d.freeBytes)} free in the ${d.label} folder ${d.path}; a conversion needs about ${gib(MIN_FREE_DISK)}.`, fix: { label: d.label === 'data' ? 'Free disk space, or start the app with --data-dir on a larger disk' : 'Free disk space, or choose an output folder on a larger disk', action: null, route: null, command: null } });
    }
  }
  if (os.totalmem() < FIELD_PEAK_BYTES) {
    problems.push({
      id: 'ram',
      severity: 'warn',
      // Only the Python routes need that much: the native route streams the weights in a few hundred MiB.
      message: `This host has ${gib(os.totalmem())} of RAM: enough for the native route (it converts in a few hundred MiB), but the Python routes (example, export_hf) can need more for a model of 1.5 B parameters or more at a long context. The wizard's Conversion step predicts the peak for your model, route and context.`,
      fix: { label: 'Convert on the native route where it builds the model; for a Python route, choose a shorter context length (see the memory estimate) or run serve mode on a larger host', action: null, route: null, command: null },
    });
  }

  const pythonInfos = pythons.map(({ path: p, source, version, usable, problem }) => ({ path: p, source, version, usable, problem }));
  const readyRoutes = pyReport ? (['example', 'export_hf'] as const).filter((r) => pyReport.routes[r].ready) : [];
  const routesFix = problems.map((p) => p.fix).find((f) => f.action === 'bootstrap' || f.action === 'rebuild') ?? bootstrapFix(marker.route ?? 'example', marker.route !== null);
  const capabilities: Capability[] = [
    {
      id: 'native',
      label: 'Native conversion, LoRA merge and packaging',
      ready: true,
      detail: `Run in Node.js ${process.versions.node}; no Python needed.`,
      python: null,
      torch: null,
      fix: null,
    },
    await referenceCapability(options, pythonInfos),
    readyRoutes.length > 0
      ? { id: 'python_routes', label: 'Python conversion routes (example, export_hf)', ready: true, detail: `Set up: ${readyRoutes.join(' and ')}, in ${stagePython}.`, python: stagePython, torch: null, fix: null }
      : {
          id: 'python_routes',
          label: 'Python conversion routes (example, export_hf)',
          ready: false,
          detail: venvExists || fromSettings ? 'Their packages are missing or differ from the pins (see below); only models the native route cannot build need them.' : 'Not set up; only models the native route cannot build need them.',
          python: null,
          torch: null,
          fix: routesFix,
        },
  ];

  return DoctorReport.parse({
    capabilities,
    createdAt: Date.now(),
    pythons: pythonInfos,
    stagePython,
    uv: await whichOnPath('uv'),
    venv: { path: venvDir(options.dataDir), exists: venvExists, ...marker },
    routes: pyReport ? pyReport.routes : null,
    disk: disks,
    memory: { totalBytes: os.totalmem(), availableBytes: os.freemem() },
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length },
    runtime: { node: process.versions.node, electron: process.versions.electron ?? null, platform: process.platform, arch: process.arch },
    problems,
  });
}

