/**
 * Which models the converter can take, and the exact converter command line
 * for a conversion: pure data and functions, shared by the intake step, the
 * wizard (the copyable command) and the convert stage. The Python stage
 * (python-env/stages/convert.py) holds the same table; a test runs both and
 * requires identical commands, so they cannot drift apart.
 */
import { EXPORT_HF_RECIPES, type ConvertParams } from './stages/convert.js';

export interface ExampleBuilder {
  architectures: readonly string[];
  /** generative/examples/<family>/ */
  family: string;
  /** generative/examples/<family>/<module>.py */
  module: string;
  /** build_* function of that module */
  builder: string;
  /** the example script a user runs by hand */
  script: string;
  /** value of the script's --model_size flag, when it has one */
  sizeFlag: string | null;
  label: string;
  /** hidden_size, num_hidden_layers, intermediate_size, num_attention_heads, num_key_value_heads */
  shape: readonly [number, number, number, number, number];
}

/**
 * The example builders of AI Edge Torch v0.7.1 (unchanged in LiteRT Torch) and
 * the dimensions their get_*_config() functions hard-code: a checkpoint is
 * converted by the builder whose dimensions it matches, never by a default.
 */
export const EXAMPLE_BUILDERS: readonly ExampleBuilder[] = [
  { architectures: ['Qwen2ForCausalLM'], family: 'qwen', module: 'qwen', builder: 'build_0_5b_model', script: 'convert_to_tflite', sizeFlag: '0.5b', label: 'Qwen2.5 0.5B', shape: [896, 24, 4864, 14, 2] },
  { architectures: ['Qwen2ForCausalLM'], family: 'qwen', module: 'qwen', builder: 'build_1_5b_model', script: 'convert_to_tflite', sizeFlag: '1.5b', label: 'Qwen2.5 1.5B', shape: [1536, 28, 8960, 12, 2] },
  { architectures: ['Qwen2ForCausalLM'], family: 'qwen', module: 'qwen', builder: 'build_3b_model', script: 'convert_to_tflite', sizeFlag: '3b', label: 'Qwen2.5 3B', shape: [2048, 36, 11008, 16, 2] },
  { architectures: ['Qwen3ForCausalLM'], family: 'qwen', module: 'qwen3', builder: 'build_0_6b_model', script: 'convert_v3_to_tflite', sizeFlag: '0.6b', label: 'Qwen3 0.6B', shape: [1024, 28, 3072, 16, 8] },
  { architectures: ['Qwen3ForCausalLM'], family: 'qwen', module: 'qwen3', builder: 'build_1_7b_model', script: 'convert_v3_to_tflite', sizeFlag: '1.7b', label: 'Qwen3 1.7B', shape: [2048, 28, 6144, 16, 8] },
  { architectures: ['Qwen3ForCausalLM'], family: 'qwen', module: 'qwen3', builder: 'build_4b_model', script: 'convert_v3_to_tflite', sizeFlag: '4b', label: 'Qwen3 4B', shape: [2560, 36, 9728, 32, 8] },
  { architectures: ['LlamaForCausalLM'], family: 'llama', module: 'llama', builder: 'build_1b_model', script: 'convert_to_tflite', sizeFlag: '1b', label: 'Llama 3.2 1B', shape: [2048, 16, 8192, 32, 8] },
  { architectures: ['LlamaForCausalLM'], family: 'llama', module: 'llama', builder: 'build_3b_model', script: 'convert_to_tflite', sizeFlag: '3b', label: 'Llama 3.2 3B', shape: [3072, 28, 8192, 24, 8] },
  { architectures: ['LlamaForCausalLM'], family: 'tiny_llama', module: 'tiny_llama', builder: 'build_model', script: 'convert_to_tflite', sizeFlag: null, label: 'TinyLlama 1.1B', shape: [2048, 22, 5632, 32, 4] },
  { architectures: ['GemmaForCausalLM'], family: 'gemma', module: 'gemma1', builder: 'build_2b_model', script: 'convert_gemma1_to_tflite', sizeFlag: null, label: 'Gemma 2B', shape: [2048, 18, 16384, 8, 1] },
  { architectures: ['Gemma2ForCausalLM'], family: 'gemma', module: 'gemma2', builder: 'build_2b_model', script: 'convert_gemma2_to_tflite', sizeFlag: null, label: 'Gemma 2 2B', shape: [2304, 26, 9216, 8, 4] },
  { architectures: ['Gemma3ForCausalLM'], family: 'gemma3', module: 'gemma3', builder: 'build_model_270m', script: 'convert_gemma3_to_tflite', sizeFlag: '270m', label: 'Gemma 3 270M', shape: [640, 18, 2048, 4, 1] },
  { architectures: ['Gemma3ForCausalLM'], family: 'gemma3', module: 'gemma3', builder: 'build_model_1b', script: 'convert_gemma3_to_tflite', sizeFlag: '1b', label: 'Gemma 3 1B', shape: [1152, 26, 6912, 4, 1] },
  { architectures: ['PhiForCausalLM'], family: 'phi', module: 'phi2', builder: 'build_model', script: 'convert_to_tflite', sizeFlag: null, label: 'Phi-2', shape: [2560, 32, 10240, 32, 32] },
  { architectures: ['Phi3ForCausalLM'], family: 'phi', module: 'phi3', builder: 'build_model', script: 'convert_phi3_to_tflite', sizeFlag: null, label: 'Phi-3.5 mini', shape: [3072, 32, 8192, 32, 32] },
  { architectures: ['Phi3ForCausalLM'], family: 'phi', module: 'phi4', builder: 'build_model', script: 'convert_phi4_to_tflite', sizeFlag: null, label: 'Phi-4 mini', shape: [3072, 32, 8192, 24, 8] },
];

