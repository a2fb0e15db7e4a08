/**
 * What model intake (wizard step 1) finds in a base model folder and an
 * optional LoRA adapter folder — read from config.json, adapter_config.json
 * and safetensors headers only, never the weights — and the problems, each in
 * plain words with what to do.
 */
import { z } from 'zod';
import { ConvertRoute } from './stages/convert.js';

export const IntakeRequest = z.object({
  /** HF model folder: the base model, or an already merged model. */
  modelDir: z.string().min(1),
  /** PEFT LoRA adapter folder to merge into the base first. */
  adapterDir: z.string().min(1).optional(),
  route: ConvertRoute.default('example'),
});
export type IntakeRequest = z.infer<typeof IntakeRequest>;

export const IntakeProblem = z.object({
  severity: z.enum(['error', 'warn']),
  /** Stable code for tests and the UI. */
  code: z.string(),
  message: z.string(),
  /** What to do about it, one sentence. */
  fix: z.string(),
});
export type IntakeProblem = z.infer<typeof IntakeProblem>;

export const RouteSupport = z.object({
  supported: z.boolean(),
  /** The converter builder that will be used (example route), e.g. "Qwen2.5 1.5B". */
  builder: z.string().nullable(),
  message: z.string(),
});

export const ModelIntake = z.object({
  path: z.string(),
  architecture: z.string().nullable(),
  modelType: z.string().nullable(),
  support: z.object({ native: RouteSupport, example: RouteSupport, export_hf: RouteSupport }),
  dims: z.object({
    hiddenSize: z.number().nullable(),
    numHiddenLayers: z.number().nullable(),
    intermediateSize: z.number().nullable(),
    numAttentionHeads: z.number().nullable(),
    numKeyValueHeads: z.number().nullable(),
    vocabSize: z.number().nullable(),
    maxPositionEmbeddings: z.number().nullable(),
  }),
  /** Elements over all tensors in the safetensors headers; null without readable weights. */
  parameterCount: z.number().nullable(),
  /** Estimate from config.json alone (for comparison, or when weights are missing). */
  parameterCountFromConfig: z.number().nullable(),
  /** torch_dtype in config.json. */
  configDtype: z.string().nullable(),
  /** Tensor dtypes found in the headers, most frequent first. */
  tensorDtypes: z.array(z.string()),
  weightFormat: z.enum(['safetensors', 'pytorch', 'none']),
  weightFiles: z.number(),
  sizeOnDiskBytes: z.number(),
  tokenizerFiles: z.array(z.string()),
  chatTemplate: z.object({ present: z.boolean(), source: z.string().nullable() }),
  /** The checkpoint holds lora_* tensors (an unmerged PEFT save). */
  hasLoraTensors: z.boolean(),
});
export type ModelIntake = z.infer<typeof ModelIntake>;

export const AdapterIntake = z.object({
  path: z.string(),
  peftType: z.string().nullable(),
  rank: z.number().nullable(),
  alpha: z.number().nullable(),
  useRslora: z.boolean(),
  /** Per-module ranks differ from `rank` (rank_pattern). */
  hasRankPattern: z.boolean(),
  targetModules: z.array(z.string()),
  baseModelNameOrPath: z.string().nullable(),
  /** Does the adapter name the chosen base? unknown when it names nothing comparable. */
  baseNameMatches: z.enum(['yes', 'no', 'unknown']),
  loraModules: z.number(),
  /** LoRA pairs whose shapes fit the chosen base's weights. */
  shapesChecked: z.number(),
  shapeMismatches: z.array(z.object({ module: z.string(), expected: z.string(), actual: z.string() })),
  modulesMissingInBase: z.array(z.string()),
});
export type AdapterIntake = z.infer<typeof AdapterIntake>;

export const IntakeResult = z.object({
  model: ModelIntake.nullable(),
  adapter: AdapterIntake.nullable(),
  problems: z.array(IntakeProblem),
  /** No error-level problem: the wizard may go on. */
  ready: z.boolean(),
});
export type IntakeResult = z.infer<typeof IntakeResult>;
