/**
 * What the format readers report about a file, as zod schemas so the API,
 * the CLI (`workbench inspect --json`) and the renderer share one shape.
 * Every summary is header-only: sizes, types, shapes and metadata, never
 * weights. The readers live in main/core/formats/ (one module per format).
 *
 * Numbers that may exceed 2^53 (file offsets of multi-GB files stay far
 * below it, but u64 metadata values need not) are numbers when safe and
 * decimal strings otherwise.
 */
import { z } from 'zod';

/** Stable error codes the readers throw (as WorkbenchError.code). */
export const FormatErrorCode = {
  /** The path does not exist. */
  notFound: 'file_not_found',
  /** No reader recognises the file. */
  unknownFormat: 'unknown_format',
  /** The file ends before a structure it announces. */
  truncated: 'truncated_file',
  /** The file does not start with the magic bytes of the format. */
  badMagic: 'bad_magic',
  /** A header, flatbuffer or protobuf is internally inconsistent. */
  corrupt: 'corrupt_file',
  /** An offset or length points outside the file or its section. */
  outOfRange: 'offset_out_of_range',
  /** A declared header length is larger than any real header. */
  headerTooLarge: 'header_too_large',
  /** A version this reader does not understand. */
  unsupportedVersion: 'unsupported_version',
  /** A JSON file that does not parse or has the wrong shape. */
  badJson: 'bad_json',
  /** A zlib stream that does not inflate, or inflates to the wrong length. */
  badZlib: 'bad_zlib',
  /** A folder that does not look like a Hugging Face model folder. */
  notModelFolder: 'not_model_folder',
} as const;
export type FormatErrorCode = (typeof FormatErrorCode)[keyof typeof FormatErrorCode];

const int = z.number().int();
const count = z.number().int().nonnegative();
/** u64/i64 values: a number when it fits exactly, else a decimal string. */
const bigNumber = z.union([z.number(), z.string().regex(/^-?\d+$/)]);

// ---------------------------------------------------------------------------
// Tokenizers (shared by the HF folder and the .litertlm readers)

export const AddedToken = z.object({
  id: int,
  content: z.string(),
  special: z.boolean(),
});
export type AddedToken = z.infer<typeof AddedToken>;

export const HfTokenizerSummary = z.object({
  kind: z.literal('hf-json'),
  /** model.type: BPE, Unigram, WordPiece, WordLevel. */
  modelType: z.string().nullable(),
  /** Distinct token ids: the model vocabulary plus added tokens outside it. */
  vocabSize: count,
  /** Entries of model.vocab alone. */
  baseVocabSize: count,
  /** BPE merges; null for models without merges. */
  mergesCount: count.nullable(),
  /** Byte-level pre-tokenizer or decoder (GPT-2 / Qwen style). */
  byteLevel: z.boolean(),
  addedTokens: z.array(AddedToken),
  /** Size of the tokenizer.json text in bytes (inflated, for bundles). */
  sizeBytes: count,
  /** sha256 of the tokenizer.json bytes, hex. */
  sha256: z.string(),
});
export type HfTokenizerSummary = z.infer<typeof HfTokenizerSummary>;

export const SentencePieceSummary = z.object({
  kind: z.literal('sentencepiece'),
  /** trainer_spec.model_type: UNIGRAM, BPE, WORD, CHAR; null when absent. */
  modelType: z.string().nullable(),
  pieceCount: count,
  /** CONTROL and USER_DEFINED pieces with their ids (e.g. <bos>, <eos>). */
  specialPieces: z.array(AddedToken),
  sizeBytes: count,
  sha256: z.string(),
});
export type SentencePieceSummary = z.infer<typeof SentencePieceSummary>;

export const TokenizerSummary = z.discriminatedUnion('kind', [HfTokenizerSummary, SentencePieceSummary]);
export type TokenizerSummary = z.infer<typeof TokenizerSummary>;

// ---------------------------------------------------------------------------
// Hugging Face model folder

