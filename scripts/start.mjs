// `npm start`: the desktop app when Electron is installed, otherwise serve
// mode in the browser (said in one sentence), with the same arguments. Before
// the desktop app starts, better-sqlite3 is built for its Electron (once per
// version; scripts/rebuild-electron.mjs).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);

/**
 * The installed Electron binary, or null. Found without require('electron'):
 * since Electron 45 that require downloads a missing binary on the spot,
 * printing a stack trace where it cannot (an offline host), instead of letting
 * this script fall back to serve mode with one sentence.
 */
function electronBinary() {
  try {
    const dir = path.dirname(require.resolve('electron/package.json'));
    const pathFile = path.join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const relative = readFileSync(pathFile, 'utf8').trim();
    const binary = process.env.ELECTRON_OVERRIDE_DIST_PATH ? path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative) : path.join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** The app needs better-sqlite3 built for Electron's ABI (node_modules' build is for Node): build it once per Electron version. */
async function electronAddonReady() {
  const { rebuildForElectron } = await import('./rebuild-electron.mjs');
  try {
    rebuildForElectron();
    return true;
  } catch (error) {
    console.log(`${error.message.split('\n')[0]}\nConvert Workbench starts in serve mode instead: open the URL below in your browser.`);
    return false;
  }
}

const serve = () => spawn(process.execPath, [path.join(root, 'dist', 'main', 'cli.js'), 'serve', ...args], { stdio: 'inherit' });
const binary = electronBinary();
const child = !binary
  ? (console.log('Electron is not installed on this machine, so Convert Workbench starts in serve mode: open the URL below in your browser.'), serve())
  : (await electronAddonReady())
    ? spawn(binary, [root, ...args], { stdio: 'inherit' })
    : serve();

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