/** The dimensions the builder table is keyed on, as config.json gives them. */
export interface ModelDims {
  architectures: readonly string[];
  hiddenSize: number | null;
  numHiddenLayers: number | null;
  intermediateSize: number | null;
  numAttentionHeads: number | null;
  numKeyValueHeads: number | null;
}

export type BuilderMatch =
  | { ok: true; builder: ExampleBuilder }
  | { ok: false; reason: 'unsupported_architecture' | 'unsupported_model_size'; message: string; candidates: ExampleBuilder[] };

export function matchExampleBuilder(dims: ModelDims): BuilderMatch {
  const arch = dims.architectures[0] ?? 'unknown';
  const candidates = EXAMPLE_BUILDERS.filter((b) => b.architectures.includes(arch));
  if (candidates.length === 0) {
    return { ok: false, reason: 'unsupported_architecture', message: `The example route has no builder for the architecture ${arch}.`, candidates };
  }
  const kv = dims.numKeyValueHeads ?? dims.numAttentionHeads;
  const shape = [dims.hiddenSize, dims.numHiddenLayers, dims.intermediateSize, dims.numAttentionHeads, kv];
  const builder = candidates.find((b) => b.shape.every((value, i) => value === shape[i]));
  if (builder) return { ok: true, builder };
  return {
    ok: false,
    reason: 'unsupported_model_size',
    message: `This ${arch} model (hidden size ${dims.hiddenSize}, ${dims.numHiddenLayers} layers) matches no example builder (${candidates.map((b) => b.label).join(', ')}).`,
    candidates,
  };
}

/** Python's shlex.quote, so the TypeScript and Python commands are byte-identical. */
export function shellQuote(value: string): string {
  if (value === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

function join(parts: string[]): string {
  return parts.map(shellQuote).join(' ');
}

/** The default output prefix of the example route: <module>[_<size>]. */
export function defaultOutputPrefix(builder: ExampleBuilder): string {
  return builder.sizeFlag === null ? builder.module : `${builder.module}_${builder.sizeFlag.replaceAll('.', '_')}`;
}

type CommandParams = Pick<
  ConvertParams,
  'modelDir' | 'outDir' | 'route' | 'kvCacheMaxLen' | 'prefillSeqLens' | 'quantize' | 'outputNamePrefix' | 'lightweightConversion' | 'maskAsInput' | 'transposeKvCache'
>;

/**
 * The converter command a user could run by hand for these choices (paths
 * must be absolute, as the stage resolves them). The example route needs the
 * builder matched from config.json; export_hf does not.
 */
export function converterCommand(params: CommandParams & { outFile?: string | undefined }, builder: ExampleBuilder | null): string {
  const prefill = [...new Set(params.prefillSeqLens)].sort((a, b) => a - b);
  if (params.route === 'native') {
    const parts = ['workbench', 'convert', `--model=${params.modelDir}`];
    if (params.outFile) parts.push(`--out=${params.outFile}`);
    else parts.push(`--out-dir=${params.outDir}`, ...(params.outputNamePrefix ? [`--prefix=${params.outputNamePrefix}`] : []));
    parts.push(`--quant=${params.quantize}`, `--kv=${params.kvCacheMaxLen}`, `--prefill=${prefill.join(',')}`, `--kv-layout=${params.transposeKvCache ? 'transposed' : 'btnh'}`);
    return join(parts);
  }
  if (params.route === 'export_hf') {
    const recipe = EXPORT_HF_RECIPES[params.quantize];
    const parts = ['python', '-m', 'litert_torch.generative.export_hf', `--model=${params.modelDir}`, `--output_dir=${params.outDir}`];
    parts.push(`--prefill_lengths=[${prefill.join(',')}]`, `--cache_length=${params.kvCacheMaxLen}`);
    parts.push(`--quantization_recipe=${recipe ?? 'None'}`, '--bundle_litert_lm=True');
    if (params.lightweightConversion) parts.push('--experimental_lightweight_conversion=True');
    return join(parts);
  }
  if (!builder) throw new Error('The example route needs the model builder matched from config.json.');
  const parts = ['python', '-m', `ai_edge_torch.generative.examples.${builder.family}.${builder.script}`];
  if (builder.sizeFlag !== null) parts.push(`--model_size=${builder.sizeFlag}`);
  parts.push(
    `--checkpoint_path=${params.modelDir}`,
    `--output_path=${params.outDir}`,
    `--output_name_prefix=${params.outputNamePrefix ?? defaultOutputPrefix(builder)}`,
    ...prefill.map((n) => `--prefill_seq_lens=${n}`),
    `--kv_cache_max_len=${params.kvCacheMaxLen}`,
    `--quantize=${params.quantize}`,
    `--mask_as_input=${params.maskAsInput ? 'true' : 'false'}`,
    `--transpose_kv_cache=${params.transposeKvCache ? 'true' : 'false'}`,
  );
  return join(parts);
}
