/**
 * The metadata fix on real packaged bundles: a bundle with many defects
 * becomes one that passes every check, in place or to a new file, with every
 * other section copied byte for byte; defects metadata cannot fix stay
 * reported; bad requests fail clearly and leave the input untouched. Also
 * the report exports.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FidelityReport } from '../../common/fidelity.js';
import type { LlmMetadataJson } from '../../common/formats.js';
import { readLitertlmHeader } from '../formats/litertlm.js';
import { writeTestBundle } from '../../../test/support/bundles.js';
import { CHATML_TEMPLATE, FIXTURES, QWEN25_GENERATION_CONFIG, writeQwenModelFolder } from '../../../test/support/fidelityModels.js';
import { writeSyntheticTflite } from '../../../test/support/syntheticTflite.js';
import { checkFidelity } from '../fidelity/analyze.js';
import { fixBundleMetadata } from './fixMetadata.js';
import { reportToJson, reportToMarkdown, writeReportFiles } from '../fidelity/report.js';

/** Many defects at once: no end-of-turn stop, a newline stop, a foreign start token, another template, no sampler, a short context. */
const DEFECTIVE: LlmMetadataJson = {
  startToken: { tokenStr: '<|endoftext|>' },
  stopTokens: [{ tokenIds: { ids: [151643] } }, { tokenStr: '\n' }],
  jinjaPromptTemplate: CHATML_TEMPLATE,
  maxNumTokens: 1024,
  llmModelType: { genericModel: {} },
};

let tmp: string;
let modelDir: string;
let defective: string;

