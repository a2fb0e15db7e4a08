/**
 * The installer configuration, checked with electron-builder's own code: the
 * config loads and passes electron-builder's schema, and every file the
 * packaged app needs at run time (main entry, preload, renderer assets, Node
 * stage scripts, workers, python-env scripts, proto/schema files, the
 * Electron-ABI SQLite addon) is matched by `files`/`extraResources` — using
 * electron-builder's FileMatcher on the real built tree — and lands where the
 * app looks for it (main/app/runtimePaths.ts). Needs `npm run build` first.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { electronNativeDir, runtimeLocations, SQLITE_ADDON } from '../main/app/runtimePaths.js';
import { windowPlan } from '../main/app/windowPolicy.js';
import { migrations } from '../main/core/history/migrations/index.js';
import { REPO_ROOT } from './helpers/serve.js';

const require = createRequire(import.meta.url);
const builderConfig = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string | null, configFromOptions: unknown): Promise<Config>;
  validateConfiguration(config: Config, debugLogger: { isEnabled: boolean; add(): void }): Promise<void>;
};
const { FileMatcher } = require('app-builder-lib/out/fileMatcher.js') as {
  FileMatcher: new (from: string, to: string, expand: (s: string) => string, patterns: string[] | undefined) => { from: string; to: string; createFilter(): (file: string, stat: Pick<Stats, 'isDirectory'>) => boolean };
};

interface FileSet {
  from: string;
  to: string;
  filter?: string[];
}
// getConfig normalises `files` to file sets; the one without `from` is the project folder.
type Config = Record<string, unknown> & { files: Array<{ from?: string; filter: string[] }>; extraResources: FileSet[] };

const quiet = { isEnabled: false, add() {} };
const platform = process.platform;
const arch = process.arch;
// electron-builder's macro expansion for ${platform} and ${arch} (util/macroExpander.js).
const expand = (s: string) => s.replaceAll('${platform}', platform).replaceAll('${arch}', arch);
const asFile = { isDirectory: () => false };

let config: Config;

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full));
    else found.push(full);
  }
  return found;
}

/** Inside app.asar? (electron-builder's filter for `files`, from the project folder) */
function inAsar(relative: string): boolean {
  const patterns = config.files.filter((set) => set.from === undefined).flatMap((set) => set.filter);
  const matcher = new FileMatcher(REPO_ROOT, '', expand, patterns);
  return matcher.createFilter()(path.join(REPO_ROOT, relative), asFile);
}

/** Where an extraResources entry puts a project file (relative to process.resourcesPath), or null. */
function extraResourceDestination(relative: string): string | null {
  for (const set of config.extraResources) {
    const matcher = new FileMatcher(path.join(REPO_ROOT, expand(set.from)), expand(set.to), expand, set.filter);
    const source = path.join(REPO_ROOT, relative);
    if (!source.startsWith(matcher.from + path.sep)) continue;
    if (matcher.createFilter()(source, asFile)) return path.join(matcher.to, path.relative(matcher.from, source));
  }
  return null;
}

beforeAll(async () => {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'main', 'app.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  config = (await builderConfig.getConfig(REPO_ROOT, null, null)) as Config;
});

