// electron-builder hook (electron-builder.yml `beforePack`): before each
// platform/arch is packed, make sure native/electron/<platform>-<arch> holds
// better-sqlite3 built for Electron's ABI, so a dmg for arm64 and x64 gets
// one addon per CPU. electron-builder's own native rebuild is off
// (npmRebuild: false) because it would rebuild node_modules in place and
// break the CLI and tests, which run under plain Node.
import { rebuildForElectron } from './rebuild-electron.mjs';

// builder-util's Arch enum: ia32 = 0, x64 = 1, armv7l = 2, arm64 = 3, universal = 4.
const ARCH_NAMES = ['ia32', 'x64', 'armv7l', 'arm64', 'universal'];

export function archName(arch) {
  const name = typeof arch === 'number' ? ARCH_NAMES[arch] : arch;
  if (!name || name === 'universal') throw new Error(`Cannot build the SQLite addon for arch ${String(arch)}: build each architecture separately (arm64, x64).`);
  return name;
}

export async function beforePack(context) {
  rebuildForElectron({ platform: context.electronPlatformName, arch: archName(context.arch) });
}

export default beforePack;
