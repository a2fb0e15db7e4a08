/**
 * Model and adapter intake (wizard step 1): reads a base (or merged) model
 * folder and an optional LoRA adapter folder from their JSON files and
 * safetensors headers — never the weights — and reports what the converter
 * and the merge will meet: architecture and converter support, parameter
 * count, dtype, size, tokenizer and chat template, adapter rank/alpha/targets,
 * whether the adapter belongs to this base and whether its shapes fit.
 * Every problem is a sentence plus what to do; nothing here throws for bad
 * input, so the wizard can show all problems at once.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { matchExampleBuilder } from '../../common/converterSupport.js';
import { WorkbenchError } from '../../common/errors.js';
import type { HfFolderSummary, HfModelConfig } from '../../common/formats.js';
import { IntakeResult, type AdapterIntake, type IntakeProblem, type IntakeRequest, type ModelIntake } from '../../common/intake.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { readAdapterConfig, rankAndAlpha, type AdapterConfig } from '../merge/adapterConfig.js';
import { adapterBaseNameMatches, baseNameWarning } from '../merge/baseName.js';
import { buildMergePlan } from '../merge/plan.js';
import { readDecoderConfig } from '../nativeConvert/convertModel.js';
import { countParameters, readSafetensorsHeader, readSafetensorsModel, type SafetensorsHeader, type SafetensorsModel } from '../safetensors/index.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];
const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

function problem(severity: IntakeProblem['severity'], code: string, message: string, fix: string): IntakeProblem {
  return { severity, code, message, fix };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Parameters implied by config.json for a decoder-only transformer (Llama/Qwen/Gemma/Phi-3 shape). */
export function estimateParameters(config: HfModelConfig, qkvBias: boolean): number | null {
  const { hiddenSize: h, numHiddenLayers: layers, intermediateSize: inter, numAttentionHeads: heads, vocabSize: vocab } = config;
  if (!h || !layers || !inter || !heads || !vocab) return null;
  const headDim = config.headDim ?? h / heads;
  const kvHeads = config.numKeyValueHeads ?? heads;
  const q = h * heads * headDim;
  const kv = 2 * h * kvHeads * headDim;
  const o = heads * headDim * h;
  const bias = qkvBias ? heads * headDim + 2 * kvHeads * headDim : 0;
  const mlp = 3 * h * inter;
  const norms = 2 * h;
  const embeddings = vocab * h * (config.tieWordEmbeddings === false ? 2 : 1);
  return embeddings + layers * (q + kv + o + bias + mlp + norms) + h;
}

async function sizeOfFolder(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const info = await stat(path.join(dir, name)).catch(() => null);
    if (info?.isFile()) total += info.size;
  }
  return total;
}

function dtypesByFrequency(model: SafetensorsModel): string[] {
  const counts = new Map<string, number>();
  for (const t of model.tensors) counts.set(t.entry.dtype, (counts.get(t.entry.dtype) ?? 0) + t.entry.elementCount);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([dtype]) => dtype);
}

interface ModelRead {
  intake: ModelIntake;
  weights: SafetensorsModel | null;
  summary: HfFolderSummary;
}

