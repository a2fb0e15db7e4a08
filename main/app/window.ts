/**
 * The one factory for app windows, with Electron's security checklist applied:
 * context isolation, sandbox, no Node in the renderer, a strict CSP, no
 * navigation away from the app, no new windows, external links only to an
 * allow-list and only in the system browser.
 */
import { BrowserWindow, session, shell } from 'electron';
import path from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../server/server.js';

export const EXTERNAL_LINK_ALLOW_LIST = [
  'https://github.com/google-ai-edge/',
  'https://ai.google.dev/',
  'https://huggingface.co/',
];

export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  spellcheck: false,
} as const;

export function isAllowedExternalUrl(url: string): boolean {
  return EXTERNAL_LINK_ALLOW_LIST.some((prefix) => url.startsWith(prefix));
}

export function createMainWindow(options: { distDir: string }): BrowserWindow {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  const window = new BrowserWindow({
    width: 1360,
    height: 900,
    minWidth: 960,
    minHeight: 640,
    title: 'Convert Workbench',
    show: false,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload: path.join(options.distDir, 'preload', 'preload.cjs') },
  });
  const indexFile = path.join(options.distDir, 'renderer', 'index.html');
  const appUrl = new URL(`file://${indexFile}`).toString();
  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(appUrl)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.once('ready-to-show', () => window.show());
  void window.loadFile(indexFile);
  return window;
}