export const HfModelConfig = z.object({
  architectures: z.array(z.string()),
  modelType: z.string().nullable(),
  hiddenSize: int.nullable(),
  numHiddenLayers: int.nullable(),
  numAttentionHeads: int.nullable(),
  numKeyValueHeads: int.nullable(),
  headDim: int.nullable(),
  intermediateSize: int.nullable(),
  vocabSize: int.nullable(),
  maxPositionEmbeddings: int.nullable(),
  torchDtype: z.string().nullable(),
  tieWordEmbeddings: z.boolean().nullable(),
  bosTokenId: int.nullable(),
  /** eos_token_id normalised to a list (int or list in the file). */
  eosTokenIds: z.array(int),
  /** The fields above were read from a nested text_config (multimodal models). */
  fromTextConfig: z.boolean(),
});
export type HfModelConfig = z.infer<typeof HfModelConfig>;

export const HfGenerationConfig = z.object({
  /** eos_token_id normalised to a list (int or list in the file). */
  eosTokenIds: z.array(int),
  bosTokenId: int.nullable(),
  padTokenId: int.nullable(),
  doSample: z.boolean().nullable(),
  temperature: z.number().nullable(),
  topK: int.nullable(),
  topP: z.number().nullable(),
  repetitionPenalty: z.number().nullable(),
  maxNewTokens: int.nullable(),
  maxLength: int.nullable(),
});
export type HfGenerationConfig = z.infer<typeof HfGenerationConfig>;

export const NamedChatTemplate = z.object({ name: z.string(), template: z.string() });
export type NamedChatTemplate = z.infer<typeof NamedChatTemplate>;

export const HfTokenizerConfig = z.object({
  tokenizerClass: z.string().nullable(),
  /** The default chat template ("default" of the named list, or the only one). */
  chatTemplate: z.string().nullable(),
  /** Every named template (the list form, e.g. default + tool_use); one entry "default" for the string form. */
  chatTemplates: z.array(NamedChatTemplate),
  /** Where the template came from: tokenizer_config.json or a separate chat_template.jinja / chat_template.json. */
  chatTemplateSource: z.enum(['tokenizer_config.json', 'chat_template.jinja', 'chat_template.json']).nullable(),
  bosToken: z.string().nullable(),
  eosToken: z.string().nullable(),
  padToken: z.string().nullable(),
  unkToken: z.string().nullable(),
  addBosToken: z.boolean().nullable(),
  addEosToken: z.boolean().nullable(),
  modelMaxLength: z.number().nullable(),
  /** added_tokens_decoder, sorted by id. */
  addedTokens: z.array(AddedToken),
});
export type HfTokenizerConfig = z.infer<typeof HfTokenizerConfig>;

export const WeightFile = z.object({ name: z.string(), sizeBytes: count });

export const HfWeights = z.object({
  format: z.enum(['safetensors', 'pytorch', 'none']),
  files: z.array(WeightFile),
  totalBytes: count,
  /** model.safetensors.index.json (or pytorch_model.bin.index.json) when sharded. */
  indexFile: z.string().nullable(),
});
export type HfWeights = z.infer<typeof HfWeights>;

/** A PEFT LoRA adapter folder: adapter_config.json and the adapter weights' header. */
export const LoraAdapterSummary = z.object({
  peftType: z.string().nullable(),
  baseModel: z.string().nullable(),
  r: z.number().nullable(),
  loraAlpha: z.number().nullable(),
  /** lora_alpha / r, or / √r with rsLoRA: what the update is multiplied by. */
  scale: z.number().nullable(),
  useRslora: z.boolean(),
  useDora: z.boolean(),
  /** A list of module names, or a regular expression. */
  targetModules: z.union([z.array(z.string()), z.string()]).nullable(),
  modulesToSave: z.array(z.string()),
  /** Per-module rank or alpha overrides present. */
  hasPatterns: z.boolean(),
  weightsFile: z.string().nullable(),
  tensorCount: count.nullable(),
  weightsBytes: count.nullable(),
});
export type LoraAdapterSummary = z.infer<typeof LoraAdapterSummary>;

export const HfFolderSummary = z.object({
  format: z.literal('hf-folder'),
  path: z.string(),
  config: HfModelConfig.nullable(),
  generationConfig: HfGenerationConfig.nullable(),
  /** tokenizer.json summary, or a SentencePiece tokenizer.model when there is no tokenizer.json. */
  tokenizer: TokenizerSummary.nullable(),
  tokenizerConfig: HfTokenizerConfig.nullable(),
  weights: HfWeights,
  /** Whether adapter_config.json is present (a PEFT adapter, not a full model). */
  isAdapter: z.boolean(),
  /** The adapter's settings and weights when it is one. */
  adapter: LoraAdapterSummary.nullable(),
  /** Things a user should know (missing files, inconsistencies), one sentence each. */
  warnings: z.array(z.string()),
});
export type HfFolderSummary = z.infer<typeof HfFolderSummary>;

