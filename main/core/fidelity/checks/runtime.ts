/**
 * Checks of what the runtime does around the prompt: the sampler it uses
 * (and its defaults when the metadata says nothing), the repetition penalty
 * it cannot apply, how many tokens it will hold against the .tflite's
 * KV-cache, the quantization the weights were converted with, and the model
 * type it picks its prompt handling by.
 */
import type { CheckItem } from '../../../common/fidelity.js';
import type { AnalysisInput } from '../input.js';
import { expectedModelType, expectedSampler } from '../intent.js';
import { metadataProblems } from '../../../common/metadataChecks.js';

/** Runtime defaults on CPU/GPU without sampler params: TOP_P, k=1, p=0.95, temperature 1 (FORMATS.md). */
const RUNTIME_DEFAULT = { type: 'TOP_P', k: 1, p: 0.95, temperature: 1 } as const;

function close(a: number, b: number): boolean {
  // Sampler floats are stored as float32 in the protobuf.
  return Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a), Math.abs(b));
}

export function samplingChecks(input: AnalysisInput): CheckItem[] {
  const want = expectedSampler(input.model);
  const declared = input.bundle.metadata?.samplerParams;
  const effective = declared?.type && declared.type !== 'TYPE_UNSPECIFIED' ? declared : null;
  const actual = effective ?? RUNTIME_DEFAULT;
  // k = 1 keeps only the best token: greedy whatever the type says. (An
  // explicit sampler without k is not assumed greedy; only the runtime's
  // default for absent params is.)
  const actualGreedy = actual.type === 'GREEDY' || actual.k === 1;
  const describe = `${actual.type}${effective ? '' : ' (runtime default, no sampler params in the bundle)'}, k=${actual.k ?? '-'}, p=${actual.p ?? '-'}, temperature=${actual.temperature ?? '-'}`;

  let status: CheckItem['status'];
  let explanation: string;
  const mismatches: string[] = [];
  if (want.greedy) {
    status = actualGreedy ? 'pass' : 'warn';
    explanation = actualGreedy
      ? 'The model decodes greedily by default and so does the bundle.'
      : 'The model decodes greedily by default but the bundle samples, so on-device answers vary run to run.';
  } else if (actualGreedy) {
    status = 'fail';
    explanation = `The model expects sampling (${want.basis}) but the runtime will decode greedily${effective ? '' : ' (its default with no sampler params is TOP_P with k=1)'}, a classic cause of loops and repetition.`;
  } else {
    if (want.temperature !== null && !close(want.temperature, actual.temperature ?? 1)) mismatches.push(`temperature ${actual.temperature ?? 1} instead of ${want.temperature}`);
    if (want.k !== null && actual.k !== undefined && actual.k !== want.k) mismatches.push(`top_k ${actual.k} instead of ${want.k}`);
    if (want.p !== null && actual.type === 'TOP_P' && !close(want.p, actual.p ?? 1)) mismatches.push(`top_p ${actual.p ?? 1} instead of ${want.p}`);
    if (want.p !== null && want.p < 1 && actual.type === 'TOP_K') mismatches.push(`TOP_K sampling ignores top_p ${want.p}`);
    status = mismatches.length > 0 ? 'warn' : 'pass';
    explanation = mismatches.length > 0 ? `The bundle samples with ${mismatches.join(', ')}.` : `The bundle samples as generation_config.json asks (${want.basis}).`;
  }
  const items: CheckItem[] = [
    {
      id: 'sampling.params',
      category: 'sampling',
      title: 'Sampler settings match generation_config.json',
      status,
      explanation,
      evidence: [
        { label: 'model', value: want.basis },
        { label: 'runtime', value: describe },
        { label: 'note', value: 'Some LiteRT-LM versions ignore sampler settings on GPU/NPU (issue #2080); check on the backend you ship.' },
      ],
      fix: status === 'pass' ? null : 'Re-package with sampler params from generation_config.json (type, k, p, temperature).',
      fixableByMetadata: true,
      source: 'LiteRT-LM runtime/engine/engine_settings.cc (sampler defaults), runtime/proto/sampler_params.proto; issues #1004, #2080',
    },
  ];

  const penalty = input.model.folder.generationConfig?.repetitionPenalty ?? null;
  const expectsPenalty = penalty !== null && !close(penalty, 1);
  items.push({
    id: 'sampling.repetition-penalty',
    category: 'sampling',
    title: 'No repetition penalty is expected that the runtime cannot apply',
    status: expectsPenalty ? 'warn' : 'pass',
    explanation: expectsPenalty
      ? `generation_config.json asks for repetition_penalty ${penalty}, but LlmMetadata has no such field, so the bundle cannot carry it and on-device output repeats more than in transformers.`
      : 'generation_config.json asks for no repetition penalty.',
    evidence: [{ label: 'repetition_penalty', value: penalty === null ? '(absent)' : String(penalty) }],
    fix: expectsPenalty
      ? 'Keep sampling on (temperature/top-p from generation_config.json) to limit loops, and apply a repetition penalty in the app if your LiteRT-LM version exposes one in its session config.'
      : null,
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/proto/sampler_params.proto (no repetition penalty); issue #2249',
  });
  return items;
}

