/**
 * The data directory without Electron must be the folder Electron's
 * app.getPath('userData') gives for productName "Convert Workbench":
 * appData (Chromium's DIR_APP_DATA: $XDG_CONFIG_HOME or ~/.config on Linux,
 * ~/Library/Application Support on macOS, the roaming AppData folder
 * (%APPDATA%) on Windows) joined with the app name.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_NAME, appRoot, defaultDataDir, pythonEnvPath, resolveDataDir, resourcesPath } from './paths.js';

describe('defaultDataDir', () => {
  it('linux: ~/.config/Convert Workbench, or under XDG_CONFIG_HOME when set and not empty', () => {
    expect(defaultDataDir('linux', {}, '/home/ana')).toBe('/home/ana/.config/Convert Workbench');
    expect(defaultDataDir('linux', { XDG_CONFIG_HOME: '/data/cfg' }, '/home/ana')).toBe('/data/cfg/Convert Workbench');
    expect(defaultDataDir('linux', { XDG_CONFIG_HOME: '' }, '/home/ana')).toBe('/home/ana/.config/Convert Workbench');
  });

  it('darwin: ~/Library/Application Support/Convert Workbench (XDG ignored)', () => {
    expect(defaultDataDir('darwin', { XDG_CONFIG_HOME: '/x' }, '/Users/ana')).toBe('/Users/ana/Library/Application Support/Convert Workbench');
  });

  it('win32: %APPDATA%\\Convert Workbench, falling back to the roaming profile folder', () => {
    expect(defaultDataDir('win32', { APPDATA: 'C:\\Users\\ana\\AppData\\Roaming' }, 'C:\\Users\\ana')).toBe('C:\\Users\\ana\\AppData\\Roaming\\Convert Workbench');
    expect(defaultDataDir('win32', {}, 'C:\\Users\\ana')).toBe('C:\\Users\\ana\\AppData\\Roaming\\Convert Workbench');
    expect(defaultDataDir('win32', { APPDATA: '' }, 'C:\\Users\\ana')).toBe('C:\\Users\\ana\\AppData\\Roaming\\Convert Workbench');
  });

  it('uses the product name electron-builder and Electron use', () => {
    expect(APP_NAME).toBe('Convert Workbench');
  });
});

describe('resolveDataDir and resource roots', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('an explicit folder wins over WORKBENCH_DATA_DIR', () => {
    process.env.WORKBENCH_DATA_DIR = '/tmp/from-env';
    expect(resolveDataDir('/tmp/explicit')).toBe(path.resolve('/tmp/explicit'));
    expect(resolveDataDir()).toBe(path.resolve('/tmp/from-env'));
  });

  it('python-env and resources follow WORKBENCH_RESOURCES_ROOT (a packaged app), else the checkout', () => {
    delete process.env.WORKBENCH_RESOURCES_ROOT;
    expect(pythonEnvPath('stages', 'convert.py')).toBe(path.join(appRoot(), 'python-env', 'stages', 'convert.py'));
    process.env.WORKBENCH_RESOURCES_ROOT = '/opt/wb/resources';
    expect(pythonEnvPath('bootstrap.py')).toBe('/opt/wb/resources/python-env/bootstrap.py');
    expect(resourcesPath('proto', 'llm_metadata.proto')).toBe('/opt/wb/resources/resources/proto/llm_metadata.proto');
  });
});
