#!/usr/bin/env node
/**
 * `npm run test:stress [-- vitest args]`: runs the given tests (or the whole
 * suite) while four CPU-bound processes compete for the cores, the way CI
 * runs on a developer's machine that is busy with something else. A test
 * that passes idle but fails here depends on timing, not on behaviour.
 * The burners are stopped when vitest ends, however it ends (failure,
 * Ctrl-C, SIGTERM), and this script exits with vitest's exit code.
 *
 * BURNERS=n changes the number of burners (default 4).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const count = Number(process.env.BURNERS ?? 4);
const burners = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
console.error(`test:stress: ${count} CPU burners running (pids ${burners.map((b) => b.pid).join(', ')}).`);

function stopBurners() {
  for (const burner of burners) if (burner.exitCode === null && burner.signalCode === null) burner.kill('SIGKILL');
}
process.on('exit', stopBurners);

const vitest = spawn(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    vitest.kill(signal);
    stopBurners();
    process.exit(130);
  });
}
const started = Date.now();
vitest.on('exit', (code, signal) => {
  stopBurners();
  console.error(`test:stress: vitest ${signal ? `ended by ${signal}` : `exited ${code}`} after ${Math.round((Date.now() - started) / 1000)} s under ${count} burners; burners stopped.`);
  process.exit(code ?? 1);
});
