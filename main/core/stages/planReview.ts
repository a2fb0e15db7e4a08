/**
 * The wizard's Review page asks "what would happen if I pressed Start?"
 * before anything is recorded. This runs the very preflights runs.start runs
 * (so a plan the runner would refuse is shown as refused, at the stage that
 * refuses it) and adds each stage's predicted peak RAM and duration from the
 * estimator. Read-only: no run is created, no folder made.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toErrorData } from '../../common/errors.js';
import type { Band } from '../../common/memoryEstimate.js';
import type { PlanReview, StageReview } from '../../common/planReview.js';
import { RunPlan, type StagePlan } from '../../common/stages/plan.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { estimateMerge, estimatePackage, estimateVerify, modelFactsFromConfig, QUANTIZED_BYTES_PER_PARAM } from '../memory/estimator.js';
import { readSafetensorsModel } from '../safetensors/header.js';
import type { PreflightContext, PreflightFinding, StageDefinition } from './definition.js';
import { mergeBaseOf, producedByEarlierStage } from './planOutputs.js';
import { requireAbsolutePlanPaths } from './planPaths.js';
import { withDefaultRoutes } from './defaultRoute.js';
import { numericWillBeSkipped } from './verify.js';

export type PlanReviewContext = Omit<PreflightContext, 'plan' | 'stageIndex' | 'allowPredictedOom'> & {
  stageDefinition(kind: StagePlan['kind']): StageDefinition;
};

interface Estimate {
  peakBytes: Band | null;
  durationSec: Band | null;
  estimateNote: string | null;
}

const NONE = (note: string): Estimate => ({ peakBytes: null, durationSec: null, estimateNote: note });

function hintOf(details: unknown): string | undefined {
  const hint = (details as { hint?: unknown } | undefined)?.hint;
  return typeof hint === 'string' ? hint : undefined;
}

/** The conversion's estimate as its memory preflight computed it (in a finding, or in the predicted_oom refusal). */
function conversionEstimate(findings: PreflightFinding[], refusalDetails: unknown): Estimate {
  for (const details of [...findings.map((f) => f.details), refusalDetails]) {
    const estimate = (details as { memoryEstimate?: { peakBytes?: Band; durationSec?: Band; reason?: string } } | undefined)?.memoryEstimate;
    if (estimate?.peakBytes && estimate.durationSec) return { peakBytes: estimate.peakBytes, durationSec: estimate.durationSec, estimateNote: null };
    if (estimate?.reason) return NONE(estimate.reason);
  }
  const said = findings.find((f) => f.message.startsWith('No memory estimate: '))?.message;
  return NONE(said ? said.slice('No memory estimate: '.length) : 'The conversion’s memory cannot be predicted.');
}

/** Parameter count from a folder's config.json (the merge base's when an earlier merge writes it). */
async function paramsOf(modelDir: string, plan: RunPlan, stageIndex: number): Promise<number | null> {
  const dir = mergeBaseOf(modelDir, { plan, stageIndex }) ?? modelDir;
  const facts = modelFactsFromConfig(await readHfFolder(path.resolve(dir)).then((f) => f.config).catch(() => null));
  return 'params' in facts ? facts.params : null;
}

async function fileBytes(file: string): Promise<number | null> {
  return stat(file).then((s) => (s.isFile() ? s.size : null), () => null);
}