describe('electron-builder configuration', () => {
  it('loads from electron-builder.yml and passes electron-builder’s schema', async () => {
    await expect(builderConfig.validateConfiguration(config, quiet)).resolves.toBeUndefined();
    expect(config).toMatchObject({ appId: 'dev.convertworkbench.app', productName: 'Convert Workbench', asar: true, npmRebuild: false });
    // The validator is live: a misplaced option is rejected.
    await expect(builderConfig.validateConfiguration({ ...config, linux: { ...(config.linux as object), title: 'x' } }, quiet)).rejects.toThrow(/configuration object that does not match the API schema/);
  });

  it('targets AppImage + deb, dmg for arm64 and x64, and NSIS', () => {
    expect((config.linux as { target: string[] }).target).toEqual(['AppImage', 'deb']);
    expect((config.mac as { target: unknown }).target).toEqual([{ target: 'dmg', arch: ['arm64', 'x64'] }]);
    expect((config.win as { target: unknown }).target).toEqual([{ target: 'nsis', arch: ['x64'] }]);
    // Stage scripts run as `Electron --run-as-node`: the fuse must stay on.
    expect((config.electronFuses as { runAsNode: boolean }).runAsNode).toBe(true);
  });

  it('has real icons: a PNG per Linux size, 1024 px for macOS, 256 px for Windows', () => {
    const size = (file: string) => {
      const png = readFileSync(path.join(REPO_ROOT, file));
      expect(png.subarray(1, 4).toString(), file).toBe('PNG');
      return [png.readUInt32BE(16), png.readUInt32BE(20)];
    };
    for (const px of [16, 32, 48, 64, 128, 256, 512]) expect(size(`resources/icons/${px}x${px}.png`)).toEqual([px, px]);
    expect(size((config.mac as { icon: string }).icon)).toEqual([1024, 1024]);
    expect(size((config.win as { icon: string }).icon)).toEqual([256, 256]);
    expect((config.linux as { icon: string }).icon).toBe('resources/icons');
  });

  it('runs the Electron-ABI addon build before packing each arch', async () => {
    expect(config.beforePack).toBe('./scripts/electron-builder-hooks.mjs');
    const hooks = (await import(path.join(REPO_ROOT, 'scripts', 'electron-builder-hooks.mjs'))) as { beforePack: unknown; archName(arch: number | string): string };
    expect(typeof hooks.beforePack).toBe('function');
    expect([hooks.archName(1), hooks.archName(3), hooks.archName('x64')]).toEqual(['x64', 'arm64', 'x64']);
    expect(() => hooks.archName(4)).toThrow(/each architecture separately/);
  });
});

