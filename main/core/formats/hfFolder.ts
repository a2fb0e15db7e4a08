/**
 * Reader for a Hugging Face model folder: config.json, generation_config.json,
 * tokenizer.json, tokenizer_config.json (plus chat_template.jinja /
 * chat_template.json written by newer transformers) and the weight files.
 * It is the "intent" side of packaging and of the fidelity analyzer: what
 * the model says its BOS/EOS, chat template and sampling settings are.
 *
 * Public API (stable, used by model intake, the estimator, the packager and
 * the analyzer):
 *   - `hfFolderFormat`          the FormatReader (match / open)
 *   - `readHfFolder(dir)`       → HfFolderSummary (serialisable)
 *   - `readHfTokenizerJson(dir)`→ tokenizer.json bytes + parsed JSON, or null
 *   - `tokenIdOf(summary, str)` → the id of a special/added token string
 * Each file is optional; a file that exists but does not parse is an error
 * (bad_json) naming the file, never silently ignored.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FormatErrorCode } from '../../common/formats.js';
import type {
  AddedToken,
  HfFolderSummary,
  HfGenerationConfig,
  HfModelConfig,
  HfTokenizerConfig,
  HfWeights,
  LoraAdapterSummary,
  NamedChatTemplate,
  TokenizerSummary,
} from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile, SMALL_FILE_LIMIT_BYTES } from '../files/regularFile.js';
import { parseHfTokenizer } from './hfTokenizer.js';
import type { ParsedHfTokenizer } from './hfTokenizer.js';
import { notFound } from './reader.js';
import type { FormatReader, PathProbe } from './reader.js';
import { parseSentencePiece } from './sentencepiece.js';
import { readSafetensorsHeader, readSafetensorsModel } from '../safetensors/header.js';

/** Files whose presence makes a folder an HF model (or tokenizer) folder. */
const MARKER_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'adapter_config.json'];

export const hfFolderFormat: FormatReader<HfFolderSummary> = {
  format: 'hf-folder',
  match(probe: PathProbe): boolean {
    return probe.isDirectory && probe.entries.some((name) => MARKER_FILES.includes(name));
  },
  open: readHfFolder,
};

export async function readHfFolder(dir: string): Promise<HfFolderSummary> {
  const entries = await listFolder(dir);
  if (!entries.some((name) => MARKER_FILES.includes(name))) {
    throw new WorkbenchError(
      FormatErrorCode.notModelFolder,
      `${dir} is not a Hugging Face model folder (none of ${MARKER_FILES.join(', ')} is there).`,
      { path: dir },
    );
  }
  const warnings: string[] = [];
  const has = (name: string): boolean => entries.includes(name);

  const configJson = has('config.json') ? await readJsonObject(dir, 'config.json') : null;
  const config = configJson ? modelConfigFrom(configJson) : null;

  const generationJson = has('generation_config.json') ? await readJsonObject(dir, 'generation_config.json') : null;
  const generationConfig = generationJson ? generationConfigFrom(generationJson) : null;

  let tokenizer: TokenizerSummary | null = null;
  if (has('tokenizer.json')) {
    tokenizer = (await readHfTokenizerJson(dir))?.summary ?? null;
  } else if (has('tokenizer.model')) {
    tokenizer = parseSentencePiece(await readRegularFile(path.join(dir, 'tokenizer.model')), `tokenizer.model in ${dir}`);
  }

  const tokenizerConfig = await tokenizerConfigFrom(dir, entries);
  const weights = await weightsOf(dir, entries);
  const isAdapter = has('adapter_config.json');
  const adapter = isAdapter ? await adapterOf(dir, entries) : null;

  if (!isAdapter) {
    if (!config) warnings.push('config.json is missing, so the architecture and sizes are unknown.');
    if (!generationConfig) warnings.push('generation_config.json is missing, so the sampling settings and EOS ids the model was released with are unknown.');
    if (!tokenizer) warnings.push('Neither tokenizer.json nor tokenizer.model is present.');
    if (!tokenizerConfig?.chatTemplate) warnings.push('No chat template was found (tokenizer_config.json, chat_template.jinja or chat_template.json).');
    if (weights.format === 'none') warnings.push('No weight files (*.safetensors or pytorch_model*.bin) are present.');
    // The headers, as intake and the merge read them: a truncated or garbage file must not look fine.
    if (weights.format === 'safetensors') {
      const damaged = await readSafetensorsModel(dir).then(
        () => null,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      if (damaged) warnings.push(`The weights cannot be read: ${damaged}`);
    }
  }
  if (config) warnings.push(...impossibleConfig(config));
  if (config && generationConfig && config.eosTokenIds.length > 0 && generationConfig.eosTokenIds.length > 0) {
    const missing = config.eosTokenIds.filter((id) => !generationConfig.eosTokenIds.includes(id));
    if (missing.length > 0) {
      warnings.push(`config.json lists EOS id(s) ${missing.join(', ')} that generation_config.json does not; generation stops on generation_config's list.`);
    }
  }
  if (tokenizer?.kind === 'hf-json' && tokenizerConfig) {
    const mismatched = tokenizerConfig.addedTokens.filter((t) => {
      const inTokenizer = tokenizer.addedTokens.find((a) => a.id === t.id);
      return inTokenizer !== undefined && inTokenizer.content !== t.content;
    });
    if (mismatched.length > 0) {
      warnings.push(`tokenizer_config.json and tokenizer.json disagree on added token(s) ${mismatched.map((t) => t.id).join(', ')}.`);
    }
  }

  if (adapter?.useDora) warnings.push('This adapter uses DoRA (use_dora), which the workbench merge does not support; merge it with PEFT instead.');
  if (isAdapter && !adapter?.weightsFile) warnings.push('adapter_config.json is here but adapter_model.safetensors is not; the merge needs the adapter weights in safetensors form.');
  return { format: 'hf-folder', path: dir, config, generationConfig, tokenizer, tokenizerConfig, weights, isAdapter, adapter, warnings };
}

/** tokenizer.json of a model folder, parsed and summarised; null when the folder has none. */
export async function readHfTokenizerJson(dir: string): Promise<(ParsedHfTokenizer & { bytes: Uint8Array }) | null> {
  const file = path.join(dir, 'tokenizer.json');
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw notFound(file, error);
  }
  return { ...parseHfTokenizer(bytes, `tokenizer.json in ${dir}`), bytes };
}

