/**
 * A .tflite the runtime cannot drive fails verification (issue 13, item 11):
 * LiteRT-LM reads the prompt through prefill_<N> and generates through
 * decode, so a model without those signatures (here the real
 * dummy_embedding_cpu_model.tflite from LiteRT-LM's test data) packed into a
 * bundle is a failure of `workbench check`, not a pass; a synthetic LLM
 * export with both signatures passes the same check.
 */
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FidelityReport } from '../main/common/fidelity.js';
import { checkFidelity } from '../main/core/fidelity/analyze.js';
import { packageModel } from '../main/core/packager/package.js';
import { CLI, freshDataDir } from './helpers/serve.js';
import { FIXTURES, writeQwenModelFolder } from './support/fidelityModels.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

let work: string;
let modelDir: string;

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'wb-signatures-'));
  modelDir = writeQwenModelFolder(path.join(work, 'model'));
});

describe('context.signatures', () => {
  it('fails a bundle whose .tflite has no prefill or decode signature, in the report and in the CLI', async () => {
    const bundle = path.join(work, 'embedding.litertlm');
    await packageModel({ tflitePath: path.join(FIXTURES, 'tflite', 'dummy_embedding_cpu_model.tflite'), modelDir, outPath: bundle, metadata: { maxNumTokens: 1024, stopTokens: [{ tokenIds: { ids: [0] } }] } });
    const report = await checkFidelity({ modelDir, bundlePath: bundle });
    const item = report.items.find((i) => i.id === 'context.signatures')!;
    expect(item.status).toBe('fail');
    expect(item.explanation).toBe(
      'The .tflite has no prefill signature and no decode signature, so the LiteRT-LM runtime cannot run it on a device: it reads the prompt through prefill_<N> and generates through decode.',
    );
    expect(item.fixableByMetadata).toBe(false);
    expect(report.summary.overall).toBe('fail');

    const cli = await execa(process.execPath, [CLI, '--data-dir', freshDataDir('wb-signatures'), 'check', '--model', modelDir, '--bundle', bundle, '--json'], { reject: false, timeout: 60_000 });
    expect(cli.exitCode).toBe(1);
    expect((JSON.parse(cli.stdout) as FidelityReport).items.find((i) => i.id === 'context.signatures')?.status).toBe('fail');
  }, 60_000);

  it('passes an LLM export with prefill and decode signatures', async () => {
    const tflite = path.join(work, 'llm.tflite');
    await writeSyntheticTflite(tflite, { kvCacheMaxLen: 1024, prefillLengths: [128, 512] });
    const bundle = path.join(work, 'llm.litertlm');
    await packageModel({ tflitePath: tflite, modelDir, outPath: bundle });
    const item = (await checkFidelity({ modelDir, bundlePath: bundle })).items.find((i) => i.id === 'context.signatures')!;
    expect(item.status).toBe('pass');
    expect(item.explanation).toBe('The .tflite has prefill signatures for 128, 512 tokens and a decode signature.');
  }, 60_000);
});