describe('every runtime file is packaged where the app looks for it', () => {
  it('main entry, preload, renderer assets, stage scripts and workers are in app.asar; source maps, sources and tests are not', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { main: string };
    const needed = [
      pkg.main,
      path.relative(REPO_ROOT, windowPlan(path.join(REPO_ROOT, 'dist')).preloadFile),
      path.relative(REPO_ROOT, windowPlan(path.join(REPO_ROOT, 'dist')).indexFile),
      ...['renderer', 'stages', 'workers'].flatMap((dir) => filesUnder(path.join(REPO_ROOT, 'dist', dir)).map((f) => path.relative(REPO_ROOT, f))).filter((f) => !f.endsWith('.map')),
    ];
    expect(needed.filter((f) => f.startsWith('dist/stages/')).length).toBeGreaterThanOrEqual(4);
    expect(needed.filter((f) => f.startsWith('dist/workers/')).length).toBeGreaterThanOrEqual(1);
    expect(needed.filter((f) => f.startsWith('dist/renderer/assets/')).length).toBeGreaterThanOrEqual(2);
    for (const file of needed) {
      expect(existsSync(path.join(REPO_ROOT, file)), file).toBe(true);
      expect(inAsar(file), `${file} must be in app.asar`).toBe(true);
    }
    for (const file of ['main/core/engine.ts', 'test/packaging.test.ts', 'dist/main/app.js.map', 'python-env/bootstrap.py', 'bench/run.mjs', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'electron-builder.yml']) {
      expect(inAsar(file), `${file} must stay out of app.asar`).toBe(false);
    }
  });

  it('the database migrations are bundled into the main entry (no separate files to ship)', () => {
    const bundle = readFileSync(path.join(REPO_ROOT, 'dist', 'main', 'app.js'), 'utf8');
    for (const sql of migrations) {
      for (const line of sql.split('\n').map((l) => l.trim()).filter((l) => l.length > 20).slice(0, 5)) expect(bundle, line).toContain(line);
    }
  });

  it('python-env scripts and requirements, proto and schema files go beside app.asar, where paths.ts finds them; Python tests do not', () => {
    const resourcesRoot = '/opt/Convert Workbench/resources';
    const runtime = runtimeLocations({ packaged: true, appPath: `${resourcesRoot}/app.asar`, resourcesPath: resourcesRoot, platform, arch });
    const pythonFiles = filesUnder(path.join(REPO_ROOT, 'python-env'))
      .map((f) => path.relative(REPO_ROOT, f))
      .filter((f) => !f.includes('__pycache__') && !f.endsWith('.pyc'));
    const shipped = pythonFiles.filter((f) => !f.startsWith('python-env/tests/'));
    expect(shipped).toEqual(expect.arrayContaining(['python-env/bootstrap.py', 'python-env/doctor.py', 'python-env/stages/convert.py']));
    expect(shipped.some((f) => /requirements-.*\.txt$/.test(f))).toBe(true);
    for (const file of shipped) {
      // paths.ts: pythonEnvPath(...) = <WORKBENCH_RESOURCES_ROOT>/python-env/...
      expect(extraResourceDestination(file), file).toBe(file);
      expect(path.join(runtime.resourcesRoot, extraResourceDestination(file)!)).toBe(path.join(resourcesRoot, file));
    }
    for (const file of pythonFiles.filter((f) => f.startsWith('python-env/tests/'))) expect(extraResourceDestination(file), file).toBeNull();
    const formats = ['proto', 'schema'].flatMap((dir) => readdirSync(path.join(REPO_ROOT, 'resources', dir)).map((name) => `resources/${dir}/${name}`));
    expect(formats.filter((f) => f.endsWith('.proto')).length).toBeGreaterThanOrEqual(4);
    expect(formats.filter((f) => f.endsWith('.fbs')).length).toBeGreaterThanOrEqual(2);
    for (const file of formats) expect(extraResourceDestination(file), file).toBe(file);
    expect(extraResourceDestination('resources/icons/icon.svg')).toBeNull();
  });

  it('the Electron-ABI SQLite addon for this platform and arch lands at the nativeBinding path the app passes', () => {
    const resourcesRoot = '/opt/Convert Workbench/resources';
    const runtime = runtimeLocations({ packaged: true, appPath: `${resourcesRoot}/app.asar`, resourcesPath: resourcesRoot, platform, arch });
    const built = path.relative(REPO_ROOT, path.join(electronNativeDir(REPO_ROOT, platform, arch), SQLITE_ADDON));
    expect(built).toBe(path.join('native', 'electron', `${platform}-${arch}`, 'better_sqlite3.node'));
    expect(path.join(resourcesRoot, extraResourceDestination(built)!)).toBe(runtime.sqliteBinding);
    expect(extraResourceDestination(path.join('native', 'electron', `${platform}-${arch}`, 'build.json'))).toBeNull();
  });
});

describe('release workflow', () => {
  it('runs only npm scripts that exist, on Linux, macOS and Windows runners, and uploads every installer type', () => {
    const yaml = require('js-yaml') as { load(text: string): unknown };
    const workflow = yaml.load(readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'release.yml'), 'utf8')) as {
      on: { push: { tags: string[] } };
      jobs: Record<string, { strategy?: { matrix: { include: Array<{ os: string; platform: string }> } }; steps: Array<{ run?: string; with?: { path?: string } }> }>;
    };
    expect(workflow.on.push.tags).toEqual(['v*']);
    const scripts = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.run ?? '')).join('\n');
    const used = [...runs.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(used).toEqual(expect.arrayContaining(['rebuild:electron', 'dist']));
    for (const script of used) expect(scripts[script], script).toBeDefined();
    const matrix = workflow.jobs.installers!.strategy!.matrix.include;
    expect(matrix.map((m) => m.platform).sort()).toEqual(['--linux', '--mac', '--win']);
    expect(matrix.map((m) => m.os.split('-')[0]).sort()).toEqual(['macos', 'ubuntu', 'windows']);
    const uploaded = workflow.jobs.installers!.steps.find((step) => step.with?.path)!.with!.path!;
    for (const ext of ['AppImage', 'deb', 'dmg', 'exe']) expect(uploaded).toContain(`release/*.${ext}`);
    expect((config.directories as { output: string }).output).toBe('release');
  });
});