/**
 * The id of a token string, looked up in the tokenizer's added tokens, then
 * tokenizer_config's added_tokens_decoder (special tokens are always added
 * tokens in HF tokenizers). Null when neither knows it.
 */
export function tokenIdOf(summary: Pick<HfFolderSummary, 'tokenizer' | 'tokenizerConfig'>, content: string): number | null {
  const lists: AddedToken[][] = [];
  if (summary.tokenizer?.kind === 'hf-json') lists.push(summary.tokenizer.addedTokens);
  if (summary.tokenizer?.kind === 'sentencepiece') lists.push(summary.tokenizer.specialPieces);
  if (summary.tokenizerConfig) lists.push(summary.tokenizerConfig.addedTokens);
  for (const list of lists) {
    const hit = list.find((t) => t.content === content);
    if (hit) return hit.id;
  }
  return null;
}

// ---------------------------------------------------------------------------

async function listFolder(dir: string): Promise<string[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw notFound(dir, error);
  }
  if (!info.isDirectory()) {
    throw new WorkbenchError(FormatErrorCode.notModelFolder, `${dir} is a file, not a Hugging Face model folder.`, { path: dir });
  }
  return readdir(dir);
}

type Json = Record<string, unknown>;

async function readJsonObject(dir: string, name: string): Promise<Json> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await readRegularFile(file, 'utf8', { maxBytes: SMALL_FILE_LIMIT_BYTES, what: `a ${name}` });
  } catch (error) {
    throw notFound(file, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WorkbenchError(FormatErrorCode.badJson, `${name} in ${dir} is not valid JSON (${(error as Error).message}).`, { path: file });
  }
  if (!isObject(value)) {
    throw new WorkbenchError(FormatErrorCode.badJson, `${name} in ${dir} must hold a JSON object.`, { path: file });
  }
  return value;
}

