/**
 * Runs the plain-PyTorch reference (python-env/reference/plain_lm.py, Debian
 * python3-torch) and returns its tokens and per-step logits, and drives an
 * emitted .tflite through LiteRT.js the way LiteRT-LM does, for the same
 * steps, so tests can compare the two.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DecoderSession } from '../../main/core/litertjs/decoderSession.js';
import { TfliteModelRunner } from '../../main/core/litertjs/litertjs.js';
import { REPO, TEST_PYTHON } from './python.js';

const run = promisify(execFile);
export const PLAIN_LM = path.join(REPO, 'python-env', 'reference', 'plain_lm.py');
export const PLAIN_GEMMA3 = path.join(REPO, 'python-env', 'reference', 'plain_gemma3.py');

/** The reference that implements the folder's architecture: Gemma 3 has its own file. */
async function referenceScript(modelDir: string): Promise<string> {
  const config = JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8')) as { architectures?: string[] };
  return (config.architectures?.[0] ?? '').startsWith('Gemma3') ? PLAIN_GEMMA3 : PLAIN_LM;
}

export interface ReferenceRun {
  tokens: number[];
  /** [steps][vocab] */
  logits: Float32Array[];
}

export async function referenceLogits(
  modelDir: string,
  prompt: number[],
  steps: number,
  options: { emulate?: string; force?: number[]; embedScaleDtype?: 'float32' | 'bfloat16' } = {},
): Promise<ReferenceRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plain-lm-'));
  try {
    const out = path.join(dir, 'logits.f32');
    const args = [await referenceScript(modelDir), '--model', modelDir, '--prompt', prompt.join(','), '--steps', String(steps), '--logits-out', out, '--emulate', options.emulate ?? 'none'];
    if (options.force) args.push('--force', options.force.join(','));
    if (options.embedScaleDtype) args.push('--embed-scale-dtype', options.embedScaleDtype);
    const { stdout } = await run(TEST_PYTHON, args, { maxBuffer: 1 << 20 });
    const meta = JSON.parse(stdout) as { tokens: number[]; vocab: number };
    const raw = await readFile(out);
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const logits = meta.tokens.map((_, i) => all.slice(i * meta.vocab, (i + 1) * meta.vocab));
    return { tokens: meta.tokens, logits };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The .tflite's logits for the same steps: prefill all prompt tokens but the
 * last, decode the last, then decode `forced` tokens one by one (teacher forcing).
 */
export async function tfliteLogits(tflite: string, prompt: number[], forced: number[]): Promise<Float32Array[]> {
  const runner = await TfliteModelRunner.open(new Uint8Array(await readFile(tflite)));
  try {
    const session = DecoderSession.create(runner);
    await session.prefill(prompt.slice(0, -1));
    const logits = [(await session.decode(prompt[prompt.length - 1]!)).slice()];
    for (const token of forced) logits.push((await session.decode(token)).slice());
    return logits;
  } finally {
    runner.close();
  }
}

export function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  for (let s = 0; s < Math.min(a.length, b.length); s++) {
    for (let i = 0; i < a[s]!.length; i++) max = Math.max(max, Math.abs(a[s]![i]! - b[s]![i]!));
  }
  return max;
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
