/**
 * Predicted peak RAM and duration of the stages, from facts known before a
 * run starts (the model's config.json, the stage parameters). Pure: no I/O,
 * no clock. It exists so the wizard, the CLI and the guard can say "this will
 * not fit" before a 30-minute conversion is killed by the OS.
 *
 * The conversion model is a sum of terms with physical meaning, evaluated per
 * phase of the converter (load → convert → quantize); the peak is the largest
 * phase. Every coefficient names its source; docs/memory.md has the long form
 * with file and line references into google-ai-edge/litert-torch (v0.7.1 tag
 * for the legacy example scripts, main for export_hf).
 */
import { formatBytes } from '../../common/format.js';
import type { HfModelConfig } from '../../common/formats.js';
import type {
  Band,
  CalibrationScales,
  EstimatePhase,
  EstimateTerm,
  FitVerdict,
  MemoryEstimate,
  MemoryEstimateOk,
  NoEstimate,
  TermGroup,
} from '../../common/memoryEstimate.js';
import { PRIOR_SCALES } from '../../common/memoryEstimate.js';
import { DEFAULT_MIN_AVAILABLE_MIB } from '../../common/settings.js';
import type { Quantization } from '../../common/stages/convert.js';

export const GB = 1e9;
export const GiB = 1024 ** 3;
const MB = 1e6;

// ---------------------------------------------------------------------------
// Model facts

/** What the estimator needs to know about a decoder-only transformer. */
export interface ModelFacts {
  family: string;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  /** Bytes per parameter in the checkpoint (bf16/fp16 = 2, fp32 = 4). */
  checkpointBytesPerParam: number;
  /** Number of kv×kv causal-mask buffers the legacy model builds (Gemma 2/3 add a sliding-window mask). */
  maskBuffers: number;
  /** Matrices per MLP block: 3 for gated (SwiGLU/GeGLU), 2 for plain fc1/fc2. */
  mlpMatrices: number;
  /** q/k/v projections carry a bias (Qwen2). */
  qkvBias: boolean;
  /** litert-torch ships a legacy example script for this family. */
  hasExampleScript: boolean;
  params: number;
  notes: string[];
}

interface FamilyTraits {
  mlpMatrices: number;
  qkvBias: boolean;
  maskBuffers: number;
  tiedDefault: boolean;
  hasExampleScript: boolean;
}

/**
 * Dense decoder-only families whose parameter layout we know. Mixture-of-experts,
 * state-space and encoder-decoder models are deliberately absent: their memory
 * does not follow these terms, so they get "no estimate" rather than a wrong one.
 * hasExampleScript: litert_torch/generative/examples/{qwen,llama,gemma,gemma3,phi,smollm,tiny_llama,deepseek,hammer,amd_llama_135m}.
 */
const FAMILIES: Record<string, FamilyTraits> = {
  llama: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: false, hasExampleScript: true },
  qwen2: { mlpMatrices: 3, qkvBias: true, maskBuffers: 1, tiedDefault: false, hasExampleScript: true },
  qwen3: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: false, hasExampleScript: true },
  mistral: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: false, hasExampleScript: false },
  gemma: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: true, hasExampleScript: true },
  gemma2: { mlpMatrices: 3, qkvBias: false, maskBuffers: 2, tiedDefault: true, hasExampleScript: true },
  gemma3: { mlpMatrices: 3, qkvBias: false, maskBuffers: 2, tiedDefault: true, hasExampleScript: true },
  gemma3_text: { mlpMatrices: 3, qkvBias: false, maskBuffers: 2, tiedDefault: true, hasExampleScript: true },
  phi: { mlpMatrices: 2, qkvBias: true, maskBuffers: 1, tiedDefault: false, hasExampleScript: true },
  phi3: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: false, hasExampleScript: true },
  smollm3: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: true, hasExampleScript: false },
  granite: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: true, hasExampleScript: false },
  olmo2: { mlpMatrices: 3, qkvBias: false, maskBuffers: 1, tiedDefault: false, hasExampleScript: false },
};

const ARCHITECTURE_FAMILY: Record<string, string> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  MistralForCausalLM: 'mistral',
  GemmaForCausalLM: 'gemma',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3_text',
  Gemma3ForConditionalGeneration: 'gemma3',
  PhiForCausalLM: 'phi',
  Phi3ForCausalLM: 'phi3',
  SmolLM3ForCausalLM: 'smollm3',
  GraniteForCausalLM: 'granite',
  Olmo2ForCausalLM: 'olmo2',
};

function dtypeBytes(dtype: string | null): number | null {
  switch (dtype) {
    case 'float32':
      return 4;
    case 'bfloat16':
    case 'float16':
      return 2;
    default:
      return null;
  }
}

