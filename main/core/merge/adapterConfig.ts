/**
 * adapter_config.json with the semantics huggingface/peft gives it, so the
 * native merge changes exactly the weights PEFT's merge_and_unload() changes
 * by exactly the same amount. Followed (peft main, 2026):
 *  - src/peft/tuners/lora/config.py     field names and defaults (r=8, lora_alpha=8, bias "none", …)
 *  - src/peft/tuners/lora/layer.py      scaling = lora_alpha / r, or / sqrt(r) with use_rslora
 *  - src/peft/tuners/lora/model.py      per-module r/alpha via get_pattern_key over rank_pattern / alpha_pattern
 *  - src/peft/utils/other.py            get_pattern_key: first key with re.match(rf"(.*\.)?({key})$", name);
 *                                       match_target_against_key: re.fullmatch for a string target_modules
 *  - src/peft/tuners/tuners_utils.py    check_target_module_exists: exclude_modules, modules_to_save
 *                                       exclusion, list targets by exact name or ".<target>" suffix,
 *                                       layers_to_transform / layers_pattern
 * Features whose merge needs more than W + s·BA are refused by name.
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile } from '../files/regularFile.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

export interface AdapterConfig {
  peftType: 'LORA';
  baseModelNameOrPath: string | null;
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  fanInFanOut: boolean;
  /** A list of module names/suffixes, a regex (string, full match), or null. */
  targetModules: string[] | string | null;
  excludeModules: string[] | string | null;
  modulesToSave: string[];
  bias: 'none' | 'all' | 'lora_only';
  loraBias: boolean;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  layersToTransform: number[] | null;
  layersPattern: string[] | null;
  /** Fields the file leaves out whose PEFT defaults were used ("r = 8", "lora_alpha = 8"): the merge says so. */
  defaultsUsed: string[];
  /** The file as read, for the run record. */
  raw: Record<string, unknown>;
}

function fail(code: string, message: string, details?: Record<string, unknown>): never {
  throw new WorkbenchError(code, message, details);
}

export async function readAdapterConfig(adapterDir: string): Promise<AdapterConfig> {
  const file = path.join(adapterDir, ADAPTER_CONFIG_FILE);
  let text: string;
  try {
    text = await readRegularFile(file, 'utf8');
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      fail('adapter_config_missing', `${adapterDir} has no ${ADAPTER_CONFIG_FILE}: it is not a PEFT adapter folder.`, { path: file });
    }
    fail('adapter_config_invalid', `Cannot read ${file}: ${(error as Error).message}`, { path: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail('adapter_config_invalid', `${file} is not valid JSON (${(error as Error).message}).`, { path: file });
  }
  return parseAdapterConfig(json, file);
}

/** Validates and normalises a parsed adapter_config.json (defaults as in LoraConfig). */
export function parseAdapterConfig(json: unknown, source = ADAPTER_CONFIG_FILE): AdapterConfig {
  const invalid = (why: string): never => fail('adapter_config_invalid', `${source}: ${why}.`, { path: source });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid('not a JSON object');
  const raw = json as Record<string, unknown>;
  const peftType = raw.peft_type ?? 'LORA';
  if (peftType !== 'LORA') {
    fail('adapter_unsupported', `The adapter is of type ${String(peftType)}; only LoRA adapters can be merged.`, { peftType });
  }
  const refuse = (field: string, what: string): void => {
    const value = raw[field];
    const set = value !== undefined && value !== null && value !== false && !(Array.isArray(value) && value.length === 0) && !(typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0);
    if (set) fail('adapter_unsupported', `The adapter uses ${what} (${field}), which the native merge does not support.`, { field });
  };
  refuse('use_dora', 'DoRA (weight-decomposed LoRA, needs the magnitude vector and column norms)');
  refuse('use_qalora', 'QALoRA');
  refuse('layer_replication', 'layer replication');
  refuse('target_parameters', 'LoRA on raw parameters (MoE experts)');
  refuse('trainable_token_indices', 'trainable tokens');
  refuse('alora_invocation_tokens', 'activated LoRA (aLoRA, which cannot be merged)');

  const positiveNumber = (field: string, fallback: number): number => {
    const value = raw[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) invalid(`${field} must be a positive number`);
    return value as number;
  };
  const r = positiveNumber('r', 8);
  if (!Number.isInteger(r)) invalid('r must be an integer');
  const loraAlpha = positiveNumber('lora_alpha', 8);
  const bool = (field: string): boolean => {
    const value = raw[field] ?? false;
    if (typeof value !== 'boolean') invalid(`${field} must be true or false`);
    return value as boolean;
  };
  const stringsOrRegex = (field: string): string[] | string | null => {
    const value = raw[field];
    if (value === undefined || value === null) return null;
    if (typeof value === 'string') {
      compilePythonRegex(value, field, source);
      return value;
    }
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    return invalid(`${field} must be a list of module names or a regular expression`);
  };
  const patternMap = (field: string, integer: boolean): Record<string, number> => {
    const value = raw[field] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`${field} must be an object`);
    const out: Record<string, number> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) invalid(`${field}.${key} must be a positive ${integer ? 'integer' : 'number'}`);
      compilePythonRegex(`(.*\\.)?(${key})$`, `${field} key "${key}"`, source);
      out[key] = v as number;
    }
    return out;
  };
  const bias = raw.bias ?? 'none';
  if (bias !== 'none' && bias !== 'all' && bias !== 'lora_only') invalid('bias must be "none", "all" or "lora_only"');
  const modulesToSave = raw.modules_to_save ?? [];
  if (!Array.isArray(modulesToSave) || !modulesToSave.every((m) => typeof m === 'string')) invalid('modules_to_save must be a list of module names');
  let layersToTransform: number[] | null = null;
  const ltt = raw.layers_to_transform;
  if (typeof ltt === 'number') layersToTransform = [ltt];
  else if (Array.isArray(ltt) && ltt.every((n) => Number.isInteger(n))) layersToTransform = ltt.length > 0 ? (ltt as number[]) : null;
  else if (ltt !== undefined && ltt !== null) invalid('layers_to_transform must be an integer or a list of integers');
  const lp = raw.layers_pattern;
  const layersPattern = typeof lp === 'string' ? (lp ? [lp] : null) : Array.isArray(lp) && lp.every((p) => typeof p === 'string') ? (lp.length ? (lp as string[]) : null) : null;
  const base = raw.base_model_name_or_path;

  // r and lora_alpha decide the scale of every update: when PEFT's defaults stand in for them, the merge says so.
  const defaultsUsed = [
    ...(raw.r === undefined ? [`r = ${r}`] : []),
    ...(raw.lora_alpha === undefined ? [`lora_alpha = ${loraAlpha}`] : []),
  ];

  return {
    peftType: 'LORA',
    baseModelNameOrPath: typeof base === 'string' && base !== '' ? base : null,
    r,
    loraAlpha,
    defaultsUsed,
    useRslora: bool('use_rslora'),
    fanInFanOut: bool('fan_in_fan_out'),
    targetModules: stringsOrRegex('target_modules'),
    excludeModules: stringsOrRegex('exclude_modules'),
    modulesToSave: modulesToSave as string[],
    bias: bias as AdapterConfig['bias'],
    loraBias: bool('lora_bias'),
    rankPattern: patternMap('rank_pattern', true),
    alphaPattern: patternMap('alpha_pattern', false),
    layersToTransform,
    layersPattern,
    raw,
  };
}

