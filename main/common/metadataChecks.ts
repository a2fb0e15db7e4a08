/**
 * Values an LlmMetadata must not carry, whoever typed them (the wizard's
 * metadata editor, `workbench package --metadata`): token ids outside the
 * vocabulary, empty token strings, sampler settings the runtime cannot use, a
 * max_num_tokens the KV cache cannot hold. The editor shows these at the
 * field; the packager refuses to write a bundle with any of them.
 */
import type { HfTokenizerSummary, LlmMetadataJson, SentencePieceSummary, TokenUnionJson } from './formats.js';

/** One past the highest token id of a tokenizer (added tokens may sit beyond a gap in the ids). */
export function tokenIdLimit(tokenizer: HfTokenizerSummary | SentencePieceSummary): number {
  if (tokenizer.kind === 'sentencepiece') return tokenizer.pieceCount;
  return Math.max(tokenizer.vocabSize, ...tokenizer.addedTokens.map((token) => token.id + 1));
}

export interface MetadataLimits {
  /** Tokens in the tokenizer being packaged (ids run from 0 to vocabSize − 1); null when unknown. */
  vocabSize: number | null;
  /** The .tflite's KV-cache length; null when there is no .tflite yet. */
  kvCacheLength: number | null;
}

export type MetadataField = 'startToken' | 'stopTokens' | 'samplerParams' | 'maxNumTokens';

export interface MetadataProblem {
  field: MetadataField;
  message: string;
}

function tokenProblems(token: TokenUnionJson, what: string, vocabSize: number | null): string[] {
  const problems: string[] = [];
  if ('tokenStr' in token && token.tokenStr === '') problems.push(`${what} is an empty string.`);
  const ids = 'tokenIds' in token ? token.tokenIds.ids : [];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) problems.push(`${what}: ${id} is not a token id (ids are whole numbers from 0).`);
    else if (vocabSize !== null && id >= vocabSize) problems.push(`${what}: id ${id} is past the end of the vocabulary (${vocabSize.toLocaleString('en-US')} tokens, ids 0 to ${(vocabSize - 1).toLocaleString('en-US')}).`);
  }
  return problems;
}

export function metadataProblems(metadata: LlmMetadataJson, limits: MetadataLimits): MetadataProblem[] {
  const problems: MetadataProblem[] = [];
  if (metadata.startToken) for (const message of tokenProblems(metadata.startToken, 'The start token', limits.vocabSize)) problems.push({ field: 'startToken', message });
  if ((metadata.stopTokens ?? []).length === 0) {
    problems.push({
      field: 'stopTokens',
      message: "A bundle must have stop tokens (the LiteRT-LM runtime refuses to start a session without them): add the model's EOS and end-of-turn ids as stopTokens, or leave them to be derived from the model folder.",
    });
  }
  for (const [index, token] of (metadata.stopTokens ?? []).entries()) {
    for (const message of tokenProblems(token, `Stop token ${index + 1}`, limits.vocabSize)) problems.push({ field: 'stopTokens', message });
  }
  const sampler = metadata.samplerParams;
  if (sampler) {
    if (sampler.k !== undefined && (!Number.isInteger(sampler.k) || sampler.k < 1)) problems.push({ field: 'samplerParams', message: `top-k must be a whole number of 1 or more, not ${sampler.k}.` });
    if (sampler.p !== undefined && !(sampler.p > 0 && sampler.p <= 1)) problems.push({ field: 'samplerParams', message: `top-p must be above 0 and at most 1, not ${sampler.p}.` });
    if (sampler.temperature !== undefined && !(Number.isFinite(sampler.temperature) && sampler.temperature >= 0)) {
      problems.push({ field: 'samplerParams', message: `The temperature must be 0 or more, not ${sampler.temperature}.` });
    }
  }
  const max = metadata.maxNumTokens;
  if (max !== undefined) {
    if (!Number.isInteger(max) || max < 1) problems.push({ field: 'maxNumTokens', message: `max_num_tokens must be a whole number of 1 or more, not ${max}.` });
    else if (limits.kvCacheLength !== null && max > limits.kvCacheLength) {
      problems.push({ field: 'maxNumTokens', message: `max_num_tokens ${max.toLocaleString('en-US')} is more than the .tflite's KV cache holds (${limits.kvCacheLength.toLocaleString('en-US')} tokens).` });
    }
  }
  return problems;
}