export function contextChecks(input: AnalysisInput): CheckItem[] {
  const declared = input.bundle.metadata?.maxNumTokens ?? null;
  const kv = input.bundle.tflite?.derived.kvCacheMaxLen ?? null;
  const intended = input.intendedContext;
  const maxPos = input.model.folder.config?.maxPositionEmbeddings ?? null;
  const evidence = [
    { label: 'max_num_tokens', value: declared === null ? '(absent)' : String(declared) },
    { label: '.tflite KV-cache length', value: kv === null ? '(unknown)' : String(kv) },
    { label: 'intended context', value: intended === null ? '(not given)' : String(intended) },
    { label: 'max_position_embeddings', value: maxPos === null ? '(unknown)' : String(maxPos) },
  ];
  const source = 'LiteRT-LM runtime/engine/engine_settings.cc (max_num_tokens; rounded up in steps of 4096 when absent); litert-torch kv_cache_max_len';

  let status: CheckItem['status'];
  let explanation: string;
  let fix: string | null = null;
  // The same rule the packager and the metadata editor apply (common/metadataChecks.ts).
  const invalid = declared === null ? [] : metadataProblems({ maxNumTokens: declared }, { vocabSize: null, kvCacheLength: null }).filter((p) => p.field === 'maxNumTokens');
  if (invalid.length > 0) {
    status = 'fail';
    explanation = `${invalid.map((p) => p.message).join(' ')} The runtime cannot size its context from it.`;
    fix = kv !== null ? `Set max_num_tokens to ${kv}.` : 'Set max_num_tokens to the .tflite\'s KV-cache length.';
  } else if (kv === null) {
    status = 'warn';
    explanation = 'The KV-cache length could not be read from the .tflite (no kv_cache inputs found), so max_num_tokens could not be checked against it.';
  } else if (declared === null) {
    status = 'warn';
    explanation = `The bundle has no max_num_tokens, so the runtime rounds the prompt length up in steps of 4096, which can exceed the ${kv}-token KV cache.`;
    fix = `Set max_num_tokens to ${kv}.`;
  } else if (declared > kv) {
    status = 'fail';
    explanation = `max_num_tokens ${declared} is larger than the .tflite's KV cache of ${kv}, so long conversations overrun the cache.`;
    fix = `Set max_num_tokens to ${kv}.`;
  } else if (declared < kv) {
    status = 'warn';
    explanation = `max_num_tokens ${declared} uses only part of the .tflite's ${kv}-token KV cache.`;
    fix = `Set max_num_tokens to ${kv} unless you limit it on purpose.`;
  } else {
    status = 'pass';
    explanation = `max_num_tokens equals the .tflite's KV-cache length (${kv}).`;
  }
  const items: CheckItem[] = [
    { id: 'context.max-num-tokens', category: 'context', title: 'max_num_tokens matches the KV-cache length', status, explanation, evidence, fix, fixableByMetadata: true, source },
  ];

  if (intended !== null) items.push(intendedContextCheck({ intended, declared, kv, maxPos }, evidence, source));
  return items;
}

