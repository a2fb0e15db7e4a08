/**
 * What the host needs to know about a bundle before and after the engine
 * runs it, read with the project's own format readers: its LlmMetadata, the
 * .tflite's signatures (heap fit, context length), the tokenizer (token
 * counts on the Session API, which reports none), the prompt text the
 * runtime renders and the sampler a session will use. Cached by path, size
 * and modification time: a chat reads them once, not per message.
 */
import { openSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ChatMessage, ChatOptions, SamplerUsed } from '../../common/bundleRun.js';
import { LITERT_LM_JS_VERSION, overrideTopK } from '../../common/bundleRun.js';
import type { LlmMetadataJson, TfliteSummary, TokenUnionJson } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { metadataProblems } from '../../common/metadataChecks.js';
import { readBundleTokenizerJson, readLitertlmHeader, readLlmMetadata, SectionType } from '../formats/litertlm.js';
import { readTfliteAt } from '../formats/tflite.js';
import { renderJinja } from '../templates/jinjaSandbox.js';
import { RecentCache } from '../recentCache.js';
import { HfTokenizer } from '../tokenizer/hfTokenizer.js';
import type { RunnerSampler } from './protocol.js';

export interface BundleFacts {
  path: string;
  sizeBytes: number;
  /**
   * The bytes the engine is given: the file up to the end of the last section its header names.
   * Anything after (a stray or sparse tail) is never read.
   */
  readBytes: number;
  metadata: LlmMetadataJson | null;
  tflite: TfliteSummary | null;
  tokenizer: HfTokenizer | null;
  stopTokens: string[];
}

const cache = new RecentCache<string, BundleFacts>(4);

