/**
 * The window's security settings and navigation rules as plain data and pure
 * functions (Electron's security checklist, docs/tutorial/security.md), kept
 * apart from window.ts so a unit test can assert them without Electron.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** External pages the app links to; opened in the system browser, never in the app. */
export const EXTERNAL_LINK_ALLOW_LIST: ReadonlyArray<{ host: string; pathPrefix: string }> = [
  { host: 'github.com', pathPrefix: '/google-ai-edge/' },
  { host: 'ai.google.dev', pathPrefix: '/' },
  { host: 'huggingface.co', pathPrefix: '/' },
];

/** Checklist items 2–4, 6, 8–10 and 12: isolated, sandboxed, no Node, no webviews, no opt-in weakening. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
} as const;

export interface WindowPlan {
  indexFile: string;
  preloadFile: string;
  options: {
    width: number;
    height: number;
    minWidth: number;
    minHeight: number;
    title: string;
    show: boolean;
    backgroundColor: string;
    webPreferences: typeof SECURE_WEB_PREFERENCES & { preload: string };
  };
}

/** Everything `new BrowserWindow(...)` and `loadFile` get, from the built dist/ folder. */
export function windowPlan(distDir: string): WindowPlan {
  const preloadFile = path.join(distDir, 'preload', 'preload.cjs');
  return {
    indexFile: path.join(distDir, 'renderer', 'index.html'),
    preloadFile,
    options: {
      width: 1360,
      height: 900,
      minWidth: 960,
      minHeight: 640,
      title: 'Convert Workbench',
      show: false,
      backgroundColor: '#f6f7f9',
      webPreferences: { ...SECURE_WEB_PREFERENCES, preload: preloadFile },
    },
  };
}

/** https only, exact host, path under the allowed prefix, no credentials in the URL. */
export function isAllowedExternalUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '') return false;
  return EXTERNAL_LINK_ALLOW_LIST.some((entry) => parsed.hostname === entry.host && parsed.pathname.startsWith(entry.pathPrefix));
}

/**
 * In-app navigation is only the app's own page (the router uses the hash);
 * anything else — another file, a website, a dropped file — is refused.
 */
export function isAppNavigation(url: string, indexFile: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const app = pathToFileURL(indexFile);
  return parsed.protocol === 'file:' && parsed.host === app.host && parsed.pathname === app.pathname && parsed.search === '';
}

/** What to do with a window.open / target=_blank request: never a new app window. */
export function newWindowDecision(url: string): { action: 'deny'; openExternally: boolean } {
  return { action: 'deny', openExternally: isAllowedExternalUrl(url) };
}

/** The only IPC sender trusted: our window's main frame showing our own page. */
export function isTrustedSenderUrl(frameUrl: string, indexFile: string): boolean {
  return isAppNavigation(frameUrl, indexFile);
}

/**
 * Permission requests (camera, microphone, notifications, geolocation, …):
 * the app needs none, so every one is refused (checklist item 5).
 */
export function permissionGranted(_permission: string): boolean {
  return false;
}