/** Parameter count of a dense decoder from its sizes (embedding + blocks + norms + untied head). */
export function countParams(f: Omit<ModelFacts, 'params' | 'notes' | 'family' | 'checkpointBytesPerParam' | 'maskBuffers' | 'hasExampleScript'>): number {
  const qDim = f.numHeads * f.headDim;
  const kvDim = f.numKvHeads * f.headDim;
  const attention = f.hiddenSize * qDim + 2 * f.hiddenSize * kvDim + qDim * f.hiddenSize + (f.qkvBias ? qDim + 2 * kvDim : 0);
  const mlp = f.mlpMatrices * f.hiddenSize * f.intermediateSize;
  const norms = 2 * f.hiddenSize;
  const embedding = f.vocabSize * f.hiddenSize;
  return embedding + f.numLayers * (attention + mlp + norms) + f.hiddenSize + (f.tiedEmbeddings ? 0 : embedding);
}

/** The model facts from a parsed config.json, or the reason there are none. */
export function modelFactsFromConfig(config: HfModelConfig | null): ModelFacts | NoEstimate {
  if (!config) {
    return { ok: false, code: 'missing_config', reason: 'The model folder has no config.json, so its size is unknown; the live memory guard still protects the run.' };
  }
  const archFamily = config.architectures.map((a) => ARCHITECTURE_FAMILY[a]).find((f) => f !== undefined);
  const family = archFamily ?? (config.modelType && FAMILIES[config.modelType] ? config.modelType : undefined);
  const traits = family ? FAMILIES[family] : undefined;
  if (!family || !traits) {
    const name = config.architectures[0] ?? config.modelType ?? 'unnamed';
    return {
      ok: false,
      code: 'unknown_architecture',
      reason: `No memory model for the ${name} architecture (only dense decoder-only families are modelled); the live memory guard still protects the run.`,
    };
  }
  const missing: string[] = [];
  const need = (value: number | null, key: string): number => {
    if (value === null || !(value > 0)) missing.push(key);
    return value ?? 0;
  };
  const hiddenSize = need(config.hiddenSize, 'hidden_size');
  const numLayers = need(config.numHiddenLayers, 'num_hidden_layers');
  const numHeads = need(config.numAttentionHeads, 'num_attention_heads');
  const intermediateSize = need(config.intermediateSize, 'intermediate_size');
  const vocabSize = need(config.vocabSize, 'vocab_size');
  if (missing.length > 0) {
    return { ok: false, code: 'incomplete_config', reason: `config.json lacks ${missing.join(', ')}, so the parameter count is unknown; the live memory guard still protects the run.` };
  }
  const notes: string[] = [];
  const numKvHeads = config.numKeyValueHeads ?? numHeads;
  const headDim = config.headDim ?? Math.floor(hiddenSize / numHeads);
  let checkpointBytesPerParam = dtypeBytes(config.torchDtype);
  if (checkpointBytesPerParam === null) {
    checkpointBytesPerParam = 2;
    notes.push(`config.json does not give a known dtype (${config.torchDtype ?? 'none'}); assumed a 16-bit checkpoint.`);
  }
  const tiedEmbeddings = config.tieWordEmbeddings ?? traits.tiedDefault;
  const shape = { hiddenSize, numLayers, numHeads, numKvHeads, headDim, intermediateSize, vocabSize, tiedEmbeddings, mlpMatrices: traits.mlpMatrices, qkvBias: traits.qkvBias };
  return {
    family,
    ...shape,
    checkpointBytesPerParam,
    maskBuffers: traits.maskBuffers,
    hasExampleScript: traits.hasExampleScript,
    params: countParams(shape),
    notes,
  };
}

function isNoEstimate(x: ModelFacts | NoEstimate): x is NoEstimate {
  return (x as NoEstimate).ok === false;
}

// ---------------------------------------------------------------------------
// Coefficients (priors). Sources in docs/memory.md § Coefficients.

/** Stored weight bytes per parameter after each quantization recipe (int4 blocks carry one fp16 scale per block). */
export const QUANTIZED_BYTES_PER_PARAM: Record<Quantization, number> = {
  none: 4,
  dynamic_int8: 1,
  weight_only_int8: 1,
  fp16: 2,
  dynamic_int4_block32: 0.5 + 2 / 32,
  dynamic_int4_block128: 0.5 + 2 / 128,
};