function sectionBytes(file: string, dataType: number): Buffer {
  const header = readLitertlmHeader(file);
  const s = header.sections.find((x) => x.dataType === dataType)!;
  return readFileSync(file).subarray(s.beginOffset, s.endOffset);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fidelity-fix-'));
  modelDir = writeQwenModelFolder(path.join(tmp, 'model'), { generationConfig: { ...QWEN25_GENERATION_CONFIG, repetition_penalty: 1.0 } });
  defective = await writeTestBundle(path.join(tmp, 'defective.litertlm'), modelDir, { metadata: DEFECTIVE });
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fixBundleMetadata', () => {
  it('turns a defective bundle into one that passes every check, copying the other sections byte for byte', async () => {
    const out = path.join(tmp, 'fixed.litertlm');
    const result = await fixBundleMetadata({ modelDir, bundlePath: defective, outPath: out, intendedContext: 4096 });
    expect(result.before.summary.fail).toBeGreaterThanOrEqual(8);
    expect(result.before.summary.fixAvailable).toBe(true);
    expect(result.after.items.filter((i) => i.status !== 'pass').map((i) => i.id)).toEqual([]);
    expect(result.remaining).toEqual([]);
    expect(result.metadata.stopTokens).toEqual([{ tokenIds: { ids: [151645] } }, { tokenIds: { ids: [151643] } }]);
    expect(result.metadata.startToken).toBeUndefined();
    expect(result.metadata.samplerParams).toEqual({ type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 });
    expect(result.metadata.maxNumTokens).toBe(4096);
    // TFLiteModel (3) and HF_Tokenizer_Zlib (6) sections are the original bytes.
    expect(sectionBytes(out, 3).equals(sectionBytes(defective, 3))).toBe(true);
    expect(sectionBytes(out, 6).equals(sectionBytes(defective, 6))).toBe(true);
    // A fresh check from disk agrees.
    const again = await checkFidelity({ modelDir, bundlePath: out, intendedContext: 4096 });
    expect(again.summary.overall).toBe('pass');
  });

  it('fixes in place when the output is the bundle itself', async () => {
    const copy = path.join(tmp, 'in-place.litertlm');
    copyFileSync(defective, copy);
    const result = await fixBundleMetadata({ modelDir, bundlePath: copy, outPath: copy });
    expect(result.after.summary.overall).toBe('pass');
    expect((await checkFidelity({ modelDir, bundlePath: copy })).summary.overall).toBe('pass');
  });

  it('refuses to fix the metadata of a bundle carrying another tokenizer: the ids would name other tokens', async () => {
    const sibling = path.join(tmp, 'sibling');
    mkdirSync(sibling, { recursive: true });
    copyFileSync(path.join(FIXTURES, 'litertlm/tokenizer.json'), path.join(sibling, 'tokenizer.json'));
    const foreign = await writeTestBundle(path.join(tmp, 'foreign.litertlm'), modelDir, { metadata: DEFECTIVE, tokenizerFrom: sibling });
    const outPath = path.join(tmp, 'foreign-fixed.litertlm');
    await expect(fixBundleMetadata({ modelDir, bundlePath: foreign, outPath })).rejects.toMatchObject({
      code: 'tokenizer_mismatch',
      message: expect.stringMatching(/^The bundle's tokenizer is not the model's: .*so its metadata cannot be fixed in place\.$/),
      details: { hint: expect.stringContaining('workbench package --tflite') },
    });
    expect(existsSync(outPath)).toBe(false);
  });

  it('leaves what metadata cannot fix reported: a too-short KV cache', async () => {
    const short = await writeTestBundle(path.join(tmp, 'short.litertlm'), modelDir, { metadata: DEFECTIVE, tflite: { kvCacheMaxLen: 2048 } });
    const result = await fixBundleMetadata({ modelDir, bundlePath: short, outPath: path.join(tmp, 'short-fixed.litertlm'), intendedContext: 4096 });
    expect(result.remaining).toContain('context.intended');
    expect(result.after.items.find((i) => i.id === 'context.intended')?.fix).toMatch(/kv_cache_max_len ≥ 4096/);
    expect(result.after.items.find((i) => i.id === 'stop-tokens.end-of-turn')?.status).toBe('pass');
  });

  it('packages a bare .tflite with its (defective) metadata file into a passing .litertlm', async () => {
    const tflite = path.join(tmp, 'bare.tflite');
    await writeSyntheticTflite(tflite, { kvCacheMaxLen: 4096 });
    const metaFile = path.join(tmp, 'bare-metadata.json');
    writeFileSync(metaFile, JSON.stringify(DEFECTIVE));
    const before = await checkFidelity({ modelDir, bundlePath: tflite, metadataPath: metaFile });
    expect(before.bundleKind).toBe('tflite');
    expect(before.items.find((i) => i.id === 'stop-tokens.end-of-turn')?.status).toBe('fail');
    const result = await fixBundleMetadata({ modelDir, bundlePath: tflite, metadataPath: metaFile, outPath: path.join(tmp, 'bare-fixed.litertlm') });
    expect(result.after.bundleKind).toBe('litertlm');
    expect(result.after.summary.overall).toBe('pass');
  });

  it('refuses a non-.litertlm output and an output folder that cannot be made without touching the input', async () => {
    const original = readFileSync(defective);
    await expect(fixBundleMetadata({ modelDir, bundlePath: defective, outPath: path.join(tmp, 'out.tflite') })).rejects.toMatchObject({ code: 'bad_fix_output' });
    writeFileSync(path.join(tmp, 'a-file'), 'in the way');
    await expect(fixBundleMetadata({ modelDir, bundlePath: defective, outPath: path.join(tmp, 'a-file/out.litertlm') })).rejects.toMatchObject({ code: 'not_writable' });
    expect(readFileSync(defective).equals(original)).toBe(true);
    expect(existsSync(path.join(tmp, 'out.tflite'))).toBe(false);
  });

  it('reports a missing model folder or bundle with a clear error', async () => {
    await expect(checkFidelity({ modelDir: path.join(tmp, 'nope'), bundlePath: defective })).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(checkFidelity({ modelDir, bundlePath: path.join(tmp, 'nope.litertlm') })).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(checkFidelity({ modelDir, bundlePath: defective, intendedContext: -5 })).rejects.toMatchObject({ code: 'bad_intended_context' });
  });
});

describe('report exports', () => {
  it('writes JSON that round-trips through the schema and Markdown a reviewer can read', async () => {
    const report = await checkFidelity({ modelDir, bundlePath: defective, intendedContext: 4096 });
    const parsed = FidelityReport.parse(JSON.parse(reportToJson(report)));
    expect(parsed.items.length).toBe(report.items.length);
    const md = reportToMarkdown(report);
    expect(md).toMatch(/^# Fidelity report/);
    expect(md).toContain('❌ fail');
    expect(md).toContain('`stop-tokens.end-of-turn`');
    expect(md).toContain('## Prompt differences');
    expect(md).toContain('You are Qwen, created by Alibaba Cloud');
    expect(md).toContain('## Corrected metadata');
    // Failures come before passes.
    expect(md.indexOf('❌ fail ·')).toBeLessThan(md.indexOf('✅ pass ·'));
    const files = await writeReportFiles(report, path.join(tmp, 'reports', 'fidelity'));
    expect(JSON.parse(readFileSync(files.json, 'utf8')).summary.fail).toBe(report.summary.fail);
    expect(readFileSync(files.markdown, 'utf8')).toBe(md);
  });
});
