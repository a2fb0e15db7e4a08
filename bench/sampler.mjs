#!/usr/bin/env node
/**
 * Overhead of the memory sampler: CPU time this process spends sampling host
 * RAM and a stage's process-tree RSS every 500 ms, as a percentage of one
 * core, while a child + grandchild tree runs. Baseline: the same process over
 * the same interval with the tree running and no sampler. Target ≤ 1 %.
 *
 *   node bench/sampler.mjs            # 30 s baseline + 30 s sampling
 *   BENCH_SECONDS=10 node bench/sampler.mjs
 *
 * The sampler is TypeScript; it is bundled on the fly with esbuild so the
 * bench measures exactly the module the app ships.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 500);

// Inside the project so the bundle resolves systeminformation from node_modules.
mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
const tmp = mkdtempSync(path.join(root, 'node_modules', '.cache', 'bench-sampler-'));
const bundle = path.join(tmp, 'sampler.mjs');
await build({
  entryPoints: [path.join(root, 'main', 'core', 'memory', 'sampler.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outfile: bundle,
  logLevel: 'error',
  absWorkingDir: root,
});
const { startSampler } = await import(pathToFileURL(bundle).href);

// A stage-like tree: a child holding 200 MiB that starts a grandchild holding 200 MiB.
const hold = 'const b = Buffer.alloc(200 * 1024 * 1024, 1); setInterval(() => { b[0]++; }, 200);';
const tree = spawn(process.execPath, ['-e', `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(hold)}], { stdio: 'ignore' }); ${hold}`], {
  stdio: 'ignore',
  detached: process.platform !== 'win32',
});
await new Promise((r) => setTimeout(r, 1500));

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

async function measure(withSampler) {
  let samples = 0;
  let lastRss = 0;
  const wallStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const sampler = withSampler
    ? startSampler({
        pid: tree.pid,
        intervalMs,
        onSample: (s) => {
          samples++;
          lastRss = s.treeRss;
        },
      })
    : null;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  sampler?.stop();
  const cpu = cpuSeconds(cpuStart);
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
  return { cpu, wall, samples, lastRss };
}

try {
  const idle = await measure(false);
  const sampling = await measure(true);
  const processes = process.platform === 'linux' ? readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length : null;
  const baselinePct = (idle.cpu / idle.wall) * 100;
  const samplingPct = (sampling.cpu / sampling.wall) * 100;
  const overheadPct = samplingPct - baselinePct;
  const perSampleMs = sampling.samples > 0 ? ((sampling.cpu - (idle.cpu / idle.wall) * sampling.wall) / sampling.samples) * 1000 : NaN;
  console.log(`sampler overhead (${process.platform}, ${os.cpus().length} cores${processes !== null ? `, ${processes} processes` : ''}, ${intervalMs} ms interval, ${seconds} s per phase)`);
  console.log(`  idle baseline   : ${baselinePct.toFixed(3)} % of one core`);
  console.log(`  while sampling  : ${samplingPct.toFixed(3)} % of one core (${sampling.samples} samples, tree RSS ${(sampling.lastRss / 1024 / 1024).toFixed(0)} MiB)`);
  console.log(`  overhead        : ${overheadPct.toFixed(3)} % of one core, ${perSampleMs.toFixed(2)} ms CPU per sample (target ≤ 1 %)`);
  console.log(`  ratio vs baseline: ${(samplingPct / Math.max(baselinePct, 1e-6)).toFixed(2)}×`);
  process.exitCode = overheadPct <= 1 ? 0 : 1;
} finally {
  try {
    process.kill(process.platform === 'win32' ? tree.pid : -tree.pid, 'SIGKILL');
  } catch {
    tree.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
}
