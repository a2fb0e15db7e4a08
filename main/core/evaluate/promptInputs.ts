/**
 * What the runtime is fed, prompt by prompt, measured against the model's
 * own prompt: the evidence the cause attribution needs for the prompt-format,
 * tokenizer and context classes. The bundle's start token and template are
 * rendered the way the runtime renders them (main/core/fidelity/checks/
 * promptFormat.ts) and tokenized with the MODEL's tokenizer, so a difference
 * there is the format's alone; the model's prompt text is tokenized with the
 * BUNDLE's tokenizer, so a difference there is the tokenizer's alone. Also the
 * bundle's metadata as the evidence quotes it (sampler, stop and start
 * tokens, max_num_tokens, the .tflite's KV length).
 */
import type { ChatMessage } from '../../common/bundleRun.js';
import type { EvaluateResult, IdDifference, PromptInput, TokenRef } from '../../common/stages/evaluate.js';
import { packagedForm } from '../fidelity/checks/promptFormat.js';
import type { AnalysisInput } from '../fidelity/input.js';
import { resolveToken } from '../fidelity/input.js';
import { firstDifference, firstIdDifference } from '../fidelity/templates.js';
import type { HfTokenizer } from '../tokenizer/hfTokenizer.js';

/** How many ids from the first difference on each side the evidence shows. */
const SHOWN = 4;

function refs(tokenizer: HfTokenizer, ids: readonly number[]): TokenRef[] {
  return ids.map((id) => ({ id, text: tokenizer.decode([id]) }));
}

function difference(expected: readonly number[], actual: readonly number[], expectedTok: HfTokenizer, actualTok: HfTokenizer): IdDifference | null {
  const position = firstIdDifference(expected, actual);
  if (position === null) return null;
  return { position, expected: refs(expectedTok, expected.slice(position, position + SHOWN)), actual: refs(actualTok, actual.slice(position, position + SHOWN)) };
}

export type BundleFacts = NonNullable<EvaluateResult['bundleFacts']>;

export function bundleFacts(input: AnalysisInput): BundleFacts {
  const meta = input.bundle.metadata;
  const bundled = input.bundle.tokenizer;
  const tok = bundled?.kind === 'hf-json' && bundled.tokenizer ? bundled.tokenizer : input.model.tokenizer;
  const tokenRefs = (ids: readonly number[]) => (tok ? refs(tok, ids) : ids.map((id) => ({ id, text: `#${id}` })));
  const s = meta?.samplerParams;
  const sampler = s ? [s.type ?? 'TOP_P', s.k !== undefined ? `k ${s.k}` : null, s.p !== undefined ? `p ${s.p}` : null, s.temperature !== undefined ? `temperature ${s.temperature}` : null].filter(Boolean).join(', ') : null;
  return {
    sampler,
    stopTokens: tokenRefs((meta?.stopTokens ?? []).flatMap((t) => resolveToken(t, tok).ids ?? [])),
    startToken: tokenRefs(meta?.startToken ? (resolveToken(meta.startToken, tok).ids ?? []) : []),
    maxNumTokens: meta?.maxNumTokens ?? null,
    kvLength: input.bundle.tflite?.derived.kvCacheMaxLen ?? null,
  };
}

/**
 * One prompt: `modelText`/`modelIds` are the model's own rendering (its
 * template, its tokenizer, its BOS when it has one).
 */
export function promptInput(input: AnalysisInput, messages: ChatMessage[], modelText: string, modelIds: readonly number[]): PromptInput {
  const modelTok = input.model.tokenizer!;
  const bundled = input.bundle.tokenizer;
  const bundleTok = bundled?.kind === 'hf-json' ? bundled.tokenizer : null;
  const problems: string[] = [];
  if (bundled?.kind === 'sentencepiece') problems.push("the bundle's SentencePiece tokenizer cannot be reproduced here, so its ids were not compared");
  else if (bundled?.kind === 'hf-json' && !bundleTok) problems.push("the bundle's tokenizer.json cannot be reproduced exactly, so its ids were not compared");

  // Tokenizer: the same text, the two tokenizers.
  let tokenizer: IdDifference | null = null;
  if (bundleTok && bundleTok !== modelTok) {
    const textIds = modelTok.encode(modelText);
    tokenizer = difference(textIds, bundleTok.encode(modelText), modelTok, bundleTok);
  }

  // Format: the bundle's start token and template, the model's tokenizer.
  let format: PromptInput['format'] = null;
  let runtimeTokens: number | null = null;
  const form = packagedForm(input);
  const start = input.bundle.metadata?.startToken;
  const startIds = start ? (resolveToken(start, bundleTok ?? modelTok).ids ?? []) : [];
  if (form.render) {
    let bundleText: string | null = null;
    try {
      bundleText = form.render(messages, true);
    } catch (error) {
      problems.push(`the bundle's prompt format fails on this prompt: ${(error as Error).message}`);
    }
    if (bundleText !== null) {
      const runtimeIds = [...startIds, ...modelTok.encode(bundleText)];
      const diff = difference(modelIds, runtimeIds, modelTok, modelTok);
      if (diff) {
        const textOffset = firstDifference(modelText, bundleText);
        const source = textOffset === null || diff.position < startIds.length ? 'start-token' : 'template';
        format = { ...diff, source, textOffset: source === 'template' ? textOffset : null };
      }
      runtimeTokens = startIds.length + (bundleTok ?? modelTok).encode(bundleText).length;
    }
  } else {
    problems.push(form.problem ?? 'the bundle carries no prompt format the runtime would render');
  }
  return { modelTokens: modelIds.length, runtimeTokens, format, tokenizer, problem: problems.length > 0 ? `${problems.join('; ')}.` : null };
}
