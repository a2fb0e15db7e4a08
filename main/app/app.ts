/**
 * The Electron entry: one instance, one hardened window, the engine in the
 * main process, and a clean shutdown that cancels running stages (killing
 * their process trees) before the app exits.
 */
import { app, dialog, type BrowserWindow } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toErrorData } from '../common/errors.js';
import { createDispatch } from '../core/api/dispatch.js';
import { createHandlers } from '../core/api/handlers.js';
import { createEngine, type Engine } from '../core/engine.js';
import { APP_NAME, defaultDataDir, type Platform } from '../core/paths.js';
import { registerIpc } from './ipc.js';
import { runtimeLocations } from './runtimePaths.js';
import { createMainWindow } from './window.js';

const distDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function dataDirFromArgs(argv: string[]): string | undefined {
  const at = argv.indexOf('--data-dir');
  return at >= 0 ? argv[at + 1] : process.env.WORKBENCH_DATA_DIR;
}

// The same folder the CLI and serve mode compute (main/core/paths.ts), set
// explicitly so a different app name in package metadata cannot split the history.
app.setName(APP_NAME);
app.setPath('userData', defaultDataDir(process.platform as Platform, process.env, os.homedir()));

const locations = runtimeLocations({ packaged: app.isPackaged, appPath: app.getAppPath(), resourcesPath: process.resourcesPath, platform: process.platform, arch: process.arch });
// Inherited by stage processes too, so they resolve python-env/ and dist/ the same way.
process.env.WORKBENCH_APP_ROOT = locations.appRoot;
process.env.WORKBENCH_RESOURCES_ROOT = locations.resourcesRoot;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let engine: Engine | null = null;
  let window: BrowserWindow | null = null;
  let quitting = false;

  app.on('second-instance', () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });

  app.whenReady().then(() => {
    try {
      engine = createEngine({
        mode: 'electron',
        dataDir: dataDirFromArgs(process.argv) ?? app.getPath('userData'),
        nativeBinding: locations.sqliteBinding,
      });
    } catch (error) {
      // E.g. the SQLite addon built for another runtime: the message names the command that fixes it.
      dialog.showErrorBox(`${APP_NAME} cannot start`, toErrorData(error).message);
      app.exit(1);
      return;
    }
    const dispatch = createDispatch(createHandlers(engine), { onInternalError: (method, error) => console.error(`[ipc] ${method} failed:`, error) });
    const created = createMainWindow({ distDir });
    window = created.window;
    registerIpc(created.window, created.indexFile, engine, dispatch);
    created.window.on('closed', () => {
      window = null;
    });
  });

  app.on('window-all-closed', () => app.quit());

  app.on('before-quit', (event) => {
    if (quitting || !engine) return;
    // Stop running stages first: their process trees must not outlive the app.
    event.preventDefault();
    quitting = true;
    void engine.close().finally(() => app.quit());
  });
}