export const PRIOR = {
  /** Python + torch + TensorFlow + the TFLite converter imported (legacy path imports TF). */
  runtimeLegacyBytes: 2.5 * GB,
  /** Python + torch + transformers + ai-edge-litert (export_hf does not import TensorFlow). */
  runtimeExportHfBytes: 1.2 * GB,
  /**
   * fp32 weight copies the converter holds besides the torch parameters while
   * lowering and serialising (legacy: TF variables restored from the SavedModel,
   * frozen MLIR constants, flatbuffer, Python bytes; export_hf: inlined MLIR
   * constants + flatbuffer; lightweight: constants stream in 32 MB chunks).
   * Legacy value fitted to the Qwen2.5-1.5B field report (peak 30–35 GB at kv 4096).
   */
  converterWeightCopies: { example: 3.5, export_hf: 2, lightweight: 0.25 },
  /** kv×kv fp32 mask copies per signature on the legacy route (lowered constant, converter constant, flatbuffer buffer); fitted so 32k exceeds 128 GB. */
  maskCopiesPerSignature: 3,
  /** Mask copies while the model is built: torch.full + torch.triu (attention_utils.py:144-145). */
  maskCopiesAtBuild: 2,
  /** Traced graph, lowered module and bytecode per signature per transformer block. */
  graphBytesPerSignaturePerLayer: 5 * MB,
  /** Quantizer: working copy of the fp32 flatbuffer's weights (ai-edge-quantizer reads the whole model). */
  quantizerFp32Copies: { example: 1, export_hf: 1 },
  /** Quantized weights held twice on the legacy path (model object + serialized bytes), once on export_hf (written to file). */
  quantizedCopies: { example: 2, export_hf: 1 },
  /** Uncertainty band (multiplicative) per route, from the spread of public reports across converter versions (native: measured here). */
  band: { example: { low: 0.85, high: 1.65 }, export_hf: { low: 0.8, high: 1.5 }, lightweight: { low: 0.75, high: 1.6 }, native: { low: 0.7, high: 1.5 } },
  /**
   * The native route (main/core/nativeConvert): Node and its heap, then only
   * the weight chunks in flight (8 MiB of source rows, their float32 decode
   * and encoding) and the flatbuffer with one float scale per weight row.
   * Measured by bench/convert.mjs (Qwen2.5-1.5B shape, int8, KV 4096).
   */
  native: {
    runtimeBytes: 120 * MB,
    chunkBytes: 64 * MB,
    /** Streaming throughput of checkpoint bytes (read, decode, encode, write) on one core. */
    sourceBytesPerSec: 180 * MB,
    baseSec: 2,
  },
  duration: {
    /** Imports, checkpoint load. */
    baseSec: { example: 60, export_hf: 60, lightweight: 30 },
    /** torch.export + lowering, per signature per block. */
    perSignatureLayerSec: { example: 2.2, export_hf: 1.5, lightweight: 1.0 },
    /** Converter passes and serialisation per billion parameters (single-threaded: more cores do not help). */
    convertSecPerBParams: { example: 700, export_hf: 500, lightweight: 60 },
    /** Quantization per billion parameters. */
    quantizeSecPerBParams: { example: 300, export_hf: 300, lightweight: 90 },
    /** Handling of the baked-in masks, per GB of mask copies. */
    maskSecPerGB: 10,
    band: { low: 0.5, high: 2 },
  },
} as const;

// ---------------------------------------------------------------------------
// Conversion

export type ConvertRouteName = 'native' | 'example' | 'export_hf';

export interface ConversionOptions {
  kvCacheMaxLen: number;
  prefillSeqLens: readonly number[];
  quantize: Quantization;
  route: ConvertRouteName;
  lightweightConversion: boolean;
  maskAsInput: boolean;
}

/** Calibrated scales plus the band they support; absent = priors. */
export interface AppliedCalibration {
  scales: CalibrationScales;
  band: { low: number; high: number } | null;
  runs: number;
}

class PhaseBuilder {
  readonly terms: EstimateTerm[] = [];
  constructor(
    readonly id: string,
    readonly label: string,
    private readonly scales: CalibrationScales,
  ) {}
  add(id: string, group: TermGroup, label: string, priorBytes: number): this {
    if (priorBytes > 0) this.terms.push({ id, group, label, bytes: priorBytes * this.scales[group] });
    return this;
  }
  build(): EstimatePhase {
    return { id: this.id, label: this.label, bytes: this.terms.reduce((s, t) => s + t.bytes, 0), terms: this.terms };
  }
}

/** Bytes of one fp32 K and V cache for every layer at this context length (kv_cache.py:70-87). */
export function kvCacheBytes(f: ModelFacts, kvLen: number): number {
  return f.numLayers * 2 * f.numKvHeads * f.headDim * kvLen * 4;
}

/** Bytes of one fp32 kv×kv causal mask (attention_utils.py:121-145). */
export function maskBytes(kvLen: number): number {
  return kvLen * kvLen * 4;
}

/**
 * Peak RAM and duration of one conversion. `calibration` scales the prior
 * terms by group (see calibration.ts); omit it for the priors.
 */