// ---------------------------------------------------------------------------
// .tflite

export const TensorInfo = z.object({
  name: z.string(),
  /** TensorType name: FLOAT32, INT8, INT4, ... (or "TYPE_<n>" when unknown). */
  type: z.string(),
  shape: z.array(int),
  /** shape_signature when present (-1 = dynamic dimension). */
  shapeSignature: z.array(int).nullable(),
});
export type TensorInfo = z.infer<typeof TensorInfo>;

export const SignatureSummary = z.object({
  key: z.string(),
  subgraphIndex: count,
  inputs: z.array(TensorInfo),
  outputs: z.array(TensorInfo),
});
export type SignatureSummary = z.infer<typeof SignatureSummary>;

/**
 * Tensors grouped by element type. Constants are tensors backed by a
 * non-empty buffer (weights); constantCount/constantBytes count each buffer
 * once, since prefill and decode subgraphs share their weights.
 */
export const QuantizationEntry = z.object({
  type: z.string(),
  tensorCount: count,
  constantCount: count,
  /** Bytes of the constants of this type (from buffer sizes). */
  constantBytes: count,
  /** Tensors carrying quantization parameters (scale / zero point). */
  quantizedCount: count,
});
export type QuantizationEntry = z.infer<typeof QuantizationEntry>;

export const OpCount = z.object({ op: z.string(), count: count });

export const QuantScheme = z.enum([
  'float32',
  'float16',
  'dynamic_int8',
  'dynamic_int4',
  'weight_only_int8',
  'static_int8',
  'mixed',
  'unknown',
]);
export type QuantScheme = z.infer<typeof QuantScheme>;

export const TfliteSummary = z.object({
  format: z.literal('tflite'),
  path: z.string(),
  /** Where the model starts in `path` (non-zero when embedded in a .litertlm). */
  baseOffset: count,
  sizeBytes: count,
  schemaVersion: count,
  description: z.string().nullable(),
  subgraphCount: count,
  tensorCount: count,
  operatorCount: count,
  signatures: z.array(SignatureSummary),
  quantization: z.array(QuantizationEntry),
  /** Operator histogram over all subgraphs, most frequent first. */
  ops: z.array(OpCount),
  buffers: z.object({
    count: count,
    /** Bytes of buffer data stored inside the flatbuffer. */
    inlineBytes: count,
    /** Buffers stored after the flatbuffer (Buffer.offset/size, models > 2 GB). */
    externalCount: count,
    externalBytes: count,
    /** Bytes of the flatbuffer itself (the whole model when nothing is external). */
    flatbufferBytes: count,
  }),
  /** Model.metadata names (e.g. min_runtime_version, odml.infra.proto.LlmParameters). */
  metadataNames: z.array(z.string()),
  derived: z.object({
    /** From the kv_cache_k_<i>/kv_cache_v_<i> inputs; null when the model has none. */
    kvCacheMaxLen: int.nullable(),
    kvCacheLayers: count,
    /** From prefill_<N> signatures (or their token input length). */
    prefillLengths: z.array(int),
    hasDecodeSignature: z.boolean(),
    quantScheme: QuantScheme,
    /** One sentence saying how the scheme was inferred. */
    quantEvidence: z.string(),
  }),
});
export type TfliteSummary = z.infer<typeof TfliteSummary>;

// ---------------------------------------------------------------------------
// LlmMetadata (runtime/proto/llm_metadata.proto) in the protobuf JSON mapping:
// camelCase field names, enum names as strings, oneofs as the set member.

export const TokenUnionJson = z.union([
  z.object({ tokenIds: z.object({ ids: z.array(int) }) }),
  z.object({ tokenStr: z.string() }),
]);
export type TokenUnionJson = z.infer<typeof TokenUnionJson>;

export const PromptAffixesJson = z.object({ prefix: z.string().optional(), suffix: z.string().optional() });

export const SamplerType = z.enum(['TYPE_UNSPECIFIED', 'TOP_K', 'TOP_P', 'GREEDY']);
export type SamplerType = z.infer<typeof SamplerType>;

