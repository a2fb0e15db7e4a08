/**
 * Benchmark of the fidelity measurements (issue 16, item 5) on a generated
 * Qwen2.5-0.5B-shaped checkpoint (random BF16 weights, 24 layers unless
 * FIDELITY_LAYERS says otherwise, the real Qwen tokenizer):
 *   1. `workbench recipes` with one recipe (dynamic_int8) over a 2,048-token
 *      corpus (the built-in sample repeated): wall time against the 10-minute
 *      target, and corpus tokens per second on each side (the reference's
 *      whole-window PyTorch forwards; LiteRT.js's decode steps), so it says
 *      what dominates;
 *   2. `workbench recipes` over three recipes (fp16, dynamic_int8,
 *      weight_only_int8): wall time, and its ratio to the one-recipe run.
 * Env: FIDELITY_LAYERS, FIDELITY_TOKENS (corpus tokens, default 2048),
 * FIDELITY_SKIP_THREE=1 (only part 1).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QWEN05, writeQwen15Checkpoint } from './lib/qwenCheckpoint.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'main', 'cli.js');
const layers = Number(process.env.FIDELITY_LAYERS ?? 24);
const tokens = Number(process.env.FIDELITY_TOKENS ?? 2048);
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-fidelity-'));
const model = path.join(dir, 'model');

try {
  const bytes = writeQwen15Checkpoint(model, { layers, shape: QWEN05 });
  const tok = path.join(root, '..', 'shared', 'fixtures', 'qwen3-tokenizer');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(tok, f), path.join(model, f));
  const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8'));
  writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...config, bos_token_id: 151643, eos_token_id: 151645 }));
  writeFileSync(path.join(model, 'generation_config.json'), JSON.stringify({ bos_token_id: 151643, eos_token_id: [151645, 151643], do_sample: false }));
  const sample = readFileSync(path.join(root, 'resources', 'corpus', 'pride-and-prejudice-ch1.txt'), 'utf8');
  const corpus = path.join(dir, 'corpus.txt');
  writeFileSync(corpus, `${sample}\n${sample}\n${sample}`);
  console.log(`Qwen2.5-0.5B shape, ${layers} layers, ${(bytes / 2 ** 30).toFixed(2)} GiB BF16; corpus capped at ${tokens} tokens; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);

  const recipes = (list, label) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [cli, '--data-dir', path.join(dir, 'data'), 'recipes', '--model', model, '--out', path.join(dir, label), '--recipes', list, '--kv', '1024', '--prefill', '8,128', '--corpus', corpus, '--corpus-tokens', String(tokens), '--max-tokens', '8', '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const seconds = (Date.now() - started) / 1000;
    if (r.status !== 0) {
      console.log(`recipes ${list} failed (exit ${r.status}): ${r.stdout.slice(0, 2000)} ${r.stderr.slice(-2000)}`);
      return null;
    }
    return { seconds, result: JSON.parse(r.stdout) };
  };

  const one = recipes('dynamic_int8', 'one');
  if (one) {
    const c = one.result.recipes[0].corpus;
    console.log(`one recipe (dynamic_int8), ${c.tokens} corpus positions in ${c.windows} windows of ${c.windowTokens}: wall ${one.seconds.toFixed(0)} s (target ≤ 600 s: ${one.seconds <= 600 ? 'met' : 'missed'})`);
    console.log(`  reference (PyTorch, whole windows): ${c.referenceSeconds.toFixed(1)} s = ${(c.tokens / c.referenceSeconds).toFixed(1)} tokens/s`);
    console.log(`  LiteRT.js (decode signature, teacher-forced): ${c.bundleSeconds.toFixed(1)} s = ${(c.tokens / c.bundleSeconds).toFixed(2)} tokens/s`);
    console.log(`  rest (conversion, packaging, greedy answers, model loads): ${(one.seconds - c.referenceSeconds - c.bundleSeconds).toFixed(1)} s`);
    console.log(`  mean KLD ${c.meanKld.toExponential(3)}, top-1 ${(c.top1Agreement * 100).toFixed(1)}%, ppl ratio ${c.pplRatio.toFixed(4)}`);
  }
  if (!process.env.FIDELITY_SKIP_THREE) {
    const three = recipes('fp16,dynamic_int8,weight_only_int8', 'three');
    if (three) {
      console.log(`three recipes: wall ${three.seconds.toFixed(0)} s${one ? ` (${(three.seconds / one.seconds).toFixed(2)} × one recipe)` : ''}; recommended ${three.result.recommended}`);
      for (const r of three.result.recipes) console.log(`  ${r.recipe}: ${(r.bytes / 2 ** 20).toFixed(0)} MiB, mean KLD ${r.corpus ? r.corpus.meanKld.toExponential(3) : '—'}, top-1 ${r.corpus ? (r.corpus.top1Agreement * 100).toFixed(1) : '—'}%, ${r.error ?? ''}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