async function stageEstimate(stage: StagePlan, plan: RunPlan, stageIndex: number, findings: PreflightFinding[], refusalDetails: unknown, ctx: PlanReviewContext): Promise<Estimate> {
  switch (stage.kind) {
    case 'merge': {
      const base = await readSafetensorsModel(path.resolve(stage.params.baseDir)).catch(() => null);
      if (!base) return NONE('The base model’s safetensors headers cannot be read.');
      const params = base.tensors.reduce((sum, t) => sum + t.entry.elementCount, 0);
      const largest = base.tensors.reduce((max, t) => Math.max(max, t.entry.elementCount), 0);
      const e = estimateMerge({
        params,
        largestTensorElements: largest,
        checkpointBytesPerParam: params > 0 ? base.totalBytes / params : 2,
        mode: 'streaming',
        shardBytes: stage.params.shardSizeMiB * 1024 * 1024,
        threads: stage.params.threads || os.availableParallelism(),
      });
      return { peakBytes: e.peakBytes, durationSec: e.durationSec, estimateNote: null };
    }
    case 'convert':
      return conversionEstimate(findings, refusalDetails);
    case 'package': {
      const conversion = plan.stages.slice(0, stageIndex).find((s): s is Extract<StagePlan, { kind: 'convert' }> => s.kind === 'convert');
      let tfliteBytes = producedByEarlierStage(stage.params.tflitePath, { plan, stageIndex }) ? null : await fileBytes(path.resolve(stage.params.tflitePath));
      if (tfliteBytes === null && conversion) {
        const params = await paramsOf(conversion.params.modelDir, plan, stageIndex);
        if (params !== null) tfliteBytes = params * QUANTIZED_BYTES_PER_PARAM[conversion.params.quantize];
      }
      if (tfliteBytes === null) return NONE('The size of the .tflite is not known yet.');
      const tokenizerDir = mergeBaseOf(stage.params.modelDir, { plan, stageIndex }) ?? stage.params.modelDir;
      const tokenizerBytes = (await fileBytes(path.join(path.resolve(tokenizerDir), 'tokenizer.json'))) ?? 0;
      const e = estimatePackage({ tfliteBytes, tokenizerBytes });
      return { peakBytes: e.peakBytes, durationSec: e.durationSec, estimateNote: null };
    }
    case 'verify': {
      // Without a Python to run it, the numeric comparison is skipped (the preflight warns): predict the checklist only.
      const skipped = numericWillBeSkipped(stage.params, ctx);
      const numeric = stage.params.numeric && !skipped;
      const params = numeric ? await paramsOf(stage.params.modelDir, plan, stageIndex) : 0;
      if (params === null) return NONE('The model’s size is not known, so the numeric comparison’s memory is not predicted.');
      const e = estimateVerify({ params, numeric });
      return { peakBytes: e.peakBytes, durationSec: e.durationSec, estimateNote: skipped ? 'Checklist only: the numeric comparison is skipped until the Python environment is set up.' : null };
    }
    case 'evaluate':
      return NONE('the behaviour check’s memory is not modelled (the bundle runs in the engine’s wasm heap, at most 4.0 GiB, the reference model in PyTorch); the memory guard watches it.');
    default:
      return NONE('this kind of stage has no memory model; the memory guard watches it.');
  }
}

/** Every stage's findings, refusal and estimate; never throws for a bad plan. */
export async function reviewPlan(planInput: unknown, ctx: PlanReviewContext): Promise<PlanReview> {
  const parsed = RunPlan.safeParse(await withDefaultRoutes(planInput));
  if (!parsed.success) {
    return {
      invalid: { code: 'invalid_plan', message: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'plan'}: ${issue.message}`).join('; ') },
      stages: [],
    };
  }
  const plan = parsed.data;
  try {
    requireAbsolutePlanPaths(plan);
  } catch (error) {
    const { code, message } = toErrorData(error);
    return { invalid: { code, message }, stages: [] };
  }
  const allowPredictedOom = plan.allowPredictedOom || ctx.settings.allowPredictedOom;
  const stages: StageReview[] = [];
  for (const [stageIndex, stage] of plan.stages.entries()) {
    let findings: PreflightFinding[] = [];
    let refusal: StageReview['refusal'] = null;
    let refusalDetails: unknown;
    try {
      const definition = ctx.stageDefinition(stage.kind);
      findings = definition.preflight ? await definition.preflight(stage.params as never, { ...ctx, allowPredictedOom, plan, stageIndex }) : [];
    } catch (error) {
      const data = toErrorData(error);
      refusalDetails = data.details;
      const hint = hintOf(data.details);
      refusal = { code: data.code, message: data.message, ...(hint ? { hint } : {}) };
    }
    stages.push({
      kind: stage.kind,
      ...(await stageEstimate(stage, plan, stageIndex, findings, refusalDetails, ctx)),
      findings: findings.map(({ level, message }) => ({ level, message })),
      refusal,
    });
  }
  return { invalid: null, stages };
}
