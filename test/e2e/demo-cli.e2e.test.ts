/**
 * `workbench demo` end to end: real training with Debian's torch, the native
 * converter, LiteRT-LM's engine. `--json` prints exactly one JSON document;
 * the shipped bundle's behaviour check finds differences (it never stops,
 * and the cause is named), the fixed bundle's answers all match. Independent
 * reference: the answers the model was trained to give. A Python without
 * torch gets one clear sentence and exit 3, and nothing is written.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluateResult } from '../../main/common/stages/evaluate.js';
import type { RunDetail } from '../../main/common/runs.js';
import { DEMO_ANSWERS } from '../../main/core/demo/demoModel.js';
import { venvPython } from '../../main/core/env/python.js';
import { CLI } from '../helpers/serve.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'demo-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workbench demo', () => {
  it('names what is missing when the configured Python cannot import torch (exit 3, nothing written)', async () => {
    // The workbench's own environment comes first (as `doctor` and evaluate choose): a Python without site-packages.
    const dataDir = path.join(dir, 'no-torch-data');
    const python = venvPython(dataDir);
    mkdirSync(path.dirname(python), { recursive: true });
    writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(python, 0o755);
    const out = path.join(dir, 'no-torch-out');

    const asJson = await cli(['--data-dir', dataDir, 'demo', '--out', out, '--json']);
    expect(asJson.code, asJson.stderr).toBe(3);
    const doc = JSON.parse(asJson.stdout) as { status: string; error: { code: string; message: string } };
    expect(doc.status).toBe('failed');
    expect(doc.error.code).toBe('torch_missing');
    expect(doc.error.message).toBe(`torch is not importable from ${python}; install python3-torch (Debian), choose a Python with torch in Settings, or run \`workbench doctor\`.`);

    const asText = await cli(['--data-dir', dataDir, 'demo', '--out', out]);
    expect(asText.code).toBe(3);
    expect(asText.stdout).toBe('');
    expect(asText.stderr.split('\n')[0]).toBe(`error: ${doc.error.message}`);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('--out naming a file is a clear error (exit 3)', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const result = await cli(['--data-dir', path.join(dir, 'file-data'), 'demo', '--out', file, '--json']);
    expect(result.code).toBe(3);
    expect((JSON.parse(result.stdout) as { error: { message: string } }).error.message).toBe(`--out ${file} is a file; name a folder for the demonstration model and its bundles.`);
  }, 60_000);

  it('trains, packages shipped and fixed, and the behaviour check tells them apart (one JSON document)', async () => {
    const dataDir = path.join(dir, 'data');
    const out = path.join(dir, 'out');
    const result = await cli(['--data-dir', dataDir, 'demo', '--out', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    // Exactly one JSON document on stdout: JSON.parse of the whole of it.
    const doc = JSON.parse(result.stdout) as {
      status: string;
      training: { loss: number };
      modelDir: string;
      shipped: { bundle: string; runId: number; matches: number; prompts: number; show: string };
      fixed: { bundle: string; runId: number; matches: number; prompts: number; show: string };
      serveHint: string;
    };
    expect(doc.status).toBe('as_expected');
    expect(doc.training.loss).toBeLessThan(0.05);
    expect([doc.shipped.bundle, doc.fixed.bundle, doc.modelDir]).toEqual([path.join(out, 'demo-shipped.litertlm'), path.join(out, 'demo-fixed.litertlm'), path.join(out, 'demo-model')]);
    for (const file of [doc.shipped.bundle, doc.fixed.bundle, path.join(doc.modelDir, 'tokenizer.json'), path.join(doc.modelDir, 'model.safetensors')]) expect(existsSync(file)).toBe(true);
    expect([doc.shipped.matches, doc.shipped.prompts, doc.fixed.matches, doc.fixed.prompts]).toEqual([0, 4, 4, 4]);
    expect(doc.shipped.show).toBe(`workbench runs show ${doc.shipped.runId}`);
    expect(doc.serveHint).toContain(`#/compare?ids=${doc.shipped.runId},${doc.fixed.runId}`);

    // The two runs are in the history, with the full evaluation.
    const evaluation = async (id: number) => {
      const shown = await cli(['--data-dir', dataDir, 'runs', 'show', String(id), '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      return ((JSON.parse(shown.stdout) as RunDetail).stages[0]!.result as { evaluation: EvaluateResult }).evaluation;
    };
    const labels = Object.keys(DEMO_ANSWERS);
    const shipped = await evaluation(doc.shipped.runId);
    expect(shipped.prompts.map((p) => p.reference.text)).toEqual(labels.map((l) => DEMO_ANSWERS[l]));
    expect(shipped.prompts.every((p) => p.reference.stopped && p.reference.stopToken === '<|im_end|>')).toBe(true);
    expect(shipped.summary.bundleNeverStopped).toBe(4);
    // The same first cause as the demo e2e: the stop token, with what was seen (causes ranked by evidence).
    expect(shipped.summary.causes[0]).toMatchObject({ kind: 'stop-tokens', latent: false, prompts: [0, 1, 2, 3], checks: ['stop-tokens.eos', 'stop-tokens.end-of-turn'] });
    expect(shipped.summary.causes[0]!.text).toContain('the reference stopped on <|im_end|> after 7 tokens, which is not a stop token of the bundle (151643 "<|endoftext|>")');
    expect(shipped.summary.numeric!.top1Agreement).toBe(1);
    const fixed = await evaluation(doc.fixed.runId);
    expect(fixed.summary.text).toBe("The bundle's answers match the reference in all 4 prompts.");
    expect(fixed.prompts.map((p) => [p.bundle.text, p.bundle.stopped, p.greedy.text, p.firstDivergence.token])).toEqual(labels.map((l) => [DEMO_ANSWERS[l], true, DEMO_ANSWERS[l], null]));
  }, 900_000);
});
