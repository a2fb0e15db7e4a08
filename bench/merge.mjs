#!/usr/bin/env node
/**
 * The native streaming LoRA merge against (b) a full-load PyTorch merge done
 * the way PEFT does it (bench/merge_torch.py) and (c) `cp` of the same bytes,
 * on a generated Qwen2.5-1.5B-shaped BF16 model (hidden 1536, intermediate
 * 8960, 2 KV heads of 128, vocab 151936; BENCH_LAYERS layers, default 10 →
 * about 1.4 GB) with a rank-16 adapter on every linear layer. Each route
 * reads the same files from the page cache and writes a full model; wall
 * time, CPU time and peak RSS come from /usr/bin/time for all three. The
 * native merge fsyncs its output before publishing it; plain `cp` leaves the
 * copy in the page cache, so `cp` followed by `sync` is printed as well.
 *
 * Targets (issue 6): native peak RSS ≤ 0.25 × (b); native time ≤ 1.0 × (b)
 * and ≤ 3 × (c). The model is generated into a temporary folder and deleted.
 *
 *   node bench/merge.mjs                 BENCH_LAYERS=28 for the full 1.5B shape
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { fastestOf, gib, measure, mib, writeQwen15Checkpoint } from './lib/qwenCheckpoint.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const layers = Number(process.env.BENCH_LAYERS ?? 10);
const rank = 16;
const PYTHON = '/usr/bin/python3';

// Bundle the stage script and worker exactly as scripts/build.mjs does, inside the project so
// runtime dependencies resolve; a package.json named like ours makes this folder the app root.
mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
const appDir = mkdtempSync(path.join(root, 'node_modules', '.cache', 'bench-merge-'));
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning', banner: { js: "import { createRequire as __wbCreateRequire } from 'node:module'; const require = __wbCreateRequire(import.meta.url);" } };
await build({ ...common, entryPoints: [path.join(root, 'main/stages/merge.ts')], outfile: path.join(appDir, 'dist/stages/merge.js') });
await build({ ...common, entryPoints: [path.join(root, 'main/core/merge/lora-merge.worker.ts')], outfile: path.join(appDir, 'dist/workers/lora-merge.worker.js') });
writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'convert-workbench', type: 'module' }));

const work = mkdtempSync(path.join(os.tmpdir(), 'bench-merge-'));
const baseDir = path.join(work, 'base');
const adapterDir = path.join(work, 'adapter');

function generate() {
  return writeQwen15Checkpoint(baseDir, { layers, adapter: { dir: adapterDir, rank } });
}

try {
  const t0 = Date.now();
  const modelBytes = generate();
  console.log(`model: ${layers} layers, ${gib(modelBytes)} of BF16 weights; adapter r=${rank} on all 7 linear modules per layer (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // Warm the page cache so no route pays for the first read.
  execFileSync('cat', [path.join(baseDir, 'model.safetensors')], { stdio: ['ignore', 'ignore', 'inherit'] });

  // The baseline copies are short, so one disturbed run (writeback of the generated model, another
  // process) would flatter or punish the ratio; the fastest of three is the baseline.
  const cpOut = path.join(work, 'out-cp');
  const cp = fastestOf(3, () => measure('cp', 'cp', ['-r', baseDir, cpOut]), () => rmSync(cpOut, { recursive: true, force: true }));
  // The same copy made durable like the native output (fsync of every file before it counts as done).
  const cpSync = fastestOf(3, () => measure('cp + sync', 'sh', ['-c', 'cp -r "$0" "$1" && sync "$1"/*', baseDir, cpOut]), () => rmSync(cpOut, { recursive: true, force: true }));

  const nativeOut = path.join(work, 'out-native');
  const paramsFile = path.join(work, 'params.json');
  writeFileSync(paramsFile, JSON.stringify({ baseDir, adapterDir, outDir: nativeOut, shardSizeMiB: 4096, verify: true, allowBaseMismatch: false, threads: 0 }));
  const native = measure('native merge', process.execPath, [path.join(appDir, 'dist/stages/merge.js'), '--params', paramsFile], { ...process.env, WORKBENCH_APP_ROOT: appDir });
  const events = native.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const error = events.find((e) => e.type === 'error');
  if (error) throw new Error(`native merge: ${error.code}: ${error.message}`);
  const summary = events.find((e) => e.type === 'result').data;
  rmSync(nativeOut, { recursive: true, force: true });

  let torch = null;
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status === 0) {
    const torchOut = path.join(work, 'out-torch');
    torch = measure('torch merge', PYTHON, [path.join(root, 'bench', 'merge_torch.py'), baseDir, adapterDir, torchOut]);
    rmSync(torchOut, { recursive: true, force: true });
  } else {
    console.log(`(b) skipped: ${PYTHON} cannot import torch`);
  }

  console.log('');
  console.log(`host: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end (other processes compete for the CPU)`);
  console.log(`(a) native streaming merge: ${native.seconds.toFixed(2)} s, peak RSS ${mib(native.rss)}, CPU ${native.cpu.toFixed(1)} s  (merge loop ${summary.mergeSeconds.toFixed(2)} s at ${(summary.bytesPerSecond / 2 ** 20).toFixed(0)} MiB/s, verify ${summary.verify.checkedValues} values, max ${summary.verify.maxUlpError.toFixed(2)} ulp)`);
  if (torch) console.log(`(b) full-load torch merge:   ${torch.seconds.toFixed(2)} s, peak RSS ${mib(torch.rss)}, CPU ${torch.cpu.toFixed(1)} s`);
  console.log(`(c) cp of the same bytes:    ${cp.seconds.toFixed(2)} s, peak RSS ${mib(cp.rss)}, CPU ${cp.cpu.toFixed(1)} s (into the page cache, not yet on disk)`);
  console.log(`    cp + sync (durable, as the native output is): ${cpSync.seconds.toFixed(2)} s`);
  console.log('');
  const verdict = (ok) => (ok ? 'meets target' : 'MISSES target');
  if (torch) {
    const rssRatio = native.rss / torch.rss;
    const timeRatio = native.seconds / torch.seconds;
    console.log(`native / torch peak RSS: ${rssRatio.toFixed(3)}  (target ≤ 0.25: ${verdict(rssRatio <= 0.25)})`);
    console.log(`native / torch time:     ${timeRatio.toFixed(3)}  (target ≤ 1.0: ${verdict(timeRatio <= 1)})`);
  }
  const cpRatio = native.seconds / cp.seconds;
  console.log(`native / cp time:        ${cpRatio.toFixed(3)}  (target ≤ 3.0: ${verdict(cpRatio <= 3)})`);
  console.log(`native / (cp + sync):    ${(native.seconds / cpSync.seconds).toFixed(3)}  (like for like: both outputs on disk)`);
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(appDir, { recursive: true, force: true });
}
