/**
 * The built CLI (`workbench inspect`, `workbench package`) and the built
 * package stage script as real child processes on real files. Needs
 * `npm run build` (the test command builds first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectionSummary, LlmMetadataJson } from '../main/common/formats.js';
import { StageEvent } from '../main/common/stageProtocol.js';
import { distPath, nodeStageScript } from '../main/core/paths.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

const run = promisify(execFile);
const CLI = distPath('main', 'cli.js');
const FIXTURES = '/work/shared/fixtures';
let dir: string;
let modelDir: string;
let tflite: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  for (const file of [CLI, nodeStageScript('package')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first.`);
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'package-cli-'));
  modelDir = path.join(dir, 'model');
  await mkdir(modelDir);
  await symlink(path.join(FIXTURES, 'litertlm', 'tokenizer.json'), path.join(modelDir, 'tokenizer.json'));
  await writeFile(
    path.join(modelDir, 'tokenizer_config.json'),
    JSON.stringify({
      bos_token: null,
      eos_token: '<|im_end|>',
      chat_template: "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    }),
  );
  await writeFile(path.join(modelDir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama' }));
  await writeFile(path.join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2, do_sample: false }));
  tflite = path.join(dir, 'model.tflite');
  await writeSyntheticTflite(tflite, { kvCacheMaxLen: 2048, prefillLengths: [64] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('workbench inspect', () => {
  it('prints the fixture bundle as text and as JSON', async () => {
    const bundle = path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm');
    const text = await cli(['inspect', bundle]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/LiteRT-LM 1\.0\.0/);
    expect(text.stdout).toMatch(/HF_Tokenizer_Zlib\s+16384\s+609288/);
    const json = await cli(['inspect', bundle, '--json']);
    const summary = InspectionSummary.parse(JSON.parse(json.stdout));
    expect(summary.format === 'litertlm' && summary.sections[0]?.content.kind).toBe('tokenizer');
  });

  it('exits 3 with one sentence for a file it cannot read, 2 for bad usage', async () => {
    const bad = path.join(dir, 'bad.litertlm');
    await writeFile(bad, 'LITERTLM but nothing else');
    const result = await cli(['inspect', bad]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/error: .*bad\.litertlm is 25 bytes long, shorter than the 32-byte LiteRT-LM preamble\./);
    expect((await cli(['inspect'])).code).toBe(2);
  });
});

describe('workbench package', () => {
  it('prints the derived metadata, packages, and the bundle inspects with it', async () => {
    const printed = await cli(['package', '--tflite', tflite, '--model', modelDir, '--print-metadata']);
    expect(printed.code).toBe(0);
    const metadata = LlmMetadataJson.parse(JSON.parse(printed.stdout));
    expect(metadata).toMatchObject({ stopTokens: [{ tokenIds: { ids: [2] } }], maxNumTokens: 2048, samplerParams: { type: 'TOP_P', k: 1, p: 1, temperature: 1 } });

    const out = path.join(dir, 'model.litertlm');
    const packaged = await cli(['package', '--tflite', tflite, '--model', modelDir, '--out', out, '--metadata', JSON.stringify({ ...metadata, maxNumTokens: 1024 }), '--json']);
    expect(packaged.code).toBe(0);
    expect(JSON.parse(packaged.stdout)).toMatchObject({ outPath: out, tokenizerKind: 'hf-json' });
    const inspected = InspectionSummary.parse(JSON.parse((await cli(['inspect', out, '--json'])).stdout));
    expect(inspected.format).toBe('litertlm');
    if (inspected.format !== 'litertlm') return;
    expect(inspected.sections.map((s) => s.content.kind)).toEqual(['llm-metadata', 'tokenizer', 'tflite']);
    expect(inspected.sections[0]?.content).toEqual({ kind: 'llm-metadata', metadata: { ...metadata, maxNumTokens: 1024 } });

    // A partial --metadata changes the fields it names and keeps the rest of what the model folder calls for.
    const partial = path.join(dir, 'partial.litertlm');
    expect((await cli(['package', '--tflite', tflite, '--model', modelDir, '--out', partial, '--metadata', '{"maxNumTokens":512}'])).code).toBe(0);
    const partialSummary = InspectionSummary.parse(JSON.parse((await cli(['inspect', partial, '--json'])).stdout));
    if (partialSummary.format !== 'litertlm') throw new Error('not a bundle');
    expect(partialSummary.sections[0]?.content).toEqual({ kind: 'llm-metadata', metadata: { ...metadata, maxNumTokens: 512 } });
  });

  it('refuses a missing --out and an unreadable tflite without writing anything', async () => {
    expect((await cli(['package', '--tflite', tflite, '--model', modelDir])).code).toBe(2);
    const notTflite = path.join(dir, 'fake.tflite');
    await writeFile(notTflite, 'x'.repeat(100));
    const out = path.join(dir, 'never.litertlm');
    const result = await cli(['package', '--tflite', notTflite, '--model', modelDir, '--out', out]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/fake\.tflite is not a TFLite model/);
    await expect(stat(out)).rejects.toThrow();
  });
});

describe('package stage script', () => {
  async function stage(params: unknown): Promise<{ code: number; events: StageEvent[] }> {
    const file = path.join(dir, `params-${Date.now()}.json`);
    await writeFile(file, JSON.stringify(params));
    let stdout = '';
    let code = 0;
    try {
      ({ stdout } = await run(process.execPath, [nodeStageScript('package'), '--params', file]));
    } catch (error) {
      ({ stdout, code } = error as { stdout: string; code: number });
    }
    const events = stdout
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => StageEvent.parse(JSON.parse(l)));
    return { code, events };
  }

  it('reports progress, the litertlm artifact and the result', async () => {
    const out = path.join(dir, 'stage.litertlm');
    const { code, events } = await stage({ tflitePath: tflite, modelDir, outPath: out });
    expect(code).toBe(0);
    expect(events.filter((e) => e.type === 'progress').at(-1)).toMatchObject({ fraction: 1 });
    expect(events).toContainEqual({ type: 'artifact', kind: 'litertlm', path: out });
    const result = events.find((e) => e.type === 'result');
    expect(result?.type === 'result' && result.data).toMatchObject({ outPath: out, tflite: { kvCacheMaxLen: 2048 } });
    expect(events.some((e) => e.type === 'log' && /stopTokens: EOS id\(s\) 2/.test(e.text))).toBe(true);
    expect((await readFile(out)).subarray(0, 8).toString()).toBe('LITERTLM');
  });

  it('fails with the reader error code and leaves no output', async () => {
    const out = path.join(dir, 'stage-bad.litertlm');
    const { code, events } = await stage({ tflitePath: path.join(FIXTURES, 'litertlm', 'data.bin'), modelDir, outPath: out });
    expect(code).toBe(1);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ type: 'error', code: 'bad_magic' });
    await expect(stat(out)).rejects.toThrow();
  });
});