/** Sizes config.json states that no model can have (a negative layer count, zero heads, …), one sentence each. */
export function impossibleConfig(config: HfModelConfig): string[] {
  const sizes: [keyof HfModelConfig, string][] = [
    ['hiddenSize', 'hidden_size'],
    ['numHiddenLayers', 'num_hidden_layers'],
    ['numAttentionHeads', 'num_attention_heads'],
    ['numKeyValueHeads', 'num_key_value_heads'],
    ['headDim', 'head_dim'],
    ['intermediateSize', 'intermediate_size'],
    ['vocabSize', 'vocab_size'],
    ['maxPositionEmbeddings', 'max_position_embeddings'],
  ];
  const problems: string[] = [];
  for (const [field, key] of sizes) {
    const value = config[field];
    if (typeof value === 'number' && value < 1) problems.push(`config.json gives ${key} as ${value}, which no model can have (it must be a positive whole number); the file is damaged or hand-edited.`);
  }
  const { numAttentionHeads: heads, numKeyValueHeads: kvHeads } = config;
  if (heads !== null && kvHeads !== null && heads > 0 && kvHeads > 0 && heads % kvHeads !== 0) {
    problems.push(`config.json gives ${heads} attention heads and ${kvHeads} KV heads, which do not divide: no model has that shape.`);
  }
  return problems;
}

function modelConfigFrom(json: Json): HfModelConfig {
  // Multimodal configs (Gemma 3, Qwen2-VL, ...) keep the language model's
  // sizes in text_config; the top level wins where both define a field.
  const text = isObject(json.text_config) ? json.text_config : null;
  const pick = (key: string): unknown => (json[key] !== undefined ? json[key] : text?.[key]);
  const fromTextConfig = text !== null && ['hidden_size', 'num_hidden_layers'].some((k) => json[k] === undefined && text[k] !== undefined);
  return {
    architectures: Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [],
    modelType: str(json.model_type),
    hiddenSize: intOrNull(pick('hidden_size')),
    numHiddenLayers: intOrNull(pick('num_hidden_layers')),
    numAttentionHeads: intOrNull(pick('num_attention_heads')),
    numKeyValueHeads: intOrNull(pick('num_key_value_heads')),
    headDim: intOrNull(pick('head_dim')),
    intermediateSize: intOrNull(pick('intermediate_size')),
    vocabSize: intOrNull(pick('vocab_size')),
    maxPositionEmbeddings: intOrNull(pick('max_position_embeddings')),
    torchDtype: str(json.torch_dtype) ?? str(json.dtype) ?? str(text?.torch_dtype),
    tieWordEmbeddings: bool(pick('tie_word_embeddings')),
    bosTokenId: intOrNull(pick('bos_token_id')),
    eosTokenIds: idList(pick('eos_token_id')),
    fromTextConfig,
  };
}

function generationConfigFrom(json: Json): HfGenerationConfig {
  return {
    eosTokenIds: idList(json.eos_token_id),
    bosTokenId: intOrNull(json.bos_token_id),
    padTokenId: intOrNull(Array.isArray(json.pad_token_id) ? json.pad_token_id[0] : json.pad_token_id),
    doSample: bool(json.do_sample),
    temperature: num(json.temperature),
    topK: intOrNull(json.top_k),
    topP: num(json.top_p),
    repetitionPenalty: num(json.repetition_penalty),
    maxNewTokens: intOrNull(json.max_new_tokens),
    maxLength: intOrNull(json.max_length),
  };
}

async function tokenizerConfigFrom(dir: string, entries: string[]): Promise<HfTokenizerConfig | null> {
  const json = entries.includes('tokenizer_config.json') ? await readJsonObject(dir, 'tokenizer_config.json') : null;
  let chatTemplates: NamedChatTemplate[] = json ? namedTemplates(json.chat_template) : [];
  let chatTemplateSource: HfTokenizerConfig['chatTemplateSource'] = chatTemplates.length > 0 ? 'tokenizer_config.json' : null;
  // transformers >= 4.43 saves the template beside the config instead of inside it.
  if (chatTemplates.length === 0 && entries.includes('chat_template.jinja')) {
    chatTemplates = [{ name: 'default', template: await readRegularFile(path.join(dir, 'chat_template.jinja'), 'utf8') }];
    chatTemplateSource = 'chat_template.jinja';
  } else if (chatTemplates.length === 0 && entries.includes('chat_template.json')) {
    chatTemplates = namedTemplates((await readJsonObject(dir, 'chat_template.json')).chat_template);
    if (chatTemplates.length > 0) chatTemplateSource = 'chat_template.json';
  }
  if (!json && chatTemplates.length === 0) return null;

  const addedTokens: AddedToken[] = [];
  const decoder = json?.added_tokens_decoder;
  if (isObject(decoder)) {
    for (const [id, token] of Object.entries(decoder)) {
      const numericId = Number(id);
      if (!Number.isInteger(numericId) || !isObject(token) || typeof token.content !== 'string') continue;
      addedTokens.push({ id: numericId, content: token.content, special: token.special === true });
    }
    addedTokens.sort((a, b) => a.id - b.id);
  }
  const defaultTemplate = chatTemplates.find((t) => t.name === 'default') ?? chatTemplates[0] ?? null;
  return {
    tokenizerClass: str(json?.tokenizer_class),
    chatTemplate: defaultTemplate?.template ?? null,
    chatTemplates,
    chatTemplateSource,
    bosToken: tokenString(json?.bos_token),
    eosToken: tokenString(json?.eos_token),
    padToken: tokenString(json?.pad_token),
    unkToken: tokenString(json?.unk_token),
    addBosToken: bool(json?.add_bos_token),
    addEosToken: bool(json?.add_eos_token),
    modelMaxLength: num(json?.model_max_length),
    addedTokens,
  };
}

