/**
 * Parameters of the conversion stage: the workbench's own native converter
 * (main/core/nativeConvert, a Node stage) or Python, AI Edge Torch / LiteRT
 * Torch (python-env/stages/convert.py). Owned by the conversion capability;
 * the option-to-converter mapping for each route is in docs/conversion.md, and
 * the same rules are enforced again by the stage before it converts.
 */
import { z } from 'zod';

/**
 * native: the workbench's streaming converter (Qwen2/2.5, Qwen3, Llama 3; .tflite out, bounded memory);
 * example: AI Edge Torch 0.7.x generative example builders (.tflite out);
 * export_hf: LiteRT Torch 0.10.x export_hf (HF folder in, .litertlm out).
 */
export const ConvertRoute = z.enum(['native', 'example', 'export_hf']);
export type ConvertRoute = z.infer<typeof ConvertRoute>;

/** The routes that run a Python converter, so need the bootstrapped environment (native needs none). */
export const PythonRoute = z.enum(['example', 'export_hf']);
export type PythonRoute = z.infer<typeof PythonRoute>;

export const Quantization = z.enum([
  'none',
  'dynamic_int8',
  'weight_only_int8',
  'fp16',
  'dynamic_int4_block32',
  'dynamic_int4_block128',
]);
export type Quantization = z.infer<typeof Quantization>;

/** The converter's own default prefill lengths (generative/utilities/converter.py). */
export const DEFAULT_PREFILL_SEQ_LENS = [8, 64, 128, 256, 512, 1024] as const;

/**
 * ai_edge_quantizer recipe names export_hf looks up for each choice; fp16 and
 * int4 block-128 have none, so they are refused on that route.
 */
export const EXPORT_HF_RECIPES: Partial<Record<Quantization, string | null>> = {
  none: null,
  dynamic_int8: 'dynamic_wi8_afp32',
  weight_only_int8: 'weight_only_wi8_afp32',
  dynamic_int4_block32: 'dynamic_wi4b32_afp32',
};

/** File-name suffix the example route's converter uses (create_quantize_suffix). */
export const QUANT_SUFFIX: Record<Quantization, string> = {
  none: 'f32',
  dynamic_int8: 'q8',
  weight_only_int8: 'q8_wo',
  fp16: 'fp16',
  dynamic_int4_block32: 'q4_block32',
  dynamic_int4_block128: 'q4_block128',
};

/** What the native route builds: all of litert-torch's recipes (int4 blockwise as ai-edge-quantizer writes it). */
export const NATIVE_QUANTIZATIONS: readonly Quantization[] = ['none', 'fp16', 'dynamic_int8', 'weight_only_int8', 'dynamic_int4_block32', 'dynamic_int4_block128'];

/** The native route's output file name, the example scripts' pattern: <prefix>_<quant>_ekv<kv>.tflite. */
export function nativeTfliteName(prefix: string, quantize: Quantization, kvCacheMaxLen: number): string {
  return `${prefix}_${QUANT_SUFFIX[quantize]}_ekv${kvCacheMaxLen}.tflite`;
}

/** Each prefill length becomes a signature the converter builds; more than this is refused. */
export const MAX_PREFILL_LENGTHS = 16;

