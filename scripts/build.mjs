// Builds everything the app runs from dist/: the Node entries (CLI/serve,
// Electron main), the sandboxed preload (CommonJS), the Node stage scripts,
// worker threads, and the renderer (Vite). Type checking is `npm run typecheck`.
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as viteBuild } from 'vite';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const only = process.argv.includes('--node-only') ? 'node' : process.argv.includes('--renderer-only') ? 'renderer' : 'all';

function filesUnder(dir, predicate) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full, predicate));
    else if (predicate(full)) found.push(full);
  }
  return found;
}

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // Runtime dependencies stay in node_modules (native better-sqlite3 among them).
  packages: 'external',
  logLevel: 'warning',
  // Bundled ESM still has code paths that call require() (CommonJS deps): give it one.
  banner: { js: "import { createRequire as __wbCreateRequire } from 'node:module'; const require = __wbCreateRequire(import.meta.url);" },
};

async function buildNode() {
  rmSync(path.join(root, 'dist', 'main'), { recursive: true, force: true });
  rmSync(path.join(root, 'dist', 'stages'), { recursive: true, force: true });
  rmSync(path.join(root, 'dist', 'workers'), { recursive: true, force: true });
  rmSync(path.join(root, 'dist', 'bench'), { recursive: true, force: true });
  const benchEntries = readdirSync(path.join(root, 'bench'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(root, 'bench', name));
  const stageEntries = readdirSync(path.join(root, 'main', 'stages'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => path.join(root, 'main', 'stages', name));
  const workerEntries = filesUnder(path.join(root, 'main'), (file) => file.endsWith('.worker.ts'));
  const appEntries = { cli: path.join(root, 'main', 'cli', 'cli.ts'), app: path.join(root, 'main', 'app', 'app.ts') };
  await Promise.all([
    build({ ...nodeCommon, entryPoints: appEntries, outdir: path.join(root, 'dist', 'main'), external: ['electron'] }),
    build({ ...nodeCommon, entryPoints: stageEntries, outdir: path.join(root, 'dist', 'stages') }),
    benchEntries.length > 0 ? build({ ...nodeCommon, entryPoints: benchEntries, outdir: path.join(root, 'dist', 'bench') }) : Promise.resolve(),
    workerEntries.length > 0
      ? build({ ...nodeCommon, entryPoints: Object.fromEntries(workerEntries.map((file) => [path.basename(file, '.ts'), file])), outdir: path.join(root, 'dist', 'workers') })
      : Promise.resolve(),
    build({
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['electron'],
      entryPoints: [path.join(root, 'preload', 'preload.ts')],
      outfile: path.join(root, 'dist', 'preload', 'preload.cjs'),
      logLevel: 'warning',
    }),
  ]);
}

async function buildRenderer() {
  await viteBuild({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
}

if (only !== 'renderer') await buildNode();
if (only !== 'node') await buildRenderer();
console.log(`built ${only === 'all' ? 'main, preload, stages and renderer' : only} into dist/`);
