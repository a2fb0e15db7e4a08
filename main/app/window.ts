/**
 * The one factory for app windows: applies the pure policy of
 * windowPolicy.ts (isolated sandboxed renderer, CSP, no navigation away from
 * the app, no new windows, no permissions, external links only to an
 * allow-list and only in the system browser).
 */
import { BrowserWindow, session, shell } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../server/server.js';
import { isAppNavigation, newWindowDecision, permissionGranted, windowPlan } from './windowPolicy.js';

let sessionHardened = false;

/** Session-wide rules, once per process (they outlive any one window). */
function hardenSession(): void {
  if (sessionHardened) return;
  sessionHardened = true;
  const ses = session.defaultSession;
  // The page also carries the policy in a <meta> tag (file:// has no headers); this covers any HTTP response.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  ses.setPermissionRequestHandler((_webContents, permission, callback) => callback(permissionGranted(permission)));
  ses.setPermissionCheckHandler((_webContents, permission) => permissionGranted(permission));
}

export function createMainWindow(options: { distDir: string }): { window: BrowserWindow; indexFile: string } {
  hardenSession();
  const plan = windowPlan(options.distDir);
  const window = new BrowserWindow(plan.options);
  const contents = window.webContents;
  contents.on('will-navigate', (event, url) => {
    if (!isAppNavigation(url, plan.indexFile)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppNavigation(url, plan.indexFile)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = newWindowDecision(url);
    if (decision.openExternally) void shell.openExternal(url);
    return { action: decision.action };
  });
  window.once('ready-to-show', () => window.show());
  void window.loadFile(plan.indexFile);
  return { window, indexFile: plan.indexFile };
}
