// Runs every benchmark (bench/*.mjs directly, bench/*.ts from their build in
// dist/bench/) one after another, or only those named on the command line.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const wanted = process.argv.slice(2);
const entries = [
  ...readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('.mjs') && f !== 'run.mjs').map((f) => ({ name: f.replace(/\.mjs$/, ''), file: path.join(root, 'bench', f) })),
  ...readdirSync(path.join(root, 'dist', 'bench')).filter((f) => f.endsWith('.js')).map((f) => ({ name: f.replace(/\.js$/, ''), file: path.join(root, 'dist', 'bench', f) })),
].filter((entry) => wanted.length === 0 || wanted.includes(entry.name));

let failed = 0;
for (const entry of entries) {
  console.log(`\n=== bench: ${entry.name}`);
  const result = spawnSync(process.execPath, ['--expose-gc', entry.file], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
