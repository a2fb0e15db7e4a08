/**
 * Where the app's own files are (stage scripts, python-env, resources, the
 * built renderer) and where the user's data lives. Computed without Electron
 * so the CLI, serve mode and the app all agree on one history.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_NAME = 'Convert Workbench';
export const PACKAGE_NAME = 'convert-workbench';

let cachedAppRoot: string | undefined;

/**
 * The folder holding package.json: walks up from this module, which sits at
 * main/core/paths.ts in the sources and inside dist/ once bundled. In a packaged
 * Electron app WORKBENCH_APP_ROOT is set by the entry to the unpacked resources.
 */
export function appRoot(): string {
  if (cachedAppRoot) return cachedAppRoot;
  const fromEnv = process.env.WORKBENCH_APP_ROOT;
  if (fromEnv) return (cachedAppRoot = fromEnv);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
        if (pkg.name === PACKAGE_NAME) return (cachedAppRoot = dir);
      } catch {
        // An unreadable package.json is not ours; keep walking up.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot locate the ${APP_NAME} installation (no package.json named ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}).`);
    dir = parent;
  }
}

/** A built file under dist/ (stage scripts, workers, renderer). */
export function distPath(...segments: string[]): string {
  return path.join(appRoot(), 'dist', ...segments);
}

/** A Node stage script built from main/stages/<kind>.ts. */
export function nodeStageScript(kind: string): string {
  return distPath('stages', `${kind}.js`);
}

/** A worker thread script built from main/**\/<name>.worker.ts. */
export function workerScriptPath(name: string): string {
  return distPath('workers', `${name}.worker.js`);
}

/**
 * Where python-env/ and resources/ sit: next to dist/ in a checkout, but in
 * a packaged app outside the asar archive (Python cannot read inside it), so
 * the Electron entry points WORKBENCH_RESOURCES_ROOT at process.resourcesPath.
 */
export function resourcesRoot(): string {
  return process.env.WORKBENCH_RESOURCES_ROOT || appRoot();
}

/** python-env/ (requirements, bootstrap, stage scripts). */
export function pythonEnvPath(...segments: string[]): string {
  return path.join(resourcesRoot(), 'python-env', ...segments);
}

/** resources/ (icons, schemas, proto files, static data). */
export function resourcesPath(...segments: string[]): string {
  return path.join(resourcesRoot(), 'resources', ...segments);
}

export type Platform = 'linux' | 'darwin' | 'win32';

/**
 * The per-user data directory, the same folder Electron's
 * app.getPath('userData') gives for this product name, so the app, the CLI and
 * serve mode share one history. Pure: the caller passes the environment.
 */
export function defaultDataDir(platform: Platform, env: NodeJS.ProcessEnv, home: string): string {
  switch (platform) {
    case 'win32':
      return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), APP_NAME);
    case 'darwin':
      return path.posix.join(home, 'Library', 'Application Support', APP_NAME);
    default:
      // Chromium's GetXDGDirectory: an unset or empty XDG_CONFIG_HOME means ~/.config.
      return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, '.config'), APP_NAME);
  }
}

/** --data-dir wins, then WORKBENCH_DATA_DIR, then the platform default. */
export function resolveDataDir(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.WORKBENCH_DATA_DIR) return path.resolve(process.env.WORKBENCH_DATA_DIR);
  return defaultDataDir(process.platform as Platform, process.env, os.homedir());
}