async function inspectModel(dir: string, problems: IntakeProblem[]): Promise<ModelRead | null> {
  let summary: HfFolderSummary;
  try {
    summary = await readHfFolder(dir);
  } catch (error) {
    const code = error instanceof WorkbenchError ? error.code : 'unreadable';
    problems.push(
      problem('error', code === 'file_not_found' ? 'model_not_found' : 'not_model_folder', describeError(error), 'Pick the folder that holds config.json and the *.safetensors files.'),
    );
    return null;
  }
  if (summary.isAdapter && !summary.config) {
    problems.push(problem('error', 'adapter_as_model', `${dir} is a LoRA adapter folder, not a model.`, 'Pick the base model folder here and put this folder in the adapter field.'));
    return null;
  }
  const config = summary.config;
  if (!config) {
    problems.push(problem('error', 'missing_config', `${dir} has no config.json, so the architecture and sizes are unknown.`, 'Pick the folder that holds config.json (the full model folder as saved by transformers).'));
  }
  let weights: SafetensorsModel | null = null;
  if (summary.weights.format === 'safetensors') {
    try {
      weights = await readSafetensorsModel(dir);
    } catch (error) {
      problems.push(problem('error', 'bad_weights', `The weights cannot be read: ${describeError(error)}`, 'Re-download or re-save the model; a truncated or partly copied file cannot be converted.'));
    }
  } else if (summary.weights.format === 'pytorch') {
    problems.push(problem('error', 'pytorch_weights', 'The weights are in PyTorch .bin files, which this workbench does not read.', 'Re-save the model with safetensors: model.save_pretrained(dir, safe_serialization=True).'));
  } else {
    problems.push(problem('error', 'missing_weights', `${dir} holds no weight files.`, 'Pick the folder with the *.safetensors files (for sharded models, also model.safetensors.index.json).'));
  }
  for (const warning of summary.warnings) {
    if (/config\.json is missing|No weight files/.test(warning)) continue; // reported above as errors
    problems.push(problem('warn', 'folder_warning', warning, 'Copy the missing file from the original model release; packaging and verification use it.'));
  }

  const loraTensors = weights ? weights.tensors.filter((t) => /lora_[AB]|lora_embedding/.test(t.entry.name)).length : 0;
  if (loraTensors > 0) {
    problems.push(problem('error', 'unmerged_lora', `The checkpoint holds ${loraTensors} LoRA tensors (an unmerged PEFT save); the converter cannot map them.`, 'Pick the base model here and the adapter folder in the adapter field, so the wizard merges them first.'));
  }

  const architecture = config?.architectures[0] ?? null;
  const match = config ? matchExampleBuilder(config) : null;
  const example = match?.ok
    ? { supported: true, builder: match.builder.label, message: `Converted with the ${match.builder.label} builder (${match.builder.family}/${match.builder.module}.${match.builder.builder}).` }
    : { supported: false, builder: null, message: match ? match.message : 'Unknown without config.json.' };
  const native = config ? await nativeSupport(dir) : { supported: false, builder: null, message: 'Unknown without config.json.' };
  const causalLm = architecture?.endsWith('ForCausalLM') ?? false;
  const exportHf = {
    supported: causalLm,
    builder: null,
    message: causalLm
      ? `export_hf loads ${architecture} through transformers; whether every layer lowers depends on the litert-torch version.`
      : `export_hf exports causal language models; ${architecture ?? 'this model'} is not one.`,
  };
  if (config && !example.supported && !exportHf.supported) {
    problems.push(problem('error', 'unsupported_architecture', `The converter has no path for ${architecture ?? 'this architecture'}.`, 'Supported: Qwen2/Qwen2.5, Qwen3, Llama 3 and Gemma 3 text (native converter), Qwen2/Qwen2.5, Qwen3, Llama 3.2, TinyLlama, Gemma 1/2/3, Phi-2/3/4 (example builders) and causal LMs that transformers loads (export_hf).'));
  } else if (config && !example.supported) {
    problems.push(problem('warn', 'no_example_builder', example.message, native.supported ? 'Use the native route (the default), which builds this model without Python.' : 'Use the export_hf route for this model.'));
  }
  if (config && config.maxPositionEmbeddings !== null && config.maxPositionEmbeddings < 512) {
    problems.push(problem('warn', 'short_context', `The model was trained for at most ${config.maxPositionEmbeddings} positions.`, 'Keep the context length at or below that value.'));
  }

  const parameterCount = weights ? countParameters(weights) : null;
  const qkvBias = weights ? weights.tensors.some((t) => /self_attn\.q_proj\.bias$/.test(t.entry.name)) : (config?.modelType ?? '').startsWith('qwen2');
  const estimated = config ? estimateParameters(config, qkvBias) : null;
  if (parameterCount !== null && estimated !== null && parameterCount > 0 && Math.abs(parameterCount - estimated) / estimated > 0.1) {
    problems.push(
      problem('warn', 'size_disagrees', `The weights hold ${parameterCount.toLocaleString('en-US')} parameters but config.json implies about ${estimated.toLocaleString('en-US')}.`, 'Check that config.json belongs to these weights (a config from another size converts with the wrong builder).'),
    );
  }
  const entries = await readdir(dir).catch(() => [] as string[]);
  const intake: ModelIntake = {
    path: dir,
    architecture,
    modelType: config?.modelType ?? null,
    support: { native, example, export_hf: exportHf },
    dims: {
      hiddenSize: config?.hiddenSize ?? null,
      numHiddenLayers: config?.numHiddenLayers ?? null,
      intermediateSize: config?.intermediateSize ?? null,
      numAttentionHeads: config?.numAttentionHeads ?? null,
      numKeyValueHeads: config?.numKeyValueHeads ?? null,
      vocabSize: config?.vocabSize ?? null,
      maxPositionEmbeddings: config?.maxPositionEmbeddings ?? null,
    },
    parameterCount,
    parameterCountFromConfig: estimated,
    configDtype: config?.torchDtype ?? null,
    tensorDtypes: weights ? dtypesByFrequency(weights) : [],
    weightFormat: summary.weights.format,
    weightFiles: summary.weights.files.length,
    sizeOnDiskBytes: await sizeOfFolder(dir),
    tokenizerFiles: TOKENIZER_FILES.filter((name) => entries.includes(name)),
    chatTemplate: { present: Boolean(summary.tokenizerConfig?.chatTemplate), source: summary.tokenizerConfig?.chatTemplateSource ?? null },
    hasLoraTensors: loraTensors > 0,
  };
  return { intake, weights, summary };
}