export function estimateConversion(
  facts: ModelFacts | NoEstimate,
  options: ConversionOptions,
  calibration?: AppliedCalibration,
): MemoryEstimate {
  if (isNoEstimate(facts)) return facts;
  const kv = options.kvCacheMaxLen;
  if (!(Number.isInteger(kv) && kv > 0)) return { ok: false, code: 'invalid_params', reason: `kv_cache_max_len must be a positive integer (got ${kv}).` };
  if (options.prefillSeqLens.length === 0) return { ok: false, code: 'invalid_params', reason: 'At least one prefill length is needed.' };
  const tooLong = options.prefillSeqLens.filter((p) => p > kv);
  if (tooLong.length > 0) {
    return { ok: false, code: 'invalid_params', reason: `Prefill length ${Math.max(...tooLong)} is longer than the context (${kv}); the converter cannot build that signature.` };
  }

  const route = options.route;
  // Calibration is fitted on the Python converters' runs: it does not describe the native one.
  if (route === 'native') calibration = undefined;
  const scales = calibration?.scales ?? PRIOR_SCALES;
  const notes = [...facts.notes];
  let lightweight = options.lightweightConversion;
  if (lightweight && route === 'example') {
    lightweight = false;
    notes.push('Lightweight conversion is an export_hf option; the legacy example scripts ignore it.');
  }
  if (route === 'example' && !facts.hasExampleScript) {
    notes.push(`litert-torch has no example script for the ${facts.family} family; the estimate assumes one written the same way.`);
  }
  const P = facts.params;
  const fp32 = P * 4;
  const nSignatures = options.prefillSeqLens.length + 1; // one prefill per length + decode (converter.py:481-546)
  const mask = maskBytes(kv);
  const kvBytes = kvCacheBytes(facts, kv);
  // Prefill masks passed as sample inputs (converter.py:454-461, exportable_module.py:183).
  const maskInputs = options.prefillSeqLens.reduce((s, p) => s + p * kv * 4, 0) + kv * 4;
  const graphs = nSignatures * facts.numLayers * PRIOR.graphBytesPerSignaturePerLayer;
  const quantized = P * QUANTIZED_BYTES_PER_PARAM[options.quantize];
  const quantizes = options.quantize !== 'none';
  const phases: EstimatePhase[] = [];
  let bandKey: 'example' | 'export_hf' | 'lightweight' | 'native';

  if (route === 'native') {
    bandKey = 'native';
    if (lightweight) notes.push('Lightweight conversion is an export_hf option; the native route always streams.');
    const n = PRIOR.native;
    // int8: one float32 scale per output row of every weight matrix, in the flatbuffer (tensor tables are a few MB).
    // int4: the float16 block scales are tensors of their own, held for one weight at a time (the largest: the
    // embedding's, and its copy while written).
    const block = options.quantize === 'dynamic_int4_block32' ? 32 : options.quantize === 'dynamic_int4_block128' ? 128 : 0;
    const scaleRows = quantizes && block === 0 ? facts.numLayers * (facts.numHeads * facts.headDim + 2 * facts.numKvHeads * facts.headDim + facts.hiddenSize + 2 * facts.intermediateSize + facts.hiddenSize) + facts.vocabSize : 0;
    const blockScaleBytes = block > 0 ? 2 * ((Math.max(facts.vocabSize, facts.intermediateSize) * facts.hiddenSize) / block) * 2 : 0;
    phases.push(
      new PhaseBuilder('convert', 'Stream every weight into the .tflite (native converter)', scales)
        .add('runtime', 'fixed', 'Node.js and the converter', n.runtimeBytes)
        .add('chunks', 'fixed', 'weight chunks in flight: source rows, their float32 decode and encoding', n.chunkBytes)
        .add('header', 'weights', `flatbuffer: tensor tables of ${nSignatures} signatures${block > 0 ? '' : ' and the per-row scales'}`, scaleRows * 4 + nSignatures * facts.numLayers * 64 * 1024)
        .add('block_scales', 'weights', 'float16 block scales of the weight being written (int4)', blockScaleBytes)
        // Gemma 3 has two tables (local and global bases).
        .add('rope', 'context', 'RoPE cos/sin tables (one row per position)', (facts.family.startsWith('gemma3') ? 2 : 1) * 2 * kv * facts.headDim * 4)
        .build(),
    );
  } else if (route === 'example') {
    bandKey = 'example';
    const bakedMask = !options.maskAsInput;
    const runtime = PRIOR.runtimeLegacyBytes;
    phases.push(
      new PhaseBuilder('load', 'Build the model and load the checkpoint', scales)
        .add('runtime', 'fixed', 'Python, PyTorch and TensorFlow runtimes', runtime)
        .add('weights_torch', 'weights', 'fp32 PyTorch parameters of the re-authored model', fp32)
        .add('checkpoint', 'weights', 'checkpoint state dict held while it is copied into the model', P * facts.checkpointBytesPerParam)
        .add('mask_build', 'context', `causal mask built as torch.full + triu (${facts.maskBuffers} buffer(s) of kv×kv fp32)`, bakedMask ? PRIOR.maskCopiesAtBuild * mask * facts.maskBuffers : 0)
        .build(),
    );
    phases.push(
      new PhaseBuilder('convert', 'Export every signature and convert to a flatbuffer', scales)
        .add('runtime', 'fixed', 'Python, PyTorch and TensorFlow runtimes', runtime)
        .add('weights_torch', 'weights', 'fp32 PyTorch parameters (kept alive during conversion)', fp32)
        .add('weights_converter', 'weights', 'fp32 weight copies in the converter (TF variables, frozen constants, flatbuffer, Python bytes)', PRIOR.converterWeightCopies.example * fp32)
        .add(
          'mask_signatures',
          'context',
          `kv×kv fp32 causal mask: the model's buffer plus ${PRIOR.maskCopiesPerSignature} copies in each of ${nSignatures} signatures`,
          bakedMask ? (1 + PRIOR.maskCopiesPerSignature * nSignatures) * mask * facts.maskBuffers : 0,
        )
        .add('mask_inputs', 'context', 'sample mask inputs of each prefill signature (mask_as_input)', bakedMask ? 0 : maskInputs)
        .add('kv_cache', 'context', 'fp32 sample KV caches for the prefill and decode signatures', 2 * kvBytes)
        .add('graphs', 'fixed', `traced and lowered graphs of ${nSignatures} signatures`, graphs)
        .build(),
    );
    if (quantizes) {
      phases.push(
        new PhaseBuilder('quantize', `Quantize (${options.quantize})`, scales)
          .add('runtime', 'fixed', 'Python, PyTorch and TensorFlow runtimes', runtime)
          .add('weights_torch', 'weights', 'fp32 PyTorch parameters (still referenced)', fp32)
          .add('weights_flatbuffer', 'weights', 'fp32 flatbuffer bytes handed to the quantizer', fp32)
          .add('weights_quantizer', 'weights', "quantizer's working copy of the fp32 weights", PRIOR.quantizerFp32Copies.example * fp32)
          .add('weights_quantized', 'weights', `${options.quantize} weights (model object and serialized bytes)`, PRIOR.quantizedCopies.example * quantized)
          .add('mask_flatbuffer', 'context', 'mask constants inside the flatbuffer', bakedMask ? nSignatures * mask * facts.maskBuffers : 0)
          .build(),
      );
    }
  } else {
    bandKey = lightweight ? 'lightweight' : 'export_hf';
    if (options.maskAsInput) notes.push('export_hf always takes the mask as an input; mask_as_input changes nothing there.');
    const runtime = PRIOR.runtimeExportHfBytes;
    const copies = lightweight ? PRIOR.converterWeightCopies.lightweight : PRIOR.converterWeightCopies.export_hf;
    phases.push(
      new PhaseBuilder('load', 'Load the Hugging Face model in fp32', scales)
        .add('runtime', 'fixed', 'Python, PyTorch and transformers runtimes', runtime)
        .add('weights_torch', 'weights', 'fp32 transformers parameters (from_pretrained with dtype=float32)', fp32)
        .add('checkpoint', 'weights', 'checkpoint shard being read (≤ 5 GB per shard)', Math.min(P * facts.checkpointBytesPerParam, 5 * GB))
        .build(),
    );
    phases.push(
      new PhaseBuilder('convert', lightweight ? 'Export and convert (lightweight: constants read lazily)' : 'Export and convert to a flatbuffer', scales)
        .add('runtime', 'fixed', 'Python, PyTorch and transformers runtimes', runtime)
        .add('weights_torch', 'weights', 'fp32 transformers parameters', fp32)
        .add(
          'weights_converter',
          'weights',
          lightweight ? 'constant chunks in flight while the flatbuffer is written (lazy constants, 32 MB chunks)' : 'fp32 weights inlined as MLIR constants and in the flatbuffer',
          copies * fp32,
        )
        .add('mask_inputs', 'context', 'sample mask inputs (1×1×prefill×cache each)', maskInputs)
        .add('kv_cache', 'context', 'fp32 sample KV caches for the prefill and decode signatures', 2 * kvBytes)
        .add('graphs', 'fixed', `traced and lowered graphs of ${nSignatures} signatures`, graphs)
        .build(),
    );
    if (quantizes) {
      phases.push(
        new PhaseBuilder('quantize', `Quantize (${options.quantize})`, scales)
          .add('runtime', 'fixed', 'Python, PyTorch and transformers runtimes', runtime)
          .add('weights_torch', 'weights', 'fp32 transformers parameters (still referenced by export())', fp32)
          .add('weights_quantizer', 'weights', 'fp32 model.tflite read back by the quantizer', PRIOR.quantizerFp32Copies.export_hf * fp32)
          .add('weights_quantized', 'weights', `${options.quantize} weights being written`, PRIOR.quantizedCopies.export_hf * quantized)
          .build(),
      );
    }
  }

  const peak = phases.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const band = calibration?.band ?? PRIOR.band[bandKey];

  const d = PRIOR.duration;
  const totalMaskCopiesGB = route === 'example' && !options.maskAsInput ? ((1 + PRIOR.maskCopiesPerSignature * nSignatures) * mask * facts.maskBuffers) / GB : 0;
  const durationPrior =
    bandKey === 'native'
      ? PRIOR.native.baseSec + (P * facts.checkpointBytesPerParam) / PRIOR.native.sourceBytesPerSec
      : d.baseSec[bandKey] +
    nSignatures * facts.numLayers * d.perSignatureLayerSec[bandKey] +
    (P / 1e9) * d.convertSecPerBParams[bandKey] +
    (quantizes ? (P / 1e9) * d.quantizeSecPerBParams[bandKey] : 0) +
    totalMaskCopiesGB * d.maskSecPerGB;
  const duration = durationPrior * scales.duration;

  return {
    ok: true,
    stage: 'convert',
    peakBytes: bandOf(peak.bytes, band),
    durationSec: bandOf(duration, d.band),
    peakPhase: peak.id,
    phases,
    params: P,
    calibration: { calibrated: calibration !== undefined && calibration.runs > 0, runs: calibration?.runs ?? 0 },
    notes,
  };
}

