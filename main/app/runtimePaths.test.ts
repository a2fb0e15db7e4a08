/**
 * Where the app looks for its files, packaged and in a checkout, matches
 * where the packaging config puts them (test/packaging.test.ts checks the
 * config side).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { electronNativeDir, runtimeLocations } from './runtimePaths.js';

describe('runtimeLocations', () => {
  it('packaged: code in app.asar, python-env/resources and the addon in the resources folder', () => {
    const resources = '/opt/Convert Workbench/resources';
    expect(runtimeLocations({ packaged: true, appPath: `${resources}/app.asar`, resourcesPath: resources, platform: 'linux', arch: 'x64' })).toEqual({
      appRoot: `${resources}/app.asar`,
      resourcesRoot: resources,
      sqliteBinding: path.join(resources, 'native', 'better_sqlite3.node'),
    });
  });

  it('from a checkout: everything under the checkout, the addon per platform and CPU', () => {
    expect(runtimeLocations({ packaged: false, appPath: '/src/wb', resourcesPath: '/src/wb/node_modules/electron/dist/resources', platform: 'darwin', arch: 'arm64' })).toEqual({
      appRoot: '/src/wb',
      resourcesRoot: '/src/wb',
      sqliteBinding: path.join('/src/wb', 'native', 'electron', 'darwin-arm64', 'better_sqlite3.node'),
    });
    expect(electronNativeDir('/r', 'win32', 'x64')).toBe(path.join('/r', 'native', 'electron', 'win32-x64'));
  });
});
