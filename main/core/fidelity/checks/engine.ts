/**
 * Checks learned from running bundles in LiteRT-LM's own engine
 * (`@litert-lm/core` 0.17.1, CPU backend; LITERT_CONTRACT.md §1-3): the
 * sampler type the CPU sampler implements, a chat template that renders the
 * typed content parts the Conversation API passes, KV-cache outputs named
 * like their inputs, and a context length the runtime reads correctly from
 * the .tflite. Each names the runtime source or version it is about.
 */
import { LITERT_LM_JS_VERSION } from '../../../common/bundleRun.js';
import type { CheckItem } from '../../../common/fidelity.js';
import type { AnalysisInput } from '../input.js';
import { renderJinja } from '../../templates/jinjaSandbox.js';

const SAMPLER_NUMBERS: Record<string, number> = { TOP_K: 1, TOP_P: 2, GREEDY: 3 };

export function engineChecks(input: AnalysisInput): CheckItem[] {
  return [samplerTypeCheck(input), typedContentCheck(input), kvOutputNamesCheck(input), contextReadCheck(input)];
}

function samplerTypeCheck(input: AnalysisInput): CheckItem {
  const type = input.bundle.metadata?.samplerParams?.type ?? null;
  const runs = type === null || type === 'TYPE_UNSPECIFIED' || type === 'TOP_P';
  return {
    id: 'engine.sampler-type',
    category: 'sampling',
    title: 'The sampler type is one the CPU backend implements',
    status: runs ? 'pass' : 'fail',
    explanation: runs
      ? `The sampler is ${type ?? 'not set (the runtime default, TOP_P)'}, which LiteRT-LM's CPU sampler implements.`
      : `The sampler is ${type}, but LiteRT-LM's CPU sampler implements TOP_P only: decoding fails with "Sampler type: ${SAMPLER_NUMBERS[type!] ?? '?'} not implemented yet".`,
    evidence: [
      { label: 'sampler type', value: type ?? '(absent)' },
      { label: 'observed with', value: `@litert-lm/core ${LITERT_LM_JS_VERSION}, CPU backend` },
    ],
    fix: runs ? null : type === 'GREEDY' ? 'Write greedy as TOP_P with k = 1 (the metadata fix and the packager do).' : 'Write TOP_K as TOP_P with the same k and p = 1.',
    fixableByMetadata: true,
    source: 'LiteRT-LM runtime/components/sampler_factory.cc (CreateCpuSampler: top_p_cpu_sampler only)',
  };
}

/**
 * Renders the template with the content as typed parts and as a string; null
 * when both give the same text, else what went wrong. (The runtime's
 * minijinja refuses `string + sequence`; @huggingface/jinja prints the parts
 * as JSON instead; either way the prompt is not the model's.)
 */
export function typedContentProblem(template: string): string | null {
  const probe = 'WB-TYPED-PROBE-7';
  const render = (content: unknown): string => {
    const rendered = renderJinja(template, { messages: [{ role: 'user', content }], add_generation_prompt: true, bos_token: '', eos_token: '' });
    if (!rendered.ok) throw new Error(rendered.message);
    return rendered.text;
  };
  let expected: string;
  try {
    expected = render(probe);
  } catch {
    return null; // A template that does not render at all is the prompt-format checks' business.
  }
  let typed: string;
  try {
    typed = render([{ type: 'text', text: probe }]);
  } catch (error) {
    return `rendering fails: ${(error as Error).message}`;
  }
  if (typed === expected) return null;
  return typed.includes(`"text": "${probe}"`) || typed.includes('"type"')
    ? 'the parts are concatenated as a sequence (minijinja: "tried to use + operator on unsupported types string and sequence")'
    : 'the message text is missing from the rendered prompt (the template drops non-string content)';
}

/**
 * Puts a preamble before a chat template that turns typed content parts
 * back into a string (joining the text parts), so the template renders the
 * same text whether the runtime passes a string or parts. String content
 * passes through untouched, so the rendering for transformers is unchanged.
 */
export const TYPED_CONTENT_PREAMBLE =
  '{#- Convert Workbench: join typed content parts into a string (LiteRT-LM Conversation API) -#}\n' +
  '{%- set _wb = namespace(messages=[]) -%}' +
  '{%- for _m in messages -%}' +
  "{%- if _m.content is string or _m.content is none or _m.content is not defined -%}{%- set _wb.messages = _wb.messages + [_m] -%}" +
  "{%- else -%}{%- set _wb.messages = _wb.messages + [{'role': _m.role, 'content': _m.content | map(attribute='text') | join('')}] -%}" +
  '{%- endif -%}{%- endfor -%}{%- set messages = _wb.messages -%}\n';

export function typedContentSafe(template: string): string {
  if (template.startsWith(TYPED_CONTENT_PREAMBLE) || typedContentProblem(template) === null) return template;
  return TYPED_CONTENT_PREAMBLE + template;
}

function typedContentCheck(input: AnalysisInput): CheckItem {
  const template = input.bundle.metadata?.jinjaPromptTemplate ?? null;
  const problem = template ? typedContentProblem(template) : null;
  const source = `@litert-lm/core ${LITERT_LM_JS_VERSION} Conversation API (content passed as [{type: 'text', text}]); runtime/conversation/ (a July 2026 source converts a one-part array back to a string)`;
  return {
    id: 'engine.typed-content',
    category: 'prompt-format',
    title: 'The chat template renders typed content parts',
    status: problem ? 'warn' : 'pass',
    explanation: !template
      ? 'The bundle has no jinja_prompt_template; the runtime builds the prompt from prefix/suffix templates, which need no typed content.'
      : problem
        ? `In LiteRT-LM ${LITERT_LM_JS_VERSION} (the engine this workbench runs) the Conversation API passes message content as typed parts and this template fails on them: ${problem}. Whether the device runtime does the same depends on its version.`
        : `The template renders message content given as typed parts, as LiteRT-LM ${LITERT_LM_JS_VERSION} passes it.`,
    evidence: [
      { label: 'runtime version checked', value: `@litert-lm/core ${LITERT_LM_JS_VERSION}` },
      ...(problem ? [{ label: 'with typed content', value: problem }] : []),
    ],
    fix: problem ? "Apply the metadata fix: it writes the model's template behind a preamble that joins typed parts into a string, which renders the same text for string content." : null,
    fixableByMetadata: true,
    source,
  };
}

