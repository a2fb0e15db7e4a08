/**
 * The PyTorch side of the corpus metrics and of the recipe comparison: one
 * run of python-env/stages/reference_answers.py (transformers when installed,
 * else plain_lm.py), which loads the source model once and gives both the
 * greedy answers to the prompts and the logits of every corpus window, each
 * window in one forward pass. Speaks the stage protocol on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { StageEvent } from '../../common/stageProtocol.js';
import { pythonEnvPath } from '../paths.js';

export interface ReferenceRequest {
  modelDir: string;
  /** Rendered prompt token ids (greedy answers); may be empty. */
  prompts: number[][];
  maxNewTokens: number;
  stopIds: number[];
  /** Corpus windows (token ids); may be empty. */
  windows: number[][];
  outDir: string;
  backend?: 'transformers' | 'plain';
  dtype?: 'float32' | 'float64';
}

export interface ReferenceAnswerFile {
  tokens: number[];
  stopped: boolean;
  stopId: number | null;
  logitsPath: string;
  vocab: number;
}

export interface ReferenceWindowFile {
  logitsPath: string;
  /** Rows = window length − 1 (positions 0..n−2). */
  rows: number;
  vocab: number;
}

export interface ReferenceOutput {
  backend: string;
  answers: ReferenceAnswerFile[];
  windows: ReferenceWindowFile[];
  windowSeconds: number;
}

export interface ReferenceReporter {
  progress(fraction: number | null, phase: string, message?: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', text: string): void;
}

export async function runReference(python: string | null, request: ReferenceRequest, reporter: ReferenceReporter, signal?: AbortSignal): Promise<ReferenceOutput> {
  if (!python) {
    throw new WorkbenchError('python_unavailable', 'No Python interpreter is available for the PyTorch reference.', {
      hint: 'Install Python 3 with PyTorch (Debian: apt install python3-torch), or set up the environment on the Environment page.',
    });
  }
  await mkdir(request.outDir, { recursive: true });
  const paramsFile = path.join(request.outDir, 'reference-params.json');
  await writeFile(paramsFile, JSON.stringify(request));
  const child = spawn(python, [pythonEnvPath('stages', 'reference_answers.py'), '--params', paramsFile], { env: { ...process.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let result: ReferenceOutput | null = null;
  let failure: { code: string; message: string; hint?: string } | null = null;
  let buffered = '';
  const stderr: string[] = [];
  const handle = (line: string) => {
    if (!line.trim()) return;
    let event: StageEvent;
    try {
      event = StageEvent.parse(JSON.parse(line));
    } catch {
      reporter.log('info', line);
      return;
    }
    if (event.type === 'result') result = event.data as unknown as ReferenceOutput;
    else if (event.type === 'error') failure = { code: event.code, message: event.message, ...(event.hint ? { hint: event.hint } : {}) };
    else if (event.type === 'log') reporter.log(event.level, event.text);
    else if (event.type === 'progress') reporter.progress(event.fraction, event.phase ?? 'reference', event.message);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(handle);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim()) stderr.push(line);
  });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGTERM', stop);
  signal?.addEventListener('abort', stop, { once: true });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('close', resolve);
  });
  process.off('SIGTERM', stop);
  signal?.removeEventListener('abort', stop);
  handle(buffered);
  const f = failure as { code: string; message: string; hint?: string } | null;
  if (f) throw new WorkbenchError(f.code, `The PyTorch reference could not be computed: ${f.message}`, f.hint ? { hint: f.hint } : undefined);
  const r = result as ReferenceOutput | null;
  if (!r || code !== 0) throw new WorkbenchError('reference_failed', `The PyTorch reference ended without a result (exit code ${code})${stderr.length ? `: ${stderr.slice(-3).join(' ')}` : ''}.`);
  return { backend: r.backend, answers: r.answers ?? [], windows: r.windows ?? [], windowSeconds: r.windowSeconds ?? 0 };
}
