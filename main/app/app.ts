/**
 * The Electron entry: one instance, one hardened window, the engine in the
 * main process, and a clean shutdown that cancels running stages (killing
 * their process trees) before the app exits.
 */
import { app, BrowserWindow } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDispatch } from '../core/api/dispatch.js';
import { createHandlers } from '../core/api/handlers.js';
import { createEngine, type Engine } from '../core/engine.js';
import { memoryMonitors } from '../core/memory/monitors.js';
import { registerIpc } from './ipc.js';
import { createMainWindow } from './window.js';

const distDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function dataDirFromArgs(argv: string[]): string | undefined {
  const at = argv.indexOf('--data-dir');
  return at >= 0 ? argv[at + 1] : process.env.WORKBENCH_DATA_DIR;
}

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
    engine = createEngine({ mode: 'electron', dataDir: dataDirFromArgs(process.argv) ?? app.getPath('userData'), monitors: memoryMonitors() });
    const dispatch = createDispatch(createHandlers(engine), { onInternalError: (method, error) => console.error(`[ipc] ${method} failed:`, error) });
    window = createMainWindow({ distDir });
    registerIpc(window, engine, dispatch);
    window.on('closed', () => {
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