// ---------------------------------------------------------------------------
// On the device

/** Share of a device's RAM one app can count on (Android and iOS reclaim a foreground app's memory well before all of it is used). */
export const DEVICE_USABLE_FRACTION = 0.6;
/** LiteRT-LM runtime, tokenizer, XNNPACK packing buffers and the app around them. */
const DEVICE_RUNTIME_BYTES = 200 * 2 ** 20;

/**
 * Bytes of weights once loaded by LiteRT-LM's CPU executor: int8 hybrid and
 * int4 weights stay packed; float16 and weight-only int8 are dequantized to
 * float32 when the model is prepared (DEQUANTIZE of a constant is computed once).
 */
const RUNTIME_WEIGHT_BYTES_PER_PARAM: Record<Quantization, number> = {
  none: 4,
  fp16: 4,
  weight_only_int8: 4,
  dynamic_int8: 1,
  dynamic_int4_block32: 0.5 + 2 / 32,
  dynamic_int4_block128: 0.5 + 2 / 128,
};

export interface DeviceMemoryEstimate {
  weightsBytes: number;
  kvCacheBytes: number;
  /** Activations of the largest prefill (attention scores and probabilities over the whole cache, MLP) plus the runtime. */
  workspaceBytes: number;
  totalBytes: number;
}