export const SamplerParamsJson = z.object({
  type: SamplerType.optional(),
  k: int.optional(),
  p: z.number().optional(),
  temperature: z.number().optional(),
  seed: int.optional(),
  backend: z.enum(['UNSPECIFIED', 'CPU', 'GPU']).optional(),
  computeExactLogProbs: z.boolean().optional(),
});
export type SamplerParamsJson = z.infer<typeof SamplerParamsJson>;

/** The llm_model_type oneof members this version of the schema knows. */
export const LlmModelTypeName = z.enum(['genericModel', 'gemma3n', 'functionGemma', 'gemma3', 'qwen3', 'qwen2p5', 'gemma4', 'fastVlm']);
export type LlmModelTypeName = z.infer<typeof LlmModelTypeName>;

export const LlmMetadataJson = z
  .object({
    startToken: TokenUnionJson.optional(),
    stopTokens: z.array(TokenUnionJson).optional(),
    promptTemplates: z
      .object({ user: PromptAffixesJson.optional(), model: PromptAffixesJson.optional(), system: PromptAffixesJson.optional() })
      .optional(),
    samplerParams: SamplerParamsJson.optional(),
    maxNumTokens: int.optional(),
    /** One key: the model kind, with its options object (often empty). */
    llmModelType: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    jinjaPromptTemplate: z.string().optional(),
    channels: z
      .array(z.object({ channelName: z.string().optional(), start: z.string().optional(), end: z.string().optional(), isReasoningChannel: z.boolean().optional() }))
      .optional(),
    suppressTokens: z.object({ ids: z.array(int) }).optional(),
    kvCacheInitValue: bigNumber.optional(),
    supportsThinking: z.boolean().optional(),
    supportsFunctionCalling: z.boolean().optional(),
    padToken: TokenUnionJson.optional(),
    minRuntimeVersion: z.string().optional(),
  })
  .strict();
export type LlmMetadataJson = z.infer<typeof LlmMetadataJson>;

// ---------------------------------------------------------------------------
// .litertlm

export const KeyValue = z.object({
  key: z.string(),
  /** VData member: uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64, int64, double. */
  type: z.string(),
  value: z.union([z.number(), z.string(), z.boolean()]),
});
export type KeyValue = z.infer<typeof KeyValue>;

export const SectionContent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tflite'), tflite: TfliteSummary }),
  z.object({ kind: z.literal('tokenizer'), tokenizer: TokenizerSummary }),
  z.object({ kind: z.literal('llm-metadata'), metadata: LlmMetadataJson }),
  /** Generic or not-yet-understood payloads. */
  z.object({ kind: z.literal('opaque') }),
  /** The header is fine but this section's payload is not (bad zlib, garbage protobuf, ...). */
  z.object({ kind: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type SectionContent = z.infer<typeof SectionContent>;

export const SectionSummary = z.object({
  index: count,
  dataType: count,
  /** AnySectionDataType name: TFLiteModel, SP_Tokenizer, LlmMetadataProto, HF_Tokenizer_Zlib, ... */
  dataTypeName: z.string(),
  beginOffset: count,
  endOffset: count,
  sizeBytes: count,
  items: z.array(KeyValue),
  /** begin_offset is a multiple of 16 KiB, as the format requires. */
  aligned: z.boolean(),
  content: SectionContent,
});
export type SectionSummary = z.infer<typeof SectionSummary>;

export const LitertlmSummary = z.object({
  format: z.literal('litertlm'),
  path: z.string(),
  sizeBytes: count,
  version: z.object({ major: count, minor: count, patch: count }),
  headerEnd: count,
  /**
   * How numeric VData values are stored: flatbuffer structs (1.0/1.1 writers),
   * tables (newer writers), or "none" when the header has no numeric values.
   */
  numericEncoding: z.enum(['struct', 'table', 'none']),
  systemMetadata: z.array(KeyValue),
  sections: z.array(SectionSummary),
  /** Things a user should know (misaligned sections, section errors), one sentence each. */
  warnings: z.array(z.string()),
});
export type LitertlmSummary = z.infer<typeof LitertlmSummary>;

// ---------------------------------------------------------------------------

export const InspectionSummary = z.discriminatedUnion('format', [TfliteSummary, LitertlmSummary, HfFolderSummary]);
export type InspectionSummary = z.infer<typeof InspectionSummary>;
export type FormatKind = InspectionSummary['format'];