/**
 * `context.intended` (docs/fidelity.md): a context the bundle cannot hold
 * fails; one beyond max_position_embeddings warns — also when the KV-cache
 * length and max_num_tokens are unknown, since the training limit comes from
 * the model folder and does not depend on them.
 */
function intendedContextCheck(
  c: { intended: number; declared: number | null; kv: number | null; maxPos: number | null },
  evidence: CheckItem['evidence'],
  source: string,
): CheckItem {
  const { intended, declared, kv, maxPos } = c;
  const limit = declared ?? kv;
  const beyondTraining = maxPos !== null && intended > maxPos;
  const trainingSentence = `The intended context of ${intended} exceeds the model's max_position_embeddings of ${maxPos}, beyond what it was trained for.`;
  const trainingFix = `Plan for at most ${maxPos} tokens, or use a model trained for a longer context.`;
  let status: CheckItem['status'];
  let explanation: string;
  let fix: string | null = null;
  let fixable = true;
  if (kv !== null && intended > kv) {
    status = 'fail';
    explanation = `The intended context of ${intended} tokens exceeds the .tflite's KV cache of ${kv}, which only a re-conversion with a larger kv_cache_max_len can change.`;
    fix = `Re-convert with kv_cache_max_len ≥ ${intended} (peak conversion RAM grows with it), or plan for ${kv} tokens.`;
    fixable = false;
  } else if (limit !== null && intended > limit) {
    status = 'fail';
    explanation = `max_num_tokens ${limit} is below the intended context of ${intended}, so the runtime refuses or truncates longer conversations.`;
    fix = `Set max_num_tokens to ${kv ?? intended}.`;
  } else if (beyondTraining) {
    status = 'warn';
    explanation = limit === null ? `${trainingSentence} Whether the bundle holds it could not be checked: neither max_num_tokens nor the KV-cache length is known.` : trainingSentence;
    fix = trainingFix;
    fixable = false;
  } else if (limit === null) {
    status = 'warn';
    explanation = 'Neither max_num_tokens nor the KV-cache length is known, so the intended context could not be checked.';
  } else {
    status = 'pass';
    explanation = `The intended context of ${intended} tokens fits in max_num_tokens ${limit}${kv !== null ? ` and the KV cache of ${kv}` : ''}.`;
  }
  // A failure outranks the warning, but the training limit is still worth saying.
  if (status === 'fail' && beyondTraining) explanation += ` It also exceeds the model's max_position_embeddings of ${maxPos}, beyond what it was trained for.`;
  return { id: 'context.intended', category: 'context', title: 'The intended context fits', status, explanation, evidence, fix, fixableByMetadata: fixable, source };
}

const QUANT_IMPACT: Record<string, { status: CheckItem['status']; text: string }> = {
  float32: { status: 'pass', text: 'float32 weights: no quantization loss.' },
  float16: { status: 'pass', text: 'float16 weights: negligible quantization loss.' },
  dynamic_int8: { status: 'pass', text: 'dynamic int8 (int8 weights, float activations): small quality loss, usually under a point of top-1 agreement.' },
  weight_only_int8: { status: 'pass', text: 'weight-only int8: small quality loss.' },
  static_int8: { status: 'warn', text: 'static int8 (int8 activations too): noticeable drift on long generations is common.' },
  dynamic_int4: { status: 'warn', text: 'int4 weights: measurable drift from the PyTorch model, strongest on small (≤2B) models; compare with the numeric check.' },
  mixed: { status: 'warn', text: 'mixed precision: quality depends on which layers were quantized; compare with the numeric check.' },
  unknown: { status: 'warn', text: 'the quantization scheme could not be recognised.' },
};

