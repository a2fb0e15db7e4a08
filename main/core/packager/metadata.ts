/**
 * The LlmMetadata a bundle should carry, derived from the model's own files
 * (shown editable before packaging). The rules live in one place, the
 * fidelity analyzer's model intent (main/core/fidelity/intent.ts), so a
 * freshly packaged bundle passes the same checks `workbench check` runs:
 *   - start token only when the model's prompts start with a BOS;
 *   - stop tokens: every EOS id of generation_config.json plus the chat
 *     template's end-of-turn token;
 *   - jinja_prompt_template from tokenizer_config.json, prefix/suffix prompt
 *     templates derived from it;
 *   - sampler params from generation_config.json;
 *   - max_num_tokens = the .tflite's KV-cache length;
 *   - llm_model_type from the architecture.
 * This module adds, for each field, one sentence saying where it came from.
 */
import type { DerivedMetadata } from '../../common/api/inspect.js';
import type { LlmMetadataJson, TfliteSummary } from '../../common/formats.js';
import { tokenIdLimit } from '../../common/metadataChecks.js';
import { expectedModelType, expectedSampler, correctedMetadata, modelIntent } from '../fidelity/intent.js';
import { loadModelSide } from '../fidelity/load.js';

/** The metadata, where each field came from, warnings to decide on, and the limits its values are checked against. */
export type { DerivedMetadata };

/** The warning for a .tflite whose KV-cache length cannot be read; moot once max_num_tokens is given explicitly. */
export const MAX_NUM_TOKENS_UNSET = 'max_num_tokens is not set; the runtime will size the context from the prompt in steps of 4096 tokens.';

/** Derived-metadata warnings that still apply once these fields are given explicitly (--metadata, the wizard's editor). */
export function warningsAfterOverrides(warnings: string[], overridden: string[]): string[] {
  return overridden.includes('maxNumTokens') ? warnings.filter((w) => w !== MAX_NUM_TOKENS_UNSET) : warnings;
}

export async function deriveLlmMetadata(modelDir: string, tflite: TfliteSummary | null): Promise<DerivedMetadata> {
  const model = await loadModelSide(modelDir);
  const intent = modelIntent(model);
  const metadata = correctedMetadata(model, intent, tflite, null);
  const sources: Record<string, string> = {};
  const warnings: string[] = [];

  if (metadata.startToken) {
    sources.startToken = `BOS ${intent.bos?.text ?? ''} (id ${intent.bos?.id ?? '?'}): tokenizer_config.json prepends it (add_bos_token).`;
  } else if (intent.bos && intent.templateWritesBos) {
    sources.startToken = `None: the chat template already writes ${intent.bos.text} itself, so a start token would double it.`;
  } else {
    sources.startToken = 'None: the model does not start prompts with a BOS token.';
  }

  const eos = intent.eosIds.length > 0 ? `EOS id(s) ${intent.eosIds.join(', ')} from ${intent.eosSource}` : 'no EOS ids';
  const eot = !intent.endOfTurn
    ? ''
    : intent.eosIds.includes(intent.endOfTurn.id)
      ? `, which include the end-of-turn token ${intent.endOfTurn.text} the chat template closes replies with`
      : ` plus the end-of-turn token ${intent.endOfTurn.text} (id ${intent.endOfTurn.id}) the chat template closes replies with`;
  sources.stopTokens = `${eos}${eot}.`;
  if (!metadata.stopTokens || metadata.stopTokens.length === 0) {
    warnings.push('No stop tokens could be derived (no EOS ids and no end-of-turn token); the LiteRT-LM runtime refuses to start a session without them.');
  }
  if (!intent.endOfTurn && model.render) {
    warnings.push('The end-of-turn token could not be read from the chat template; check that the stop tokens end an assistant reply.');
  }

  if (metadata.jinjaPromptTemplate) {
    sources.jinjaPromptTemplate = `The chat template from ${model.folder.tokenizerConfig?.chatTemplateSource ?? 'the model folder'}.`;
  } else {
    warnings.push('The model folder has no chat template; the runtime will send prompts without turn markers.');
  }
  sources.promptTemplates = metadata.promptTemplates
    ? 'Prefix/suffix per role, read off the chat template by rendering marker turns (used by the Session API).'
    : 'None: the chat template does not reduce to fixed per-role prefixes and suffixes.';

  const sampler = expectedSampler(model);
  sources.samplerParams = sampler.greedy
    ? `From generation_config.json: ${sampler.basis}; written as TOP_P with k = 1, since LiteRT-LM's CPU sampler implements TOP_P only (GREEDY fails at decode).`
    : `From generation_config.json: ${sampler.basis}.`;
  const penalty = model.folder.generationConfig?.repetitionPenalty ?? null;
  if (penalty !== null && penalty !== 1) {
    warnings.push(`generation_config.json asks for repetition_penalty ${penalty}, which LlmMetadata cannot carry and the LiteRT-LM runtime does not apply; long answers may repeat.`);
  }

  if (tflite?.derived.kvCacheMaxLen) {
    sources.maxNumTokens = `The KV-cache length of the .tflite (${tflite.derived.kvCacheMaxLen} tokens).`;
  } else if (!tflite) {
    sources.maxNumTokens = 'The KV-cache length of the converted .tflite, read when packaging.';
  } else {
    sources.maxNumTokens = 'Not set: the .tflite has no KV-cache inputs to read the length from.';
    warnings.push(MAX_NUM_TOKENS_UNSET);
  }
  sources.llmModelType = `${expectedModelType(model)}, from config.json (architectures ${JSON.stringify(model.folder.config?.architectures ?? [])}).`;

  const tokenizer = model.folder.tokenizer;
  const vocabSize = tokenizer ? tokenIdLimit(tokenizer) : null;
  return { metadata, sources, warnings, limits: { vocabSize, kvCacheLength: tflite?.derived.kvCacheMaxLen ?? null } };
}

/**
 * LiteRT-LM's CPU sampler implements TOP_P only: a GREEDY (or TOP_K) sampler
 * fails at decode ("Sampler type: 3 not implemented yet", @litert-lm/core
 * 0.17.1). The packager writes the same decoding as TOP_P (greedy: k = 1)
 * and says so; the caller reports the note.
 */
export function runnableSampler(metadata: LlmMetadataJson): { metadata: LlmMetadataJson; note: string | null } {
  const sampler = metadata.samplerParams;
  if (!sampler || (sampler.type !== 'GREEDY' && sampler.type !== 'TOP_K')) return { metadata, note: null };
  const greedy = sampler.type === 'GREEDY';
  const rewritten = { ...sampler, type: 'TOP_P' as const, k: greedy ? 1 : (sampler.k ?? 40), p: greedy ? 1 : 1, temperature: sampler.temperature ?? 1 };
  return {
    metadata: { ...metadata, samplerParams: rewritten },
    note: `The ${sampler.type} sampler was written as TOP_P with k = ${rewritten.k}${greedy ? ' (greedy)' : ', p = 1 (top-k only)'}: LiteRT-LM's CPU sampler implements TOP_P only, and ${sampler.type} fails at decode ("Sampler type: ${greedy ? 3 : 1} not implemented yet").`,
  };
}