/** What the converted model needs in RAM on the device at this context (LiteRT-LM, CPU executor). */
export function estimateDeviceMemory(facts: ModelFacts, options: { kvCacheMaxLen: number; prefillSeqLens: readonly number[]; quantize: Quantization }): DeviceMemoryEstimate {
  const kv = options.kvCacheMaxLen;
  const t = Math.max(1, ...options.prefillSeqLens.filter((p) => p <= kv));
  const weightsBytes = facts.params * RUNTIME_WEIGHT_BYTES_PER_PARAM[options.quantize];
  const kvBytes = kvCacheBytes(facts, kv);
  const attention = 2 * facts.numHeads * t * kv * 4;
  const mlp = 3 * t * facts.intermediateSize * 4;
  const workspaceBytes = attention + mlp + facts.vocabSize * 4 + DEVICE_RUNTIME_BYTES;
  return { weightsBytes, kvCacheBytes: kvBytes, workspaceBytes, totalBytes: weightsBytes + kvBytes + workspaceBytes };
}

function bandOf(expected: number, band: { low: number; high: number }): Band {
  return { low: expected * band.low, expected, high: expected * band.high };
}

/** Prior bytes per calibration group in the peak phase (unscaled), for calibration points. */
export function priorGroups(estimate: MemoryEstimateOk, scales: CalibrationScales): Record<TermGroup, number> {
  const phase = estimate.phases.find((p) => p.id === estimate.peakPhase);
  const groups: Record<TermGroup, number> = { weights: 0, context: 0, fixed: 0 };
  for (const term of phase?.terms ?? []) groups[term.group] += term.bytes / scales[term.group];
  return groups;
}