/** `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` → module, A|B. */
function parseLoraName(name: string): { module: string; part: 'A' | 'B' } | null {
  const match = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
  if (!match?.[1] || !match[2]) return null;
  return { module: match[1], part: match[2] as 'A' | 'B' };
}

/** Runs the merge's own plan check on the headers; a refusal becomes step 1's error. True when it refused. */
function mergeRefusal(config: AdapterConfig, adapter: SafetensorsHeader, base: SafetensorsModel, problems: IntakeProblem[]): boolean {
  try {
    buildMergePlan(config, adapter, base);
    return false;
  } catch (error) {
    if (!(error instanceof WorkbenchError)) throw error;
    problems.push(problem('error', error.code, `The merge would refuse this adapter: ${error.message}`, 'Use the adapter with the base it was trained on, or re-save it with PEFT so its config matches its weights.'));
    return true;
  }
}

async function inspectAdapter(dir: string, base: ModelRead | null, problems: IntakeProblem[]): Promise<AdapterIntake | null> {
  let config: AdapterConfig;
  try {
    config = await readAdapterConfig(dir);
  } catch (error) {
    const code = error instanceof WorkbenchError ? error.code : 'adapter_unreadable';
    problems.push(problem('error', code, describeError(error), code === 'adapter_config_missing' ? 'Pick the folder that holds adapter_config.json and adapter_model.safetensors.' : 'Use a LoRA adapter saved by PEFT (adapter_config.json with peft_type LORA).'));
    return null;
  }
  let tensors: Array<{ name: string; shape: number[] }> = [];
  let header: SafetensorsHeader | null = null;
  try {
    header = await readSafetensorsHeader(path.join(dir, ADAPTER_WEIGHTS));
    tensors = header.tensors.map((t) => ({ name: t.name, shape: t.shape }));
  } catch (error) {
    problems.push(problem('error', 'bad_adapter_weights', `The adapter weights cannot be read: ${describeError(error)}`, `Re-save the adapter; ${ADAPTER_WEIGHTS} must be a complete safetensors file.`));
  }
  const pairs = new Map<string, { A?: number[]; B?: number[] }>();
  for (const t of tensors) {
    const parsed = parseLoraName(t.name);
    if (!parsed) continue;
    const pair = pairs.get(parsed.module) ?? {};
    pair[parsed.part] = t.shape;
    pairs.set(parsed.module, pair);
  }
  if (tensors.length > 0 && pairs.size === 0) {
    problems.push(problem('error', 'adapter_no_lora', `${ADAPTER_WEIGHTS} holds no lora_A / lora_B tensors.`, 'Use the adapter folder PEFT wrote (save_pretrained on the PEFT model).'));
  }

  const mismatches: AdapterIntake['shapeMismatches'] = [];
  const missing: string[] = [];
  let checked = 0;
  const baseWeights = base?.weights ?? null;
  for (const [module, pair] of pairs) {
    const { r } = rankAndAlpha(config, module);
    if (!pair.A || !pair.B) {
      mismatches.push({ module, expected: 'lora_A and lora_B', actual: pair.A ? 'lora_A only' : 'lora_B only' });
      continue;
    }
    if (!baseWeights) continue;
    const baseTensor = baseWeights.byName.get(`${module}.weight`);
    if (!baseTensor) {
      missing.push(module);
      continue;
    }
    const [dim0 = 0, dim1 = 0] = baseTensor.entry.shape;
    const [out, inp] = config.fanInFanOut ? [dim1, dim0] : [dim0, dim1];
    const expected = `A [${r}, ${inp}], B [${out}, ${r}]`;
    const actual = `A [${pair.A.join(', ')}], B [${pair.B.join(', ')}]`;
    if (pair.A[0] !== r || pair.A[1] !== inp || pair.B[0] !== out || pair.B[1] !== r) mismatches.push({ module, expected, actual });
    else checked += 1;
  }

  const named = config.baseModelNameOrPath;
  const baseNameMatches: AdapterIntake['baseNameMatches'] = base ? await adapterBaseNameMatches(named, base.intake.path) : 'unknown';
  const wrongBase = mismatches.length > 0 || missing.length > 0;
  if (wrongBase) {
    const first = mismatches[0];
    const detail = first ? `${first.module}: expected ${first.expected}, found ${first.actual}` : `${missing.length} target module(s) such as ${missing[0]} do not exist in the base`;
    problems.push(
      problem(
        'error',
        baseNameMatches === 'no' ? 'adapter_for_another_base' : 'adapter_shape_mismatch',
        `The adapter does not fit this base model (${detail})${baseNameMatches === 'no' ? `; it was trained on ${named}` : ''}.`,
        `Pick the base model the adapter was trained on${named ? ` (${named})` : ''}.`,
      ),
    );
  } else if (header && baseWeights && mergeRefusal(config, header, baseWeights, problems)) {
    // What the merge itself would refuse (ranks, untargeted modules, dtypes …) is said here, before Start.
  } else if (baseNameMatches === 'no') {
    problems.push(
      problem('warn', 'adapter_base_name_differs', baseNameWarning(named ?? '', base?.intake.path ?? ''), 'Nothing, if this folder holds that model; otherwise pick the base the adapter was trained on.'),
    );
  }
  const targets = config.targetModules === null ? [] : typeof config.targetModules === 'string' ? [config.targetModules] : config.targetModules;
  return {
    path: dir,
    peftType: config.peftType,
    rank: config.r,
    alpha: config.loraAlpha,
    useRslora: config.useRslora,
    hasRankPattern: Object.keys(config.rankPattern).length > 0 || Object.keys(config.alphaPattern).length > 0,
    targetModules: targets,
    baseModelNameOrPath: named,
    baseNameMatches,
    loraModules: pairs.size,
    shapesChecked: checked,
    shapeMismatches: mismatches.slice(0, 50),
    modulesMissingInBase: missing.slice(0, 50),
  };
}