/** chat_template is a string, or a list of {name, template} (e.g. default + tool_use). */
function namedTemplates(value: unknown): NamedChatTemplate[] {
  if (typeof value === 'string') return value.length > 0 ? [{ name: 'default', template: value }] : [];
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) =>
    isObject(entry) && typeof entry.name === 'string' && typeof entry.template === 'string' ? [{ name: entry.name, template: entry.template }] : [],
  );
}

/** Special tokens are a string or an AddedToken object {content, ...} (older saves). */
function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return null;
}

async function weightsOf(dir: string, entries: string[]): Promise<HfWeights> {
  const safetensors = entries.filter((n) => n.endsWith('.safetensors') && !n.startsWith('adapter_')).sort();
  const pytorch = entries.filter((n) => /^pytorch_model.*\.bin$/.test(n)).sort();
  const format = safetensors.length > 0 ? 'safetensors' : pytorch.length > 0 ? 'pytorch' : 'none';
  const names = format === 'safetensors' ? safetensors : pytorch;
  const files = await Promise.all(names.map(async (name) => ({ name, sizeBytes: (await stat(path.join(dir, name))).size })));
  const indexName = format === 'safetensors' ? 'model.safetensors.index.json' : 'pytorch_model.bin.index.json';
  return {
    format,
    files,
    totalBytes: files.reduce((sum, f) => sum + f.sizeBytes, 0),
    indexFile: entries.includes(indexName) ? indexName : null,
  };
}

function idList(value: unknown): number[] {
  if (Number.isInteger(value)) return [value as number];
  if (Array.isArray(value)) return value.filter((v): v is number => Number.isInteger(v));
  return [];
}

function intOrNull(value: unknown): number | null {
  return Number.isInteger(value) ? (value as number) : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function bool(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a PEFT adapter folder holds, read loosely: Inspect shows any adapter,
 * including ones the merge refuses (DoRA, …); the merge reads the same file
 * strictly (main/core/merge/adapterConfig.ts).
 */
async function adapterOf(dir: string, entries: string[]): Promise<LoraAdapterSummary> {
  const json = await readJsonObject(dir, 'adapter_config.json');
  const r = num(json.r);
  const loraAlpha = num(json.lora_alpha);
  const useRslora = json.use_rslora === true;
  const targets = json.target_modules;
  const weightsFile = entries.includes('adapter_model.safetensors') ? 'adapter_model.safetensors' : null;
  let tensorCount: number | null = null;
  let weightsBytes: number | null = null;
  if (weightsFile) {
    const header = await readSafetensorsHeader(path.join(dir, weightsFile));
    tensorCount = header.tensors.length;
    weightsBytes = header.fileSize;
  }
  const isObjectWithKeys = (value: unknown) => typeof value === 'object' && value !== null && Object.keys(value).length > 0;
  return {
    peftType: str(json.peft_type),
    baseModel: str(json.base_model_name_or_path),
    r,
    loraAlpha,
    scale: r && loraAlpha !== null ? loraAlpha / (useRslora ? Math.sqrt(r) : r) : null,
    useRslora,
    useDora: json.use_dora === true,
    targetModules: Array.isArray(targets) ? targets.filter((t): t is string => typeof t === 'string') : typeof targets === 'string' ? targets : null,
    modulesToSave: Array.isArray(json.modules_to_save) ? json.modules_to_save.filter((m): m is string => typeof m === 'string') : [],
    hasPatterns: isObjectWithKeys(json.rank_pattern) || isObjectWithKeys(json.alpha_pattern),
    weightsFile,
    tensorCount,
    weightsBytes,
  };
}
