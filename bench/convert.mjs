#!/usr/bin/env node
/**
 * The native converter (`npm run bench -- convert`) on a generated
 * Qwen2.5-1.5B-shaped BF16 checkpoint (28 layers, tied embeddings; see
 * lib/qwenCheckpoint.mjs), KV 4096, prefill 8,64,128,256,512,1024 + decode —
 * the field report's settings — once per recipe: dynamic_int8 (the field
 * report's), dynamic_int4_block32 and dynamic_int4_block128 (BENCH_QUANTS=a,b
 * chooses). The stage script runs exactly as a
 * run would start it (dist/stages/convertNative.js with a parameter file),
 * under /usr/bin/time for wall time, CPU time and peak RSS.
 *
 * Baselines measured in the same run: `cp` + `sync` of each output's bytes
 * (the cost of merely writing that file durably; fastest of three), and the
 * estimator's predicted peak for the `example` route (AI Edge Torch) at the
 * same settings, from `workbench estimate --json`.
 *
 * Targets (issue 11), on this 2-core machine: peak RSS ≤ 1 GiB, wall ≤ 2 min,
 * ≤ 3 × cp + sync. BENCH_LAYERS=N shrinks the model for a quick look.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fastestOf, gib, measure, mib, writeQwen15Checkpoint } from './lib/qwenCheckpoint.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const layers = Number(process.env.BENCH_LAYERS ?? 28);
const kv = 4096;
const prefill = [8, 64, 128, 256, 512, 1024];
const cli = path.join(root, 'dist', 'main', 'cli.js');
const stage = path.join(root, 'dist', 'stages', 'convertNative.js');

const work = mkdtempSync(path.join(os.tmpdir(), 'bench-convert-'));
const modelDir = path.join(work, 'model');
try {
  const t0 = Date.now();
  const modelBytes = writeQwen15Checkpoint(modelDir, { layers });
  console.log(`model: Qwen2.5-1.5B shape, ${layers} layers, ${gib(modelBytes)} of BF16 weights (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // Warm the page cache: the converter and cp both read from it.
  execFileSync('cat', [path.join(modelDir, 'model.safetensors')], { stdio: ['ignore', 'ignore', 'inherit'] });

  const quants = (process.env.BENCH_QUANTS ?? 'dynamic_int8,dynamic_int4_block32,dynamic_int4_block128').split(',');
  const suffix = { dynamic_int8: 'q8', dynamic_int4_block32: 'q4_block32', dynamic_int4_block128: 'q4_block128' };
  const rows = [];
  for (const quantize of quants) {
    const outFile = path.join(work, 'out', `qwen2_${suffix[quantize] ?? quantize}_ekv${kv}.tflite`);
    const paramsFile = path.join(work, `params-${quantize}.json`);
    writeFileSync(paramsFile, JSON.stringify({ modelDir, outDir: path.dirname(outFile), outFile, route: 'native', kvCacheMaxLen: kv, prefillSeqLens: prefill, quantize }));
    const native = measure(`native convert ${quantize}`, process.execPath, [stage, '--params', paramsFile]);
    const events = native.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const error = events.find((e) => e.type === 'error');
    if (error) throw new Error(`native convert ${quantize}: ${error.code}: ${error.message}`);
    const result = events.find((e) => e.type === 'result').data;
    const outBytes = statSync(outFile).size;
    const copy = path.join(work, 'copy.tflite');
    const cpSync = fastestOf(3, () => measure('cp + sync', 'sh', ['-c', 'cp "$0" "$1" && sync "$1"', outFile, copy]), () => rmSync(copy, { force: true }));
    rows.push({ quantize, native, outBytes, signatures: result.signatures, cpSync });
    rmSync(outFile, { force: true }); // one output on disk at a time
  }

  // What the estimator predicts for AI Edge Torch's example route at the same settings (the 128 GB-host problem).
  const estimate = spawnSync(process.execPath, [cli, '--data-dir', path.join(work, 'data'), 'estimate', '--model', modelDir, '--route', 'example', '--kv', String(kv), '--quant', 'dynamic_int8', '--prefill', prefill.join(','), '--json'], { encoding: 'utf8' });
  let examplePeak = null;
  try {
    const parsed = JSON.parse(estimate.stdout);
    const row = (parsed.rows ?? parsed.table?.rows ?? []).find((r) => r.kvCacheMaxLen === kv);
    examplePeak = row?.estimate?.peakBytes?.expected ?? parsed.estimate?.peakBytes?.expected ?? null;
  } catch {
    console.log(`(estimate unavailable: ${estimate.stderr.trim().slice(0, 300)})`);
  }

  console.log('');
  console.log(`host: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end (other processes compete for the CPU)`);
  console.log('| recipe | wall | CPU | peak RSS | output | cp + sync | native / (cp + sync) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.quantize} | ${r.native.seconds.toFixed(1)} s | ${r.native.cpu.toFixed(1)} s | ${mib(r.native.rss)} | ${gib(r.outBytes)} (${r.outBytes} B) | ${r.cpSync.seconds.toFixed(2)} s | ${(r.native.seconds / r.cpSync.seconds).toFixed(1)} |`);
  }
  console.log(`signatures: ${rows[0]?.signatures.join(', ')}`);
  if (examplePeak !== null) console.log(`estimator, example route (AI Edge Torch) at the same settings: expected peak ${gib(examplePeak)}`);
  console.log('');
  const verdict = (ok) => (ok ? 'meets target' : 'MISSES target');
  for (const r of rows) {
    const ratio = r.native.seconds / r.cpSync.seconds;
    console.log(`${r.quantize}: peak RSS ${mib(r.native.rss)} (≤ 1 GiB: ${verdict(r.native.rss <= 2 ** 30)}), wall ${r.native.seconds.toFixed(1)} s (≤ 120 s: ${verdict(r.native.seconds <= 120)}), ${ratio.toFixed(2)} × cp + sync (≤ 3: ${verdict(ratio <= 3)})`);
  }
  const int8 = rows.find((r) => r.quantize === 'dynamic_int8');
  if (examplePeak !== null && int8) console.log(`native int8 peak RSS / example-route predicted peak: ${(int8.native.rss / examplePeak).toFixed(4)}  (${(examplePeak / int8.native.rss).toFixed(0)}× less memory)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