/** Whether the native converter builds this model; its refusal sentence when not. */
async function nativeSupport(dir: string): Promise<{ supported: boolean; builder: string | null; message: string }> {
  try {
    const config = await readDecoderConfig(dir);
    return { supported: true, builder: `${config.family.name} (${config.architecture})`, message: `The native converter builds ${config.architecture} (${config.layers} layers, ${config.heads}/${config.kvHeads} heads) in bounded memory, without Python.` };
  } catch (error) {
    return { supported: false, builder: null, message: error instanceof WorkbenchError ? error.message : String(error) };
  }
}

export async function runIntake(request: IntakeRequest): Promise<IntakeResult> {
  const problems: IntakeProblem[] = [];
  const modelDir = path.resolve(request.modelDir);
  const base = await inspectModel(modelDir, problems);
  const adapter = request.adapterDir ? await inspectAdapter(path.resolve(request.adapterDir), base, problems) : null;
  // Off the example route, "no example builder" says nothing when the native route builds the model (it would only recommend another route).
  if (base && request.route !== 'example' && base.intake.support.native.supported) {
    const index = problems.findIndex((p) => p.code === 'no_example_builder');
    if (index >= 0) problems.splice(index, 1);
  }
  // On the example route a model without a builder cannot be converted: that warning becomes an error.
  if (base && request.route === 'example' && !base.intake.support.example.supported && base.intake.support.export_hf.supported) {
    const existing = problems.find((p) => p.code === 'no_example_builder');
    if (existing) existing.severity = 'error';
  }
  return IntakeResult.parse({ model: base?.intake ?? null, adapter, problems, ready: !problems.some((p) => p.severity === 'error') });
}