const regexCache = new Map<string, RegExp>();

/**
 * Python `re` syntax → JavaScript RegExp for the subset adapter configs use.
 * Named groups are spelled (?P<name>…) in Python; everything else that appears
 * in practice (classes, alternation, quantifiers, \d, \.) means the same.
 */
export function compilePythonRegex(pattern: string, what = 'pattern', source = ADAPTER_CONFIG_FILE): RegExp {
  const cached = regexCache.get(pattern);
  if (cached) return cached;
  const js = pattern.replace(/\(\?P<([A-Za-z_][A-Za-z0-9_]*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/g, '\\k<$1>');
  try {
    const compiled = new RegExp(js);
    regexCache.set(pattern, compiled);
    return compiled;
  } catch (error) {
    return fail('adapter_config_invalid', `${source}: ${what} is not a regular expression the merge understands (${(error as Error).message}).`, { pattern });
  }
}

/** Python re.fullmatch. */
function fullMatch(pattern: string, key: string): boolean {
  const re = compilePythonRegex(`^(?:${pattern})$`);
  return re.test(key);
}

/** Python re.match (anchored at the start only). */
function matchAtStart(pattern: string, key: string): RegExpExecArray | null {
  return compilePythonRegex(`^(?:${pattern})`).exec(key);
}

/** peft.utils.other.get_pattern_key: the first pattern key that matches the module name's tail. */
export function getPatternKey(patternKeys: string[], moduleName: string): string {
  for (const key of patternKeys) {
    if (matchAtStart(`(.*\\.)?(${key})$`, moduleName)) return key;
  }
  return moduleName;
}

/** r and alpha for one module, after rank_pattern / alpha_pattern. */
export function rankAndAlpha(config: AdapterConfig, moduleName: string): { r: number; alpha: number } {
  const rKey = getPatternKey(Object.keys(config.rankPattern), moduleName);
  const alphaKey = getPatternKey(Object.keys(config.alphaPattern), moduleName);
  return { r: config.rankPattern[rKey] ?? config.r, alpha: config.alphaPattern[alphaKey] ?? config.loraAlpha };
}

/** LoraLayer.update_layer: α/r, or α/√r with use_rslora (a Python float). */
export function loraScaling(config: AdapterConfig, r: number, alpha: number): number {
  return config.useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/**
 * check_target_module_exists for a module name of the base model
 * (`model.layers.0.self_attn.q_proj`): whether PEFT would have put a LoRA
 * layer there. `all-linear` cannot be decided from names alone; the caller
 * treats it as "whatever the adapter file holds".
 */
export function isTargetModule(config: AdapterConfig, moduleName: string): boolean {
  const exclude = config.excludeModules;
  if (exclude) {
    if (typeof exclude === 'string' ? fullMatch(exclude, moduleName) : exclude.includes(moduleName) || exclude.some((e) => moduleName.endsWith(`.${e}`))) return false;
  }
  if (config.modulesToSave.some((m) => matchAtStart(`(^|.*\\.)${m}($|\\..*)`, moduleName))) return false;
  const targets = config.targetModules;
  if (targets === null) return false;
  if (typeof targets === 'string') return fullMatch(targets, moduleName);
  if (targets.includes(moduleName)) return true;
  if (!targets.some((t) => moduleName.endsWith(`.${t}`))) return false;
  if (!config.layersToTransform) return true;
  let index: RegExpExecArray | null = null;
  if (!config.layersPattern) {
    index = matchAtStart('.*?\\.[^.]*\\.(\\d+)\\.', moduleName);
  } else {
    for (const pattern of config.layersPattern) {
      index = matchAtStart(`.*?\\.${pattern}\\.(\\d+)\\.`, moduleName);
      if (index) break;
    }
  }
  if (!index) return false;
  return config.layersToTransform.includes(Number(index[1]));
}

/** True when target_modules is the `all-linear` shorthand. */
export function targetsAllLinear(config: AdapterConfig): boolean {
  return config.targetModules === 'all-linear';
}
