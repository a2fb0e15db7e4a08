/**
 * The plan example in docs/cli.md is what people copy: it must pass the same
 * schema `workbench run --plan` applies, and each stage must read what the
 * stage before it writes (the .tflite name included).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUANT_SUFFIX } from '../main/common/stages/convert.js';
import { RunPlan } from '../main/common/stages/plan.js';
import { REPO_ROOT } from './helpers/serve.js';

function documentedPlan(): unknown {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### A complete plan'));
  const block = /```json\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('docs/cli.md has no JSON plan example under "### A complete plan".');
  return JSON.parse(block[1]!);
}

describe('docs/cli.md plan example', () => {
  it('is a valid merge → convert → package → verify plan whose stages chain', () => {
    const plan = RunPlan.parse(documentedPlan());
    expect(plan.stages.map((stage) => stage.kind)).toEqual(['merge', 'convert', 'package', 'verify']);
    const [merge, convert, pack, verify] = plan.stages;
    if (merge?.kind !== 'merge' || convert?.kind !== 'convert' || pack?.kind !== 'package' || verify?.kind !== 'verify') throw new Error('unexpected stage order');
    expect(convert.params.modelDir).toBe(merge.params.outDir);
    const { outputNamePrefix, quantize, kvCacheMaxLen } = convert.params;
    expect(pack.params.tflitePath).toBe(`${convert.params.outDir}/${outputNamePrefix}_${QUANT_SUFFIX[quantize]}_ekv${kvCacheMaxLen}.tflite`);
    expect(pack.params.modelDir).toBe(merge.params.outDir);
    expect(verify.params.bundlePath).toBe(pack.params.outPath);
    expect(verify.params.intendedContext).toBe(kvCacheMaxLen);
  });
});
