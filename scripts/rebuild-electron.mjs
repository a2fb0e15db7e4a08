// Builds better-sqlite3 a second time, for Electron's ABI, into
// native/electron/<platform>-<arch>/better_sqlite3.node, leaving
// node_modules' build for plain Node (CLI, serve mode, tests) untouched. The
// Electron app loads this copy through better-sqlite3's `nativeBinding`
// option; electron-builder ships it as an extra resource (see
// electron-builder.yml and scripts/electron-builder-hooks.mjs).
//
// First tries better-sqlite3's published prebuilt binary for this Electron
// (prebuild-install, a download), then compiles it against Electron's
// headers (node-gyp, a download plus a C++ toolchain). Skips the work when
// the copy for this Electron version is already there.
//
//   node scripts/rebuild-electron.mjs [--arch x64|arm64] [--force]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const ADDON = 'better_sqlite3.node';

function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}

export function electronInfo() {
  const dir = packageDir('electron');
  const version = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  const abi = readFileSync(path.join(dir, 'abi_version'), 'utf8').trim();
  return { version, abi };
}

export function nativeOutputDir(platform, arch) {
  return path.join(root, 'native', 'electron', `${platform}-${arch}`);
}

function run(command, args, cwd, env) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 15 * 60_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return { ok: result.status === 0, output: result.error ? String(result.error) : output };
}

/** The lines of a tool's output that say why it failed (network, compiler), else its last lines. */
function lastLines(text, count = 4) {
  const lines = text.split('\n').filter(Boolean);
  const telling = lines.filter((line) => /warn install|ERR! stack Error|ERR! (configure|build) error|\berror:|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|getaddrinfo|gyp http GET/i.test(line));
  return (telling.length > 0 ? telling : lines).slice(-count).join('\n    ');
}

/**
 * Returns the built addon's path; throws an Error whose message says what to
 * install or fix when neither the download nor the compile works.
 */
export function rebuildForElectron({ platform = process.platform, arch = process.arch, force = false, log = console.log } = {}) {
  const electron = electronInfo();
  const sqliteVersion = JSON.parse(readFileSync(path.join(packageDir('better-sqlite3'), 'package.json'), 'utf8')).version;
  const outDir = nativeOutputDir(platform, arch);
  const outFile = path.join(outDir, ADDON);
  const markerFile = path.join(outDir, 'build.json');
  const marker = { electron: electron.version, abi: electron.abi, betterSqlite3: sqliteVersion, platform, arch };
  if (!force && existsSync(outFile) && existsSync(markerFile)) {
    const existing = JSON.parse(readFileSync(markerFile, 'utf8'));
    if (Object.entries(marker).every(([key, value]) => existing[key] === value)) {
      log(`rebuild:electron: better-sqlite3 ${sqliteVersion} for Electron ${electron.version} (${platform}-${arch}) is up to date.`);
      return outFile;
    }
  }

  // Build in a copy so node_modules/better-sqlite3/build (plain Node's ABI) is never overwritten.
  const work = path.join(root, '.cache', 'native-build', `better-sqlite3-${platform}-${arch}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(path.dirname(work), { recursive: true });
  const nodeBuild = path.join(packageDir('better-sqlite3'), 'build');
  cpSync(packageDir('better-sqlite3'), work, { recursive: true, filter: (src) => src !== nodeBuild && !src.startsWith(nodeBuild + path.sep) });
  // A configured nodedir (npm_config_nodedir) would make node-gyp use Node's headers instead of Electron's.
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^npm_config_(nodedir|target|runtime|disturl|arch)$/i.test(key)) delete env[key];

  log(`rebuild:electron: fetching the prebuilt better-sqlite3 ${sqliteVersion} for Electron ${electron.version} (ABI ${electron.abi}, ${platform}-${arch})…`);
  const prebuilt = run(process.execPath, [path.join(packageDir('prebuild-install'), 'bin.js'), '--runtime', 'electron', '--target', electron.version, '--arch', arch, '--platform', platform, '--verbose'], work, env);
  let built = prebuilt.ok && existsSync(path.join(work, 'build', 'Release', ADDON));
  let compiled = { ok: false, output: 'not attempted' };
  if (!built) {
    if (platform !== process.platform) {
      throw new Error(`No prebuilt better-sqlite3 for Electron ${electron.version} on ${platform}-${arch} could be downloaded, and it cannot be compiled for ${platform} on ${process.platform}. Build on ${platform} instead.\n    ${lastLines(prebuilt.output)}`);
    }
    log('rebuild:electron: no prebuilt binary; compiling against Electron headers (node-gyp)…');
    compiled = run(
      process.execPath,
      [path.join(packageDir('node-gyp'), 'bin', 'node-gyp.js'), 'rebuild', '--release', `--target=${electron.version}`, `--arch=${arch}`, '--runtime=electron', '--dist-url=https://electronjs.org/headers'],
      work,
      env,
    );
    built = compiled.ok && existsSync(path.join(work, 'build', 'Release', ADDON));
  }
  if (!built) {
    throw new Error(
      `Could not build better-sqlite3 for Electron ${electron.version} (${platform}-${arch}). ` +
        'Both routes need network access (GitHub for the prebuilt binary, electronjs.org for the headers), and compiling also needs Python 3 and a C++ toolchain ' +
        '(build-essential on Debian/Ubuntu, Xcode command line tools on macOS, Visual Studio Build Tools on Windows).\n' +
        `  prebuilt download:\n    ${lastLines(prebuilt.output)}\n  compile:\n    ${lastLines(compiled.output)}`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  cpSync(path.join(work, 'build', 'Release', ADDON), outFile);
  writeFileSync(markerFile, `${JSON.stringify({ ...marker, builtAt: new Date().toISOString(), via: prebuilt.ok ? 'prebuild-install' : 'node-gyp' }, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });
  log(`rebuild:electron: wrote ${path.relative(root, outFile)} (${statSync(outFile).size} bytes).`);
  return outFile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, platform: { type: 'string' }, force: { type: 'boolean', default: false } } });
  try {
    rebuildForElectron({ ...(values.arch ? { arch: values.arch } : {}), ...(values.platform ? { platform: values.platform } : {}), force: values.force });
  } catch (error) {
    console.error(`rebuild:electron: ${error.message}`);
    process.exit(1);
  }
}