// ---------------------------------------------------------------------------
// Merge and packaging

export interface MergeEstimateInput {
  /** Total parameters of the base model. */
  params: number;
  /** Elements of the largest single tensor (usually the embedding). */
  largestTensorElements: number;
  checkpointBytesPerParam: number;
  /** streaming = the native merge (tensor by tensor); full_load = PEFT merge_and_unload. */
  mode: 'streaming' | 'full_load';
  /** Output shard size (full load writes whole shards from memory). */
  shardBytes: number;
  /** Worker threads of the streaming merge (each holds one fp32 block). */
  threads: number;
}

export function estimateMerge(input: MergeEstimateInput): MemoryEstimateOk {
  const s = PRIOR_SCALES;
  const phases: EstimatePhase[] = [];
  let duration: number;
  if (input.mode === 'streaming') {
    // One tensor at a time: source bytes, its fp32 copy, the fp32 LoRA delta and the output bytes (main/core/merge).
    const perElement = input.checkpointBytesPerParam * 2 + 4 + 4;
    phases.push(
      new PhaseBuilder('merge', 'Stream tensors through the LoRA merge', s)
        .add('runtime', 'fixed', 'Node.js runtime and worker threads', 150 * MB + input.threads * 32 * MB)
        .add('largest_tensor', 'weights', 'largest tensor: source, fp32 copy, fp32 delta and output', input.largestTensorElements * perElement)
        .add('io_buffers', 'fixed', 'read and write buffers of the shard files', 128 * MB)
        .build(),
    );
    duration = 10 + input.params / 150e6;
  } else {
    phases.push(
      new PhaseBuilder('merge', 'Load the whole model and merge (PEFT merge_and_unload)', s)
        .add('runtime', 'fixed', 'Python, PyTorch, transformers and PEFT runtimes', 1.5 * GB)
        .add('weights', 'weights', 'every weight in the load dtype', input.params * input.checkpointBytesPerParam)
        .add('merge_temp', 'weights', 'fp32 temporaries of the largest merged layer', input.largestTensorElements * 8)
        .add('save_shard', 'weights', 'one output shard serialised in memory', Math.min(input.shardBytes, input.params * input.checkpointBytesPerParam))
        .build(),
    );
    duration = 60 + input.params / 50e6;
  }
  const peak = phases[0]!;
  return {
    ok: true,
    stage: 'merge',
    peakBytes: bandOf(peak.bytes, input.mode === 'streaming' ? { low: 0.7, high: 1.5 } : { low: 0.85, high: 1.4 }),
    durationSec: bandOf(duration, { low: 0.5, high: 2 }),
    peakPhase: peak.id,
    phases,
    params: input.params,
    calibration: { calibrated: false, runs: 0 },
    notes: [],
  };
}

export interface PackageEstimateInput {
  tfliteBytes: number;
  tokenizerBytes: number;
}

/** Packaging streams the .tflite into the .litertlm; only the tokenizer and metadata are held whole. */
export function estimatePackage(input: PackageEstimateInput): MemoryEstimateOk {
  const phase = new PhaseBuilder('package', 'Write the .litertlm', PRIOR_SCALES)
    .add('runtime', 'fixed', 'Node.js runtime', 120 * MB)
    .add('copy_buffers', 'fixed', 'streaming copy buffers', 64 * MB)
    .add('tokenizer', 'context', 'tokenizer read, compressed and written', input.tokenizerBytes * 3)
    .build();
  return {
    ok: true,
    stage: 'package',
    peakBytes: bandOf(phase.bytes, { low: 0.7, high: 1.6 }),
    durationSec: bandOf(2 + input.tfliteBytes / 300e6, { low: 0.3, high: 3 }),
    peakPhase: phase.id,
    phases: [phase],
    params: 0,
    calibration: { calibrated: false, runs: 0 },
    notes: [],
  };
}

export interface VerifyEstimateInput {
  /** Parameters of the model compared against (0 when only the checklist runs). */
  params: number;
  /** The teacher-forced numeric comparison (Python: the HF model in float32 beside the .tflite). */
  numeric: boolean;
}

