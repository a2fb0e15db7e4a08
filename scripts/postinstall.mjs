// Fetches Electron's binary when it can (a workstation with internet) and
// never fails the install when it cannot (an offline or locked-down host):
// `npm start` then serves the same app in a browser instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

function electronInstallScript() {
  try {
    return path.join(path.dirname(require.resolve('electron/package.json')), 'install.js');
  } catch {
    return null;
  }
}

const script = electronInstallScript();
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  console.log('postinstall: ELECTRON_SKIP_BINARY_DOWNLOAD is set; `npm start` will use serve mode unless Electron is installed later.');
} else if (script && existsSync(script)) {
  const result = spawnSync(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000, encoding: 'utf8' });
  if (result.status === 0) console.log('postinstall: Electron is ready.');
  else console.log('postinstall: Electron could not be downloaded here; `npm start` will serve the app in your browser instead.');
}