export async function bundleFacts(bundlePath: string): Promise<BundleFacts> {
  let stat;
  try {
    stat = statSync(bundlePath);
  } catch {
    throw new WorkbenchError('file_not_found', `The bundle ${bundlePath} does not exist.`, { path: bundlePath });
  }
  if (!stat.isFile()) throw new WorkbenchError('bad_bundle', `${bundlePath} is not a file; give the .litertlm to run.`, { path: bundlePath });
  const key = `${bundlePath}\0${stat.size}\0${stat.mtimeMs}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const header = readLitertlmHeader(bundlePath);
  const metadata = await readLlmMetadata(bundlePath);
  const section = header.sections.find((s) => s.dataType === SectionType.TFLiteModel);
  let tflite: TfliteSummary | null = null;
  if (section) {
    const fd = openSync(bundlePath, 'r');
    try {
      tflite = readTfliteAt(fd, bundlePath, section.beginOffset, section.endOffset - section.beginOffset);
    } finally {
      closeSync(fd);
    }
  }
  const json = await readBundleTokenizerJson(bundlePath);
  let tokenizer: HfTokenizer | null = null;
  if (json) {
    try {
      tokenizer = HfTokenizer.shared(json.text);
    } catch {
      tokenizer = null;
    }
  }
  const stopTokens = (metadata?.stopTokens ?? []).map((t) => tokenText(t, tokenizer));
  const readBytes = Math.max(header.headerEnd, ...header.sections.map((section) => section.endOffset));
  const facts: BundleFacts = { path: bundlePath, sizeBytes: stat.size, readBytes, metadata, tflite, tokenizer, stopTokens };
  return cache.set(key, facts);
}

export function tokenText(token: TokenUnionJson, tokenizer: HfTokenizer | null): string {
  if ('tokenStr' in token) return token.tokenStr;
  const ids = token.tokenIds.ids;
  const text = tokenizer?.decode(ids);
  return text ?? `ids [${ids.join(', ')}]`;
}

/** The context the engine is opened with: the request's, else max_num_tokens, never beyond the KV cache. */
export function contextLengthFor(facts: BundleFacts, requested: number | undefined): number {
  const kv = facts.tflite?.derived.kvCacheMaxLen ?? null;
  const declared = facts.metadata?.maxNumTokens;
  if (requested === undefined && declared !== undefined) {
    // The same rule the packager, the metadata editor and `check` apply (common/metadataChecks.ts).
    const invalid = metadataProblems({ maxNumTokens: declared }, { vocabSize: null, kvCacheLength: null }).filter((p) => p.field === 'maxNumTokens');
    if (invalid.length > 0) {
      throw new WorkbenchError('bad_metadata', `${path.basename(facts.path)} cannot be run as packaged: ${invalid[0]!.message.replace(/\.$/, '')}; fix its metadata (package --fix-metadata) or give the context to use.`, { path: facts.path });
    }
  }
  const wanted = requested ?? declared ?? kv ?? 4096;
  return kv !== null ? Math.min(wanted, kv) : wanted;
}

const SAMPLER_NUMBER = { TYPE_UNSPECIFIED: 0, TOP_K: 1, TOP_P: 2, GREEDY: 3 } as const;
/** LiteRT-LM's default on CPU when the metadata has no sampler params (engine_settings.cc). */
const RUNTIME_DEFAULT = { type: 'TOP_P', k: 1, p: 0.95, temperature: 1 } as const;

/**
 * The sampler a session will use, and what to pass the engine: null keeps
 * the bundle's own sampler_params. Greedy is written as TOP_P with k = 1,
 * the only form LiteRT-LM's CPU sampler implements.
 */
export function resolveSampler(metadata: LlmMetadataJson | null, options: ChatOptions): { used: SamplerUsed; pass: RunnerSampler | null } {
  const declared = metadata?.samplerParams;
  const bundle = declared?.type && declared.type !== 'TYPE_UNSPECIFIED' ? declared : null;
  const seed = options.seed !== undefined ? { seed: options.seed } : {};
  if (options.greedy) {
    return {
      used: { type: 'TOP_P', k: 1, p: 1, temperature: 1, source: 'override', note: 'Greedy = TOP_P with k = 1 (the CPU sampler implements TOP_P only).' },
      pass: { type: SAMPLER_NUMBER.TOP_P, k: 1, p: 1, temperature: 1, ...seed },
    };
  }
  const overridden = options.temperature !== undefined || options.topP !== undefined || options.topK !== undefined;
  if (!overridden) {
    if (!bundle) {
      return { used: { ...RUNTIME_DEFAULT, source: 'runtime-default', note: 'The bundle has no sampler params; the runtime decodes with TOP_P, k = 1 (effectively greedy).' }, pass: null };
    }
    return {
      used: { type: bundle.type!, k: bundle.k ?? null, p: bundle.p ?? null, temperature: bundle.temperature ?? null, source: 'bundle', note: null },
      pass: null,
    };
  }
  const base = bundle && bundle.type !== 'GREEDY' ? bundle : RUNTIME_DEFAULT;
  const { k, raised } = overrideTopK(options.topK, base.k);
  const note = raised ? `k raised from 1 to ${k} so temperature and top-p take effect (k = 1 is greedy).` : null;
  const p = options.topP ?? base.p ?? 1;
  const temperature = options.temperature ?? base.temperature ?? 1;
  return {
    used: { type: 'TOP_P', k, p, temperature, source: 'override', note },
    pass: { type: SAMPLER_NUMBER.TOP_P, k, p, temperature, ...seed },
  };
}

/** The conversation the engine gets: the system prompt first, then the messages. */
export function conversationFor(messages: readonly ChatMessage[], options: ChatOptions): ChatMessage[] {
  const rest = options.systemPrompt !== undefined ? messages.filter((m) => m.role !== 'system') : [...messages];
  return options.systemPrompt !== undefined ? [{ role: 'system', content: options.systemPrompt }, ...rest] : rest;
}

/**
 * The prompt text the runtime renders for a conversation: the bundle's
 * jinja_prompt_template given the message content as typed parts
 * (`[{type: 'text', text}]`), the way the Conversation API of this engine
 * version passes it, else the prefix/suffix templates; raw is the text itself.
 * A start token in the metadata is written before it.
 */
export function renderPromptText(facts: BundleFacts, messages: readonly ChatMessage[], raw: boolean): { text: string; source: string } {
  const last = messages[messages.length - 1]!;
  if (raw) return { text: last.content, source: 'raw: the text as given (Session API, prompt templating off)' };
  const metadata = facts.metadata;
  const start = metadata?.startToken ? tokenText(metadata.startToken, facts.tokenizer) : '';
  if (metadata?.jinjaPromptTemplate) {
    try {
      const source = metadata.jinjaPromptTemplate.endsWith('\n') ? `${metadata.jinjaPromptTemplate}\n` : metadata.jinjaPromptTemplate;
      const rendered = renderJinja(source, {
        messages: messages.map((m) => ({ role: m.role, content: [{ type: 'text', text: m.content }] })),
        add_generation_prompt: true,
      });
      if (!rendered.ok && rendered.stage === 'limit') {
        // The runtime would spend as long (or fail): refuse before the engine starts.
        throw new WorkbenchError('template_too_costly', `The bundle's jinja_prompt_template was stopped: ${rendered.message}; replace it with the model's own chat template (package --fix-metadata, or the metadata editor).`);
      }
      if (!rendered.ok) throw new Error(rendered.message);
      const text = rendered.text;
      return { text: start + text, source: `the bundle's jinja_prompt_template, content as typed parts (LiteRT-LM ${LITERT_LM_JS_VERSION} Conversation API)` };
    } catch (error) {
      if (error instanceof WorkbenchError) throw error;
      return { text: '', source: `the bundle's jinja_prompt_template fails on typed content parts: ${(error as Error).message}` };
    }
  }
  const affixes = metadata?.promptTemplates;
  if (affixes) {
    let text = start;
    for (const m of messages) {
      const role = m.role === 'assistant' ? affixes.model : m.role === 'system' ? (affixes.system ?? affixes.user) : affixes.user;
      text += `${role?.prefix ?? ''}${m.content}${role?.suffix ?? ''}`;
    }
    text += affixes.model?.prefix ?? '';
    return { text, source: "the bundle's prefix/suffix prompt templates" };
  }
  return { text: start + messages.map((m) => m.content).join(''), source: 'no template in the bundle: the messages as they are' };
}
