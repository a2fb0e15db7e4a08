/**
 * Turns an adapter (its config and tensor table) and a base model's tensor
 * table into a per-tensor merge plan, before a single weight is read. Every
 * inconsistency PEFT would trip over at load time (missing base tensor, shape
 * or rank mismatch, weights for modules the config does not target, features
 * we do not merge) is reported here, so a merge never fails halfway for a
 * reason that was knowable up front.
 *
 * Adapter keys follow PEFT's save format (peft/utils/save_and_load.py):
 *   base_model.model.<module>.lora_A.weight / lora_B.weight     Linear factors
 *   base_model.model.<module>.lora_B.bias                       lora_bias
 *   base_model.model.<module>.lora_embedding_A / _B             Embedding factors
 *   base_model.model.<module>.lora_magnitude_vector(.weight)    DoRA (refused)
 *   base_model.model.<name>                                     whole tensors: modules_to_save
 *                                                               copies, biases (bias "all"/"lora_only")
 */
import { WorkbenchError } from '../../common/errors.js';
import { isFloatDtype, type FloatDtype } from '../safetensors/dtypes.js';
import type { ModelTensor, SafetensorsHeader, SafetensorsModel, TensorEntry } from '../safetensors/header.js';
import { isTargetModule, loraScaling, rankAndAlpha, targetsAllLinear, type AdapterConfig } from './adapterConfig.js';

export const ADAPTER_KEY_PREFIX = 'base_model.model.';

export interface AdapterTensorRef {
  file: SafetensorsHeader;
  entry: TensorEntry;
}

export interface LoraUpdate {
  module: string;
  kind: 'linear' | 'embedding';
  a: AdapterTensorRef;
  b: AdapterTensorRef;
  r: number;
  alpha: number;
  /** As PEFT computes it (float64); the arithmetic uses it rounded to float32. */
  scale: number;
  /** The stored weight is (in × out): fan_in_fan_out, or an Embedding's (num × dim). */
  transposed: boolean;
}

export interface TensorPlan {
  name: string;
  base: ModelTensor;
  /** Replace the base tensor by this adapter tensor first (converted to the base dtype). */
  replaceWith?: AdapterTensorRef;
  /** Add scale · B·A (weights). */
  lora?: LoraUpdate;
  /** Add scale · lora_B.bias (biases, lora_bias = true). */
  loraBias?: { module: string; bias: AdapterTensorRef; scale: number };
}

export interface MergePlan {
  tensors: TensorPlan[];
  /** Tensors that change (LoRA, bias or replacement). */
  touched: number;
  /** Per module: r, alpha and the scale used. */
  modules: { module: string; kind: 'linear' | 'embedding'; r: number; alpha: number; scale: number }[];
  warnings: string[];
}

function fail(code: string, message: string, details?: Record<string, unknown>): never {
  throw new WorkbenchError(code, message, details);
}

interface ModuleFactors {
  a?: AdapterTensorRef;
  b?: AdapterTensorRef;
  kind?: 'linear' | 'embedding';
  bias?: AdapterTensorRef;
}

