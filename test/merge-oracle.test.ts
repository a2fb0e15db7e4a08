/**
 * The native merge against a PyTorch re-implementation of PEFT's merge
 * (test/oracle/lora_oracle.py), run through the real stage script as a child
 * process. Needs Debian's /usr/bin/python3 with torch; skips with the reason
 * printed when it is missing (CI installs python3-torch and python3-numpy).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StageEvent } from '../main/common/stageProtocol.js';
import { MergeSummary } from '../main/common/stages/merge.js';
import { bundleMerge, repoRoot } from './support/mergeSupport.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const ORACLE = path.join(repoRoot, 'test', 'oracle', 'lora_oracle.py');

function torchMissing(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} is not available (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} cannot import torch/numpy (${probe.stderr.trim().split('\n').pop()})`;
  return null;
}

const skipReason = torchMissing();
if (skipReason) console.warn(`merge oracle test skipped: ${skipReason}`);

interface TensorReport {
  maxUlp?: number;
  maxRelErr?: number;
  differing?: number;
  count?: number;
  changed?: boolean;
  mismatch?: string;
}
type OracleReport = Record<string, { missing: string[]; extra: string[]; tensors: Record<string, TensorReport>; scales: Record<string, number> }>;

/** Runs dist/stages/merge.js with a params file; returns its parsed protocol events. */
async function runStageScript(stageScript: string, root: string, params: Record<string, unknown>, dir: string): Promise<StageEvent[]> {
  const paramsFile = path.join(dir, 'params.json');
  await writeFile(paramsFile, JSON.stringify(params));
  const { stdout } = await run(process.execPath, [stageScript, '--params', paramsFile], { env: { ...process.env, WORKBENCH_APP_ROOT: root }, maxBuffer: 64 << 20 }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`stage failed: ${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => StageEvent.parse(JSON.parse(line)));
}

describe.skipIf(skipReason !== null)('native merge vs the PyTorch/PEFT oracle', () => {
  let tmp: string;
  let report: OracleReport;
  const events = new Map<string, StageEvent[]>();

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'merge oracle '));
    const [{ stageScript, root }, generated] = await Promise.all([bundleMerge(), run(PYTHON, [ORACLE, 'generate', tmp])]);
    const { cases } = JSON.parse(generated.stdout) as { cases: string[] };
    for (const name of cases) {
      const dir = path.join(tmp, name);
      events.set(name, await runStageScript(stageScript, root, { baseDir: path.join(dir, 'base'), adapterDir: path.join(dir, 'adapter'), outDir: path.join(dir, 'merged'), shardSizeMiB: 1, verify: true, threads: 2 }, dir));
    }
    report = JSON.parse((await run(PYTHON, [ORACLE, 'compare', tmp], { maxBuffer: 64 << 20 })).stdout) as OracleReport;
  }, 120_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('covers every case with a complete output', () => {
    expect(Object.keys(report).sort()).toEqual(['gpt2-bf16-fan-in-fan-out-embedding-bias', 'llama-f16-rslora-regex', 'phi3-f32-sharded-modules-to-save', 'qwen2-bf16-patterns']);
    for (const [name, r] of Object.entries(report)) {
      expect(r.missing, name).toEqual([]);
      expect(r.extra, name).toEqual([]);
      for (const [tensor, t] of Object.entries(r.tensors)) expect(t.mismatch, `${name} ${tensor}`).toBeUndefined();
    }
  });

  it('matches PEFT bit for bit except for rare one-ulp float32 summation-order differences', () => {
    for (const [name, r] of Object.entries(report)) {
      let values = 0;
      let differing = 0;
      let changedTensors = 0;
      for (const [tensor, t] of Object.entries(r.tensors)) {
        // BF16/F16: within one ulp of the oracle's rounding. F32 keeps every bit of the float32 sum, so a
        // different summation order shows: bound the error relative to the magnitude of what was summed.
        if (name.includes('f32')) expect(t.maxRelErr, `${name} ${tensor}`).toBeLessThanOrEqual(2 ** -20);
        else expect(t.maxUlp, `${name} ${tensor}`).toBeLessThanOrEqual(1);
        values += t.count!;
        differing += t.differing!;
        if (t.changed) changedTensors += 1;
      }
      expect(changedTensors, name).toBeGreaterThan(3);
      console.info(`${name}: ${values - differing} of ${values} values bit-identical to the PEFT/PyTorch merge`);
      if (!name.includes('f32')) expect(differing / values, `${name}: share of values off by one ulp`).toBeLessThan(0.01);
    }
  });

  it('reports the scale PEFT uses for every module (rank/alpha patterns, rsLoRA)', () => {
    for (const [name, r] of Object.entries(report)) {
      const result = events.get(name)!.find((e) => e.type === 'result');
      expect(result, name).toBeDefined();
      const data = MergeSummary.parse(result?.type === 'result' ? result.data : undefined);
      const distinct = [...new Set(Object.values(r.scales))].sort();
      expect([...new Set(data.scales.map((s) => s.scale))].sort(), name).toEqual(distinct);
      expect(data.modules, name).toBe(Object.keys(r.scales).length);
    }
    const qwen = report['qwen2-bf16-patterns']!.scales;
    expect(qwen['model.layers.0.self_attn.q_proj']).toBe(4); // rank_pattern q_proj: r=4, alpha 16
    expect(qwen['model.layers.2.mlp.up_proj']).toBe(8); // full-name rank pattern: r=2
    expect(qwen['model.layers.0.mlp.down_proj']).toBe(4); // alpha_pattern down_proj: 32/8
    expect(qwen['model.layers.1.self_attn.k_proj']).toBe(5 / 8);
    expect(report['llama-f16-rslora-regex']!.scales['model.layers.0.self_attn.q_proj']).toBe(8 / Math.sqrt(16));
  });

  it('emits progress, metrics, the merged folder as an artifact and a verified summary', async () => {
    for (const [name, list] of events) {
      const types = new Set(list.map((e) => e.type));
      expect([...types].sort(), name).toEqual(expect.arrayContaining(['artifact', 'log', 'metric', 'progress', 'result']));
      expect(list.some((e) => e.type === 'error'), name).toBe(false);
      const artifact = list.find((e) => e.type === 'artifact') as { kind: string; path: string };
      expect(artifact.kind).toBe('merged-model');
      expect(path.basename(artifact.path)).toBe('merged');
      const result = list.find((e) => e.type === 'result');
      const summary = MergeSummary.parse(result?.type === 'result' ? result.data : undefined);
      expect(summary.verify?.ok, name).toBe(true);
      expect(summary.verify?.checkedValues, name).toBeGreaterThan(50);
      expect(summary.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256)), name).toBe(true);
      const progress = list.filter((e) => e.type === 'progress') as { fraction: number | null }[];
      expect(progress.at(-1)?.fraction).toBe(1);
      expect((await readdir(path.join(tmp, name))).sort()).toEqual(['adapter', 'base', 'merged', 'params.json']);
    }
    const sharded = await readdir(path.join(tmp, 'phi3-f32-sharded-modules-to-save', 'merged'));
    expect(sharded).toEqual(expect.arrayContaining(['config.json', 'model.safetensors.index.json']));
    expect(sharded.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
  });
});
