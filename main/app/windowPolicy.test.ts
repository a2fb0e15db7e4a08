/**
 * The window's security settings (Electron's checklist) and its navigation,
 * new-window, permission and IPC-sender rules, asserted on the pure policy
 * the window factory applies.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeDialogPlan } from './pickPath.js';
import { isAllowedExternalUrl, isAppNavigation, isTrustedSenderUrl, newWindowDecision, permissionGranted, SECURE_WEB_PREFERENCES, windowPlan } from './windowPolicy.js';

const dist = path.resolve('/opt/Convert Workbench/resources/app.asar/dist');

describe('window settings', () => {
  it('isolates and sandboxes the renderer, with no Node, no webviews and no weakened web security', () => {
    const { webPreferences } = windowPlan(dist).options;
    expect(webPreferences).toMatchObject({
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
    });
    expect(webPreferences).not.toHaveProperty('enableBlinkFeatures');
    expect(webPreferences).not.toHaveProperty('preloadURL');
    expect(webPreferences.preload).toBe(path.join(dist, 'preload', 'preload.cjs'));
    expect(windowPlan(dist).indexFile).toBe(path.join(dist, 'renderer', 'index.html'));
    expect(windowPlan(dist).options.show).toBe(false);
  });
});

describe('navigation', () => {
  const index = path.join(dist, 'renderer', 'index.html');
  const appUrl = pathToFileURL(index).toString();
  it('allows only the app page itself (hash routes included)', () => {
    expect(isAppNavigation(appUrl, index)).toBe(true);
    expect(isAppNavigation(`${appUrl}#/runs/12`, index)).toBe(true);
    expect(isAppNavigation(`${appUrl}?evil=1`, index)).toBe(false);
    expect(isAppNavigation(pathToFileURL(path.join(dist, 'renderer', 'other.html')).toString(), index)).toBe(false);
    expect(isAppNavigation('file:///etc/passwd', index)).toBe(false);
    expect(isAppNavigation('https://huggingface.co/', index)).toBe(false);
    expect(isAppNavigation('not a url', index)).toBe(false);
    expect(isTrustedSenderUrl(`${appUrl}#/new`, index)).toBe(true);
    expect(isTrustedSenderUrl('https://example.com/', index)).toBe(false);
  });

  it('never opens a new app window; allow-listed https links go to the system browser', () => {
    expect(newWindowDecision('https://huggingface.co/Qwen/Qwen2.5-1.5B')).toEqual({ action: 'deny', openExternally: true });
    expect(newWindowDecision('https://github.com/google-ai-edge/LiteRT-LM/issues')).toEqual({ action: 'deny', openExternally: true });
    expect(newWindowDecision('https://github.com/someone-else/repo')).toEqual({ action: 'deny', openExternally: false });
    for (const url of [
      'http://huggingface.co/',
      'https://huggingface.co.evil.example/',
      'https://evil.example/?https://huggingface.co/',
      'https://user:pw@huggingface.co/',
      'https://huggingface.co:8443/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://huggingface.co/share',
    ]) {
      expect(isAllowedExternalUrl(url), url).toBe(false);
    }
  });

  it('grants no permission requests', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) expect(permissionGranted(permission)).toBe(false);
  });
});

describe('native picker options', () => {
  it('maps folder, file and save requests to the right dialog', () => {
    expect(nativeDialogPlan({ kind: 'folder', title: 'Base model folder' })).toEqual({
      dialog: 'open',
      options: { title: 'Base model folder', properties: ['openDirectory', 'createDirectory', 'dontAddToRecent'] },
    });
    expect(nativeDialogPlan({ kind: 'file', defaultPath: '/models/x.tflite' }).options).toMatchObject({ defaultPath: '/models/x.tflite', properties: ['openFile', 'dontAddToRecent'] });
    expect(nativeDialogPlan({ kind: 'save' }).dialog).toBe('save');
  });
});