function kvOutputNamesCheck(input: AnalysisInput): CheckItem {
  const tflite = input.bundle.tflite;
  const wrong: string[] = [];
  const missing: string[] = [];
  for (const signature of tflite?.signatures ?? []) {
    const kvInputs = signature.inputs.map((i) => i.name).filter((n) => /^(kv_cache_[kv]_|[kv]_cache_)\d+$/.test(n));
    const outputs = new Set(signature.outputs.map((o) => o.name));
    const kvLike = signature.outputs.map((o) => o.name).filter((n) => /cache/.test(n) && !kvInputs.includes(n));
    for (const name of kvLike) wrong.push(`${signature.key}: ${name}`);
    if (kvInputs.length > 0 && !kvInputs.some((n) => outputs.has(n))) missing.push(signature.key);
  }
  const status: CheckItem['status'] = !tflite ? 'warn' : wrong.length > 0 ? 'fail' : missing.length > 0 ? 'warn' : 'pass';
  return {
    id: 'engine.kv-output-names',
    category: 'context',
    title: 'Updated KV caches are outputs named like their inputs',
    status,
    explanation: !tflite
      ? 'The bundle has no .tflite model section, so its KV-cache outputs could not be read.'
      : wrong.length > 0
        ? `KV-cache outputs are named differently from the inputs (${wrong.slice(0, 3).join(', ')}${wrong.length > 3 ? ', …' : ''}); the runtime binds one buffer per name, and the engine fails with "The given map is missing some output TensorBuffers".`
        : missing.length > 0
          ? `Signature${missing.length === 1 ? '' : 's'} ${missing.join(', ')} take KV caches but return none under the input names, so the runtime cannot bind the updated caches in place.`
          : 'Every signature returns its updated KV caches under the input names, which the runtime binds in place.',
    evidence: [
      { label: 'mismatched outputs', value: wrong.length > 0 ? wrong.slice(0, 6).join('; ') : '(none)' },
      { label: 'signatures without KV outputs', value: missing.length > 0 ? missing.join(', ') : '(none)' },
    ],
    fix: status === 'pass' ? null : 'Re-convert: name each updated cache output exactly like its input (kv_cache_k_<i>, kv_cache_v_<i>).',
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/executor/llm_litert_compiled_model_executor.cc (output buffers bound by input name)',
  };
}

/**
 * The context length as the runtime reads it from the .tflite
 * (litert_compiled_model_executor_utils.cc): dim 3 of a prefill input whose
 * name contains "mask", else dim 2 of kv_cache_k_0.
 */
export function runtimeReadContext(input: AnalysisInput): { value: number | null; from: string } {
  const tflite = input.bundle.tflite;
  const prefill = tflite?.signatures.find((s) => s.key.startsWith('prefill'));
  const mask = prefill?.inputs.find((i) => i.name.includes('mask'));
  if (mask && mask.shape.length >= 4) return { value: mask.shape[3]!, from: `dim 3 of ${prefill!.key}'s ${mask.name} ${JSON.stringify(mask.shape)}` };
  const k0 = (prefill ?? tflite?.signatures[0])?.inputs.find((i) => i.name === 'kv_cache_k_0');
  if (k0 && k0.shape.length >= 3) return { value: k0.shape[2]!, from: `dim 2 of kv_cache_k_0 ${JSON.stringify(k0.shape)} (no mask input)` };
  return { value: null, from: 'no mask input and no kv_cache_k_0' };
}

function contextReadCheck(input: AnalysisInput): CheckItem {
  const kv = input.bundle.tflite?.derived.kvCacheMaxLen ?? null;
  const read = runtimeReadContext(input);
  const ok = kv !== null && read.value === kv;
  const status: CheckItem['status'] = kv === null || read.value === null ? 'warn' : ok ? 'pass' : 'fail';
  return {
    id: 'engine.context-read',
    category: 'context',
    title: 'The runtime reads the KV-cache length correctly',
    status,
    explanation:
      status === 'warn'
        ? 'The KV-cache length could not be read from the .tflite, so what the runtime would read could not be compared.'
        : ok
          ? `The runtime reads a context of ${read.value} tokens (${read.from}), the KV-cache length.`
          : `The runtime reads a context of ${read.value} tokens (${read.from}) but the KV cache holds ${kv}, so sessions are refused or cut short ("Passed in max_num_tokens … is larger than what the static model supports").`,
    evidence: [
      { label: 'KV-cache length', value: kv === null ? '(unknown)' : String(kv) },
      { label: 'runtime reads', value: read.value === null ? '(nothing)' : `${read.value} (${read.from})` },
    ],
    fix: status === 'fail' ? 'Re-convert with a mask input, or with the transposed KV layout (K [1, heads, S, head_dim]) whose dim 2 is the length.' : null,
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/executor/litert_compiled_model_executor_utils.cc (context from ExecutorMetadata, else the mask input, else kv_cache_k_0 dim 2)',
  };
}