function shapeText(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

export function buildMergePlan(config: AdapterConfig, adapter: SafetensorsHeader, base: SafetensorsModel): MergePlan {
  const factors = new Map<string, ModuleFactors>();
  const replacements = new Map<string, AdapterTensorRef>();
  const warnings: string[] = [];
  const factorFor = (module: string): ModuleFactors => {
    let f = factors.get(module);
    if (!f) factors.set(module, (f = {}));
    return f;
  };

  for (const entry of adapter.tensors) {
    const ref = { file: adapter, entry };
    if (!entry.name.startsWith(ADAPTER_KEY_PREFIX)) {
      fail('adapter_key_unrecognised', `Adapter tensor ${entry.name} does not start with "${ADAPTER_KEY_PREFIX}": this is not a PEFT LoRA checkpoint of a causal LM.`, { tensor: entry.name });
    }
    const key = entry.name.slice(ADAPTER_KEY_PREFIX.length);
    const match = /^(.+)\.(lora_A\.weight|lora_B\.weight|lora_B\.bias|lora_embedding_A|lora_embedding_B|lora_magnitude_vector(?:\.weight)?)$/.exec(key);
    if (!match) {
      if (/(^|\.)lora_[^.]*(\.|$)/.test(key)) {
        fail('adapter_unsupported', `Adapter tensor ${entry.name} is a LoRA variant the native merge does not know.`, { tensor: entry.name });
      }
      replacements.set(key, ref);
      continue;
    }
    const [, module, part] = match as unknown as [string, string, string];
    const f = factorFor(module);
    if (part.startsWith('lora_magnitude_vector')) {
      fail('adapter_unsupported', `The adapter holds a DoRA magnitude vector for ${module}; DoRA adapters are not supported by the native merge.`, { module });
    }
    if (part === 'lora_B.bias') {
      f.bias = ref;
      continue;
    }
    const kind = part.startsWith('lora_embedding') ? 'embedding' : 'linear';
    if (f.kind && f.kind !== kind) fail('adapter_invalid', `Module ${module} has both Linear and Embedding LoRA factors.`, { module });
    f.kind = kind;
    if (part === 'lora_A.weight' || part === 'lora_embedding_A') f.a = ref;
    else f.b = ref;
  }

  const plans = new Map<string, TensorPlan>();
  const planFor = (name: string): TensorPlan => {
    let plan = plans.get(name);
    if (!plan) {
      const baseTensor = base.byName.get(name);
      if (!baseTensor) fail('merge_missing_tensor', `The adapter changes ${name}, which the base model does not have: the adapter was trained on another model.`, { tensor: name });
      plans.set(name, (plan = { name, base: baseTensor }));
    }
    return plan;
  };
  const modules: MergePlan['modules'] = [];
  const checkTargeted = (module: string): void => {
    if (config.targetModules === null || targetsAllLinear(config)) return;
    if (!isTargetModule(config, module)) {
      fail('adapter_config_mismatch', `The adapter holds LoRA weights for ${module}, which adapter_config.json does not target; PEFT would ignore them, so the adapter and its config disagree.`, { module });
    }
  };

  for (const [module, f] of [...factors.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    if (!f.a || !f.b) {
      if (f.bias && !f.a && !f.b) fail('adapter_invalid', `The adapter has lora_B.bias for ${module} but no LoRA factors.`, { module });
      fail('adapter_invalid', `The adapter has ${f.a ? 'lora_A' : 'lora_B'} but not ${f.a ? 'lora_B' : 'lora_A'} for ${module}.`, { module });
    }
    checkTargeted(module);
    const { r, alpha } = rankAndAlpha(config, module);
    const scale = loraScaling(config, r, alpha);
    const kind = f.kind!;
    const a = f.a.entry;
    const b = f.b.entry;
    for (const t of [a, b]) {
      if (!isFloatDtype(t.dtype)) fail('adapter_unsupported', `Adapter tensor ${t.name} is ${t.dtype}; LoRA factors must be F32, F16 or BF16.`, { tensor: t.name });
      if (t.shape.length !== 2) fail('adapter_unsupported', `Adapter tensor ${t.name} has shape ${shapeText(t.shape)}; only Linear and Embedding LoRA (2-D factors) can be merged, not convolutions.`, { tensor: t.name });
    }
    const [aRows, aCols] = a.shape as [number, number];
    const [bRows, bCols] = b.shape as [number, number];
    if (aRows !== bCols) fail('adapter_shape_mismatch', `LoRA factors of ${module} disagree: A is ${shapeText(a.shape)}, B is ${shapeText(b.shape)}.`, { module });
    if (aRows !== r) {
      fail('adapter_rank_mismatch', `LoRA factors of ${module} have rank ${aRows}, but adapter_config.json gives r = ${r} for this module (r / rank_pattern).`, { module, rank: aRows, configured: r });
    }
    const plan = planFor(`${module}.weight`);
    const w = plan.base.entry;
    if (!isFloatDtype(w.dtype)) fail('merge_unsupported_dtype', `Base tensor ${w.name} is ${w.dtype}; the merge needs F32, F16 or BF16 weights (quantized bases cannot be merged).`, { tensor: w.name });
    const transposed = kind === 'embedding' || config.fanInFanOut;
    // Linear: B·A is (out × in); the stored weight is (out × in), or (in × out) with fan_in_fan_out.
    // Embedding: B·A is (dim × num), stored transposed as (num × dim).
    const expected = transposed ? [aCols, bRows] : [bRows, aCols];
    if (w.shape.length !== 2 || w.shape[0] !== expected[0] || w.shape[1] !== expected[1]) {
      fail('adapter_shape_mismatch', `The adapter's update for ${module} has shape ${shapeText(expected)} but the base weight ${w.name} is ${shapeText(w.shape)}: the adapter belongs to another model${config.fanInFanOut ? '' : ' (or needs fan_in_fan_out)'}.`, { module, expected, actual: w.shape });
    }
    plan.lora = { module, kind, a: f.a, b: f.b, r, alpha, scale, transposed };
    modules.push({ module, kind, r, alpha, scale });
    if (f.bias) {
      const biasPlan = planFor(`${module}.bias`);
      const bias = f.bias.entry;
      const baseBias = biasPlan.base.entry;
      if (!isFloatDtype(bias.dtype) || !isFloatDtype(baseBias.dtype)) fail('merge_unsupported_dtype', `The bias of ${module} must be F32, F16 or BF16 to merge lora_bias.`, { module });
      if (bias.shape.length !== 1 || baseBias.shape.length !== 1 || bias.shape[0] !== baseBias.shape[0]) {
        fail('adapter_shape_mismatch', `lora_B.bias of ${module} is ${shapeText(bias.shape)} but the base bias is ${shapeText(baseBias.shape)}.`, { module });
      }
      biasPlan.loraBias = { module, bias: f.bias, scale };
    }
  }

  for (const [name, ref] of replacements) {
    const plan = planFor(name);
    const from = ref.entry;
    const to = plan.base.entry;
    if (from.shape.length !== to.shape.length || from.shape.some((d, i) => d !== to.shape[i])) {
      fail('adapter_shape_mismatch', `The adapter replaces ${name} with a ${shapeText(from.shape)} tensor but the base one is ${shapeText(to.shape)} (a resized vocabulary is not supported).`, { tensor: name });
    }
    if (from.dtype !== to.dtype && !(isFloatDtype(from.dtype) && isFloatDtype(to.dtype))) {
      fail('merge_unsupported_dtype', `The adapter replaces ${name} (${to.dtype}) with a ${from.dtype} tensor; only float conversions are supported.`, { tensor: name });
    }
    if (plan.lora) fail('adapter_invalid', `The adapter both replaces and LoRA-updates ${name}.`, { tensor: name });
    plan.replaceWith = ref;
  }

  // Targeted base Linear weights without factors: PEFT initialises B to zero there, so nothing changes; say so.
  if (config.targetModules !== null && !targetsAllLinear(config)) {
    const missing: string[] = [];
    for (const t of base.tensors) {
      const name = t.entry.name;
      if (!name.endsWith('.weight') || t.entry.shape.length !== 2) continue;
      const module = name.slice(0, -'.weight'.length);
      if (!factors.has(module) && !replacements.has(name) && isTargetModule(config, module)) missing.push(module);
    }
    if (missing.length > 0) {
      warnings.push(`${missing.length} module(s) match target_modules but have no LoRA weights in the adapter and stay unchanged (first: ${missing[0]}).`);
    }
  }

  const tensors = base.tensors.map((t) => plans.get(t.entry.name) ?? { name: t.entry.name, base: t });
  return { tensors, touched: plans.size, modules, warnings };
}

/** The float dtype of a plan's base tensor (callers check isFloatDtype first). */
export function planDtype(plan: TensorPlan): FloatDtype {
  return plan.base.entry.dtype as FloatDtype;
}

/** Node and worker baseline, copy chunks and scratch: what the merge needs besides the tensors in flight. */
const MERGE_BASE_BYTES = 160 * 1024 * 1024;

/**
 * The merge's predicted peak RSS: two buffers of the largest LoRA-updated
 * tensor (one computing, one being written), its factors as float32 twice
 * (read, then arranged for the kernel), plus a constant (docs/merge.md).
 */
export function predictMergePeakBytes(plan: MergePlan): number {
  let largest = 0;
  for (const t of plan.tensors) {
    if (!t.lora) continue;
    const factors = (t.lora.a.entry.elementCount + t.lora.b.entry.elementCount) * 4 * 2;
    largest = Math.max(largest, 2 * t.base.entry.byteLength + factors);
  }
  return MERGE_BASE_BYTES + largest;
}
