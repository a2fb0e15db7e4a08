/**
 * What the model folder says the runtime should do: its EOS ids, its
 * end-of-turn token, whether prompts start with a BOS token, its sampling
 * settings and the LlmMetadata that encodes all of it. The checks compare
 * the bundle against this, and the metadata fix writes `correctedMetadata`.
 */
import type { LlmMetadataJson, TfliteSummary } from '../../common/formats.js';
import type { ModelSide } from './input.js';
import { typedContentSafe } from './checks/engine.js';
import { isAddedToken } from './input.js';
import { injectedSystemPrompt, textAfterAssistantTurn } from './templates.js';
import type { Renderer } from './templates.js';

export interface TokenRef {
  text: string;
  id: number;
}

export interface ModelIntent {
  /** Every EOS id: generation_config, else config.json, plus tokenizer_config's eos_token. */
  eosIds: number[];
  eosSource: string;
  /** The special token the chat template closes an assistant turn with (`<|im_end|>` for ChatML). */
  endOfTurn: TokenRef | null;
  /** The model's BOS when its prompts start with one; null for models without (Qwen). */
  bos: TokenRef | null;
  /** The chat template itself writes the BOS text at the start of the prompt. */
  templateWritesBos: boolean;
  /** Default system prompt the template inserts when the conversation has none. */
  injectedSystemPrompt: string | null;
}

export function modelIntent(model: ModelSide): ModelIntent {
  const { folder, tokenizer } = model;
  const gen = folder.generationConfig;
  const cfg = folder.config;
  let eosIds: number[] = [];
  let eosSource = 'none';
  if (gen && gen.eosTokenIds.length > 0) {
    eosIds = [...gen.eosTokenIds];
    eosSource = 'generation_config.json';
  } else if (cfg && cfg.eosTokenIds.length > 0) {
    eosIds = [...cfg.eosTokenIds];
    eosSource = 'config.json';
  }
  const eosToken = folder.tokenizerConfig?.eosToken ?? null;
  const eosTokenId = eosToken !== null && tokenizer ? tokenizer.tokenToId(eosToken) : null;
  if (eosTokenId !== null && !eosIds.includes(eosTokenId)) {
    eosIds.push(eosTokenId);
    eosSource = eosSource === 'none' ? 'tokenizer_config.json' : `${eosSource} + tokenizer_config.json`;
  }

  let endOfTurn: TokenRef | null = null;
  if (model.render && tokenizer) {
    const after = safely(() => textAfterAssistantTurn(model.render!));
    if (after) {
      // The first added token right after the reply is the end-of-turn marker.
      const id = tokenizer.encode(after).find((t) => isAddedToken(tokenizer, t));
      if (id !== undefined) endOfTurn = { id, text: tokenizer.idToTokenString(id) ?? '' };
    }
  }

  const bosText = folder.tokenizerConfig?.bosToken ?? null;
  const bosId = bosText !== null && tokenizer ? tokenizer.tokenToId(bosText) : null;
  let templateWritesBos = false;
  if (bosText && model.render) {
    const first = safely(() => model.render!([{ role: 'user', content: 'x' }], true));
    templateWritesBos = first !== null && first.startsWith(bosText);
  }
  // transformers prepends BOS only when add_bos_token says so (Llama, Gemma);
  // Qwen has no BOS at all. A template that writes it counts as well.
  const addsBos = folder.tokenizerConfig?.addBosToken === true || templateWritesBos;
  const bos = bosText !== null && bosId !== null && addsBos ? { text: bosText, id: bosId } : null;

  return {
    eosIds,
    eosSource,
    endOfTurn,
    bos,
    templateWritesBos,
    injectedSystemPrompt: model.render ? safely(() => injectedSystemPrompt(model.render!)) : null,
  };
}

function safely<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The runtime sampler the model's generation_config calls for. */
export interface ExpectedSampler {
  greedy: boolean;
  k: number | null;
  p: number | null;
  temperature: number | null;
  /** Which generation_config fields this came from, for evidence. */
  basis: string;
}

/**
 * transformers samples only when do_sample is true; then top_k defaults to
 * 50, top_p to 1.0 and temperature to 1.0 when absent.
 */
export function expectedSampler(model: ModelSide): ExpectedSampler {
  const gen = model.folder.generationConfig;
  if (!gen) return { greedy: true, k: null, p: null, temperature: null, basis: 'no generation_config.json (transformers decodes greedily)' };
  if (gen.doSample !== true) {
    return { greedy: true, k: null, p: null, temperature: null, basis: `do_sample is ${gen.doSample === null ? 'absent' : 'false'} (transformers decodes greedily)` };
  }
  return {
    greedy: false,
    k: gen.topK ?? 50,
    p: gen.topP ?? 1,
    temperature: gen.temperature ?? 1,
    basis: `do_sample=true, temperature=${gen.temperature ?? '1.0 (default)'}, top_k=${gen.topK ?? '50 (default)'}, top_p=${gen.topP ?? '1.0 (default)'}`,
  };
}