export function quantizationCheck(input: AnalysisInput): CheckItem {
  const tflite = input.bundle.tflite;
  if (!tflite) {
    return {
      id: 'quantization.scheme',
      category: 'quantization',
      title: 'Quantization and its expected quality impact',
      status: 'warn',
      explanation: 'The bundle has no .tflite model section, so the quantization could not be read.',
      evidence: [],
      fix: null,
      fixableByMetadata: false,
      source: 'TFLite schema.fbs tensor types; litert-torch quantization recipes',
    };
  }
  const scheme = tflite.derived.quantScheme;
  const impact = QUANT_IMPACT[scheme] ?? QUANT_IMPACT.unknown!;
  return {
    id: 'quantization.scheme',
    category: 'quantization',
    title: 'Quantization and its expected quality impact',
    status: impact.status,
    explanation: `The .tflite uses ${impact.text}`,
    evidence: [
      { label: 'scheme', value: scheme },
      { label: 'how it was inferred', value: tflite.derived.quantEvidence },
      ...tflite.quantization.filter((q) => q.constantCount > 0).map((q) => ({ label: `${q.type} weights`, value: `${q.constantCount} tensors, ${q.constantBytes} bytes` })),
    ],
    fix: impact.status === 'pass' ? null : 'Run the numeric check (workbench verify with numeric) to measure top-1 agreement; re-convert with dynamic_int8 if drift is too large.',
    fixableByMetadata: false,
    source: 'TFLite schema.fbs tensor types; litert-torch quantization recipes',
  };
}

/**
 * The LiteRT-LM runtime drives the main model through its prefill_<N> and
 * decode signatures; a .tflite without them (a generic export, an encoder)
 * packs into a valid-looking bundle that cannot generate a token on a device.
 */
export function signaturesCheck(input: AnalysisInput): CheckItem {
  const tflite = input.bundle.tflite;
  const base = {
    id: 'context.signatures',
    category: 'context' as const,
    title: 'The .tflite has the prefill and decode signatures the runtime calls',
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/executor/llm_litert_compiled_model_executor.cc (prefill_<N> and decode signature runners); litert-torch export',
  };
  if (!tflite) {
    return { ...base, status: 'warn', explanation: 'The bundle has no .tflite model section, so its signatures could not be read.', evidence: [], fix: null };
  }
  const names = tflite.signatures.map((s) => s.key);
  const prefill = tflite.derived.prefillLengths;
  const decode = tflite.derived.hasDecodeSignature;
  const evidence = [
    { label: 'signatures', value: names.length > 0 ? names.join(', ') : '(none)' },
    { label: 'prefill lengths', value: prefill.length > 0 ? prefill.join(', ') : '(none)' },
    { label: 'decode signature', value: decode ? 'yes' : 'no' },
  ];
  if (prefill.length > 0 && decode) {
    return { ...base, status: 'pass', explanation: `The .tflite has prefill signatures for ${prefill.join(', ')} tokens and a decode signature.`, evidence, fix: null };
  }
  const missing = [prefill.length === 0 ? 'no prefill signature' : null, decode ? null : 'no decode signature'].filter(Boolean).join(' and ');
  return {
    ...base,
    status: 'fail',
    explanation: `The .tflite has ${missing}, so the LiteRT-LM runtime cannot run it on a device: it reads the prompt through prefill_<N> and generates through decode.`,
    evidence,
    fix: 'Re-convert the model with the LLM export (the convert stage), which writes the prefill and decode signatures; a generic TFLite export cannot be packaged as an LLM.',
  };
}

export function modelTypeCheck(input: AnalysisInput): CheckItem {
  const want = expectedModelType(input.model);
  const declared = input.bundle.metadata?.llmModelType ? Object.keys(input.bundle.metadata.llmModelType)[0] ?? null : null;
  const ok = declared === want;
  return {
    id: 'metadata.model-type',
    category: 'metadata',
    title: 'llm_model_type matches the architecture',
    status: ok ? 'pass' : 'warn',
    explanation: ok
      ? `llm_model_type is ${declared}, matching ${input.model.folder.config?.architectures[0] ?? 'the model'}.`
      : `llm_model_type is ${declared ?? 'absent'} but the architecture calls for ${want}, and the runtime picks its message handling (thinking channels, tool calls) by this type.`,
    evidence: [
      { label: 'architecture', value: input.model.folder.config?.architectures.join(', ') || '(unknown)' },
      { label: 'bundle llm_model_type', value: declared ?? '(absent)' },
    ],
    fix: ok ? null : `Set llm_model_type to ${want}.`,
    fixableByMetadata: true,
    source: 'LiteRT-LM runtime/proto/llm_metadata.proto (llm_model_type); runtime/conversation/model_data_processor/',
  };
}