/** ConvertParams' fields before the cross-field rules (kept apart so ConvertOptions can reuse them). */
const ConvertParamsFields = z.object({
  /** HF model folder (merged when the run starts from base + LoRA). */
  modelDir: z.string().min(1),
  outDir: z.string().min(1),
  route: ConvertRoute.default('example'),
  /** Context length: KV-cache entries (prompt + answer) the model can hold. */
  kvCacheMaxLen: z.number().int().min(16).max(262_144).default(4096),
  /** One prefill signature per length; a prompt is fed in chunks of these sizes. */
  prefillSeqLens: z.array(z.number().int().min(1).max(262_144)).min(1).max(MAX_PREFILL_LENGTHS).default([...DEFAULT_PREFILL_SEQ_LENS]),
  quantize: Quantization.default('dynamic_int8'),
  /** File name prefix (no folders); default <module>_<size>, e.g. qwen_1_5b. */
  outputNamePrefix: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^/\\]+$/, 'a file name prefix without folders')
    .optional(),
  /** export_hf only: the converter's experimental low-memory path. */
  lightweightConversion: z.boolean().default(false),
  /** example only: pass the causal mask as an input instead of baking a kv×kv buffer in. */
  maskAsInput: z.boolean().default(false),
  /** example and native: KV cache in the transposed layout (K [1,G,S,H], V [1,G,H,S]) instead of [1,S,G,H]. */
  transposeKvCache: z.boolean().default(false),
  /** native only: the exact output file (absolute, .tflite) instead of <outDir>/<prefix>_<quant>_ekv<kv>.tflite. */
  outFile: z
    .string()
    .regex(/\.tflite$/i, 'a path ending in .tflite')
    .optional(),
});

/** What the cross-field rules look at: every option except the folders and the file name. */
export interface ConvertChoices {
  route: ConvertRoute;
  kvCacheMaxLen: number;
  prefillSeqLens: readonly number[];
  quantize: Quantization;
  lightweightConversion: boolean;
  maskAsInput: boolean;
  transposeKvCache: boolean;
}

export interface ConvertOptionProblem {
  field: keyof ConvertChoices;
  /** One sentence naming what is refused. */
  message: string;
}

/**
 * The combinations the converter cannot build, one sentence each. One
 * function so a run, `workbench estimate` and the memory suggestions refuse
 * exactly the same things (the Python stage repeats them independently).
 */
export function convertOptionProblems(p: ConvertChoices): ConvertOptionProblem[] {
  const problems: ConvertOptionProblem[] = [];
  const longest = Math.max(...p.prefillSeqLens);
  if (longest > p.kvCacheMaxLen) {
    problems.push({ field: 'prefillSeqLens', message: `The longest prefill length (${longest}) exceeds the context length (${p.kvCacheMaxLen}).` });
  }
  if ((p.route === 'example' || p.route === 'native') && p.lightweightConversion) {
    problems.push({ field: 'lightweightConversion', message: 'Lightweight conversion exists only on the export_hf route.' });
  }
  if (p.route === 'native' && !NATIVE_QUANTIZATIONS.includes(p.quantize)) {
    problems.push({ field: 'quantize', message: `The native route does not build ${p.quantize} yet (it builds ${NATIVE_QUANTIZATIONS.join(', ')}); choose one of those or the example route.` });
  }
  if (p.route === 'export_hf') {
    if (!(p.quantize in EXPORT_HF_RECIPES)) {
      problems.push({ field: 'quantize', message: `The export_hf route has no quantization recipe matching ${p.quantize}.` });
    }
    if (p.maskAsInput) problems.push({ field: 'maskAsInput', message: 'Mask-as-input is an option of the example route only.' });
    if (p.transposeKvCache) problems.push({ field: 'transposeKvCache', message: 'Transposed KV cache is an option of the example route only.' });
  }
  return problems;
}

function refineConvertOptions(p: ConvertChoices, ctx: z.RefinementCtx): void {
  for (const problem of convertOptionProblems(p)) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
}

export const ConvertParams = ConvertParamsFields.superRefine((p, ctx) => {
  refineConvertOptions(p, ctx);
  if (p.outFile !== undefined && p.route !== 'native') {
    ctx.addIssue({ code: 'custom', path: ['outFile'], message: 'An exact output file is an option of the native route; the Python routes name their output themselves.' });
  }
});
export type ConvertParams = z.infer<typeof ConvertParams>;
export type ConvertParamsInput = z.input<typeof ConvertParams>;

/**
 * The conversion options without the folders, under the same field bounds
 * and rules as ConvertParams: what `workbench estimate` validates, so it
 * refuses every setting a run would refuse.
 */
export const ConvertOptions = ConvertParamsFields.omit({ modelDir: true, outDir: true, outputNamePrefix: true, outFile: true }).superRefine(refineConvertOptions);
export type ConvertOptions = z.infer<typeof ConvertOptions>;