/** The checklist reads headers and the tokenizer; the numeric comparison holds the float32 model and the .tflite. */
export function estimateVerify(input: VerifyEstimateInput): MemoryEstimateOk {
  const builder = new PhaseBuilder('verify', input.numeric ? 'Checklist, then the numeric comparison' : 'Fidelity checklist', PRIOR_SCALES)
    .add('runtime', 'fixed', 'Node.js runtime, bundle sections and tokenizer', 200 * MB);
  if (input.numeric) {
    builder
      .add('python', 'fixed', 'Python, PyTorch, transformers and the LiteRT interpreter', 1.5 * GB)
      .add('hf_model', 'weights', 'the Hugging Face model in float32', input.params * 4)
      .add('tflite', 'weights', 'the .tflite model (int8 weights)', input.params);
  }
  const phase = builder.build();
  return {
    ok: true,
    stage: 'verify',
    peakBytes: bandOf(phase.bytes, { low: 0.7, high: 1.5 }),
    durationSec: bandOf(input.numeric ? 60 + input.params / 20e6 : 3, { low: 0.3, high: 3 }),
    peakPhase: phase.id,
    phases: [phase],
    params: input.params,
    calibration: { calibrated: false, runs: 0 },
    notes: [],
  };
}

// ---------------------------------------------------------------------------
// Fit against a host

/** Binary units (GiB/MiB) like every other figure in the app and the CLI: a "16 GB" laptop has 16 GiB. */
export { formatBytes };

/** The guard stops at this fraction of RAM in use unless the settings say otherwise. */
const DEFAULT_STOP_FRACTION = 0.9;

/**
 * What the stage may use on this host: the RAM available now, less the
 * headroom the guard keeps. The guard stops a stage when RAM in use reaches
 * the stop fraction or when available RAM falls below its floor
 * (guard.ts), so the budget keeps the larger of the two free: one rule, or
 * the preflight admits hosts (under ~1.2 GiB with the defaults) where the
 * guard then always stops the run.
 */
export function hostBudget(
  hostTotalBytes: number,
  hostAvailableBytes: number,
  stopUsedFraction = DEFAULT_STOP_FRACTION,
  minAvailableBytes = DEFAULT_MIN_AVAILABLE_MIB * 1024 * 1024,
): number {
  const reserve = Math.max((1 - stopUsedFraction) * hostTotalBytes, minAvailableBytes);
  return Math.max(0, Math.min(hostAvailableBytes, hostTotalBytes) - reserve);
}

/**
 * fits: even the high end of the band is under the budget; tight: the expected
 * peak fits but the high end does not; blocked: the expected peak does not fit.
 */
export function classifyFit(estimate: MemoryEstimate, hostTotalBytes: number, hostAvailableBytes: number, stopUsedFraction = DEFAULT_STOP_FRACTION): FitVerdict {
  const budget = hostBudget(hostTotalBytes, hostAvailableBytes, stopUsedFraction);
  if (!estimate.ok) return { fit: 'unknown', reason: estimate.reason, budgetBytes: budget };
  const p = estimate.peakBytes;
  const host = `${formatBytes(budget)} usable of ${formatBytes(hostTotalBytes)}`;
  if (p.expected > budget) {
    return { fit: 'blocked', reason: `Predicted peak ${formatBytes(p.expected)} exceeds the ${host} on this host.`, budgetBytes: budget };
  }
  if (p.high > budget) {
    return { fit: 'tight', reason: `Predicted peak ${formatBytes(p.expected)} fits the ${host}, but could reach ${formatBytes(p.high)}.`, budgetBytes: budget };
  }
  return { fit: 'fits', reason: `Predicted peak ${formatBytes(p.expected)} (up to ${formatBytes(p.high)}) fits the ${host}.`, budgetBytes: budget };
}

/** Context lengths the wizard and the CLI offer. */
export const STANDARD_CONTEXTS = [512, 1024, 2048, 4096, 8192, 16384, 32768] as const;

/**
 * The largest context whose conversion is predicted to fit this host
 * ("fits", or "tight" when allowTight), searched over `candidates`; null when
 * none does or no estimate is possible. Prefill lengths longer than a
 * candidate are dropped for that candidate, as the wizard does.
 */
export function largestSafeContext(
  facts: ModelFacts | NoEstimate,
  options: Omit<ConversionOptions, 'kvCacheMaxLen'>,
  hostTotalBytes: number,
  hostAvailableBytes: number,
  opts: { candidates?: readonly number[]; allowTight?: boolean; calibration?: AppliedCalibration; stopUsedFraction?: number } = {},
): number | null {
  const candidates = [...(opts.candidates ?? STANDARD_CONTEXTS)].sort((a, b) => b - a);
  for (const kv of candidates) {
    const prefill = options.prefillSeqLens.filter((p) => p <= kv);
    if (prefill.length === 0) continue;
    const estimate = estimateConversion(facts, { ...options, prefillSeqLens: prefill, kvCacheMaxLen: kv }, opts.calibration);
    const verdict = classifyFit(estimate, hostTotalBytes, hostAvailableBytes, opts.stopUsedFraction);
    if (verdict.fit === 'fits' || (opts.allowTight && verdict.fit === 'tight')) return kv;
  }
  return null;
}
