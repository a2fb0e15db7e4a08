/**
 * Where the Electron app finds its own files, as a pure function of how it
 * runs (tested without Electron, and checked against the packaging config):
 * packaged, the code is in app.asar while python-env/, resources/ and the
 * Electron-ABI SQLite addon sit beside it in the resources folder (Python
 * cannot read inside an asar archive, and a .node file must be a real file).
 */
import path from 'node:path';

/** The Electron-ABI better-sqlite3 build, per platform and CPU, from `npm run rebuild:electron`. */
export function electronNativeDir(root: string, platform: string, arch: string): string {
  return path.join(root, 'native', 'electron', `${platform}-${arch}`);
}

export const SQLITE_ADDON = 'better_sqlite3.node';

export interface AppRuntime {
  packaged: boolean;
  /** app.getAppPath(): the checkout in development, …/resources/app.asar packaged. */
  appPath: string;
  /** process.resourcesPath. */
  resourcesPath: string;
  platform: string;
  arch: string;
}

export interface RuntimeLocations {
  /** WORKBENCH_APP_ROOT: holds dist/. */
  appRoot: string;
  /** WORKBENCH_RESOURCES_ROOT: holds python-env/ and resources/. */
  resourcesRoot: string;
  /** better-sqlite3's nativeBinding for this Electron. */
  sqliteBinding: string;
}

export function runtimeLocations(runtime: AppRuntime): RuntimeLocations {
  if (runtime.packaged) {
    return {
      appRoot: runtime.appPath,
      resourcesRoot: runtime.resourcesPath,
      sqliteBinding: path.join(runtime.resourcesPath, 'native', SQLITE_ADDON),
    };
  }
  return {
    appRoot: runtime.appPath,
    resourcesRoot: runtime.appPath,
    sqliteBinding: path.join(electronNativeDir(runtime.appPath, runtime.platform, runtime.arch), SQLITE_ADDON),
  };
}