/** llm_model_type from config.json's architecture (LiteRT-LM picks its prompt handling by it). */
export function expectedModelType(model: ModelSide): string {
  const arch = model.folder.config?.architectures[0] ?? '';
  const type = model.folder.config?.modelType ?? '';
  if (arch.startsWith('Qwen3') || type === 'qwen3') return 'qwen3';
  if (arch.startsWith('Qwen2') || type === 'qwen2') return 'qwen2p5';
  if (arch.startsWith('Gemma3') || type === 'gemma3' || type === 'gemma3_text') return 'gemma3';
  return 'genericModel';
}

type Affixes = NonNullable<LlmMetadataJson['promptTemplates']>;

/**
 * Prefix/suffix prompt templates read off the chat template by rendering
 * sentinel turns: what surrounds a user, system and assistant message. Used
 * by the runtime's Session API and as a fallback; null when the template's
 * turns are not simple wrappers (the split would be a guess).
 */
export function deriveAffixes(render: Renderer): Affixes | null {
  const S = 'SENTINEL-S-11', U = 'SENTINEL-U-22', A = 'SENTINEL-A-33';
  try {
    const withSystem = render([{ role: 'system', content: S }, { role: 'user', content: U }, { role: 'assistant', content: A }], false);
    const userOnly = render([{ role: 'user', content: U }], false);
    const withPrompt = render([{ role: 'user', content: U }], true);
    if (!withPrompt.startsWith(userOnly)) return null;
    const modelPrefix = withPrompt.slice(userOnly.length);
    const s = withSystem.indexOf(S), u = withSystem.indexOf(U), a = withSystem.indexOf(A);
    if (s < 0 || u < s || a < u) return null;
    const systemPrefix = withSystem.slice(0, s);
    const betweenSU = withSystem.slice(s + S.length, u);
    const betweenUA = withSystem.slice(u + U.length, a);
    const modelSuffix = withSystem.slice(a + A.length);
    if (!betweenUA.endsWith(modelPrefix)) return null;
    const userSuffix = betweenUA.slice(0, betweenUA.length - modelPrefix.length);
    // The system turn is closed like a user turn; what follows is the user prefix.
    if (!betweenSU.startsWith(userSuffix)) return null;
    const userPrefix = betweenSU.slice(userSuffix.length);
    const systemSuffix = userSuffix;
    // Check the split reproduces a user-only render (a template with an
    // injected system prompt does not reduce to affixes).
    if (userOnly !== `${userPrefix}${U}${userSuffix}`) return null;
    return {
      user: { prefix: userPrefix, suffix: userSuffix },
      model: { prefix: modelPrefix, suffix: modelSuffix },
      system: { prefix: systemPrefix, suffix: systemSuffix },
    };
  } catch {
    return null;
  }
}

/**
 * The LlmMetadata the model folder calls for. Fields the analyzer does not
 * derive (thinking/function-calling support, channels, suppress tokens,
 * minimum runtime version) are kept from the bundle's current metadata.
 */
export function correctedMetadata(model: ModelSide, intent: ModelIntent, tflite: TfliteSummary | null, current: LlmMetadataJson | null): LlmMetadataJson {
  const out: LlmMetadataJson = {};
  if (current) {
    for (const key of ['channels', 'suppressTokens', 'supportsThinking', 'supportsFunctionCalling', 'padToken', 'minRuntimeVersion', 'kvCacheInitValue'] as const) {
      if (current[key] !== undefined) (out as Record<string, unknown>)[key] = current[key];
    }
  }
  if (intent.bos && !intent.templateWritesBos) out.startToken = { tokenIds: { ids: [intent.bos.id] } };
  const stopIds = [...intent.eosIds];
  if (intent.endOfTurn && !stopIds.includes(intent.endOfTurn.id)) stopIds.push(intent.endOfTurn.id);
  if (stopIds.length > 0) out.stopTokens = stopIds.map((id) => ({ tokenIds: { ids: [id] } }));
  if (model.chatTemplate) out.jinjaPromptTemplate = typedContentSafe(model.chatTemplate);
  const affixes = model.render ? deriveAffixes(model.render) : null;
  if (affixes) out.promptTemplates = affixes;
  const sampler = expectedSampler(model);
  out.samplerParams = sampler.greedy
    ? { type: 'TOP_P', k: 1, p: 1, temperature: 1 } // greedy as the CPU sampler implements it (no GREEDY there)
    : { type: 'TOP_P', k: sampler.k ?? 50, p: sampler.p ?? 1, temperature: sampler.temperature ?? 1 };
  const kv = tflite?.derived.kvCacheMaxLen ?? null;
  if (kv !== null) out.maxNumTokens = kv;
  else if (current?.maxNumTokens !== undefined) out.maxNumTokens = current.maxNumTokens;
  out.llmModelType = { [expectedModelType(model)]: {} };
  return out;
}
