/**
 * The fidelity report: does a packaged model (.litertlm, or .tflite plus
 * metadata) behave the way its Hugging Face folder says the model was trained
 * and released to behave? One checklist item per question (stop tokens,
 * start token, prompt format, sampling, context, quantization, tokenizer),
 * each pass / warn / fail with a one-sentence explanation, the evidence and
 * the fix. Schemas here so the API, the CLI, the stage and the renderer agree.
 * docs/fidelity.md explains every check and its source.
 */
import { z } from 'zod';
import { LlmMetadataJson } from './formats.js';

export const CheckStatus = z.enum(['pass', 'warn', 'fail']);
export type CheckStatus = z.infer<typeof CheckStatus>;

export const CheckCategory = z.enum(['stop-tokens', 'start-token', 'prompt-format', 'sampling', 'context', 'quantization', 'tokenizer', 'metadata']);
export type CheckCategory = z.infer<typeof CheckCategory>;

/** One labelled fact the verdict rests on (a value from each side, a count, ...). */
export const Evidence = z.object({ label: z.string(), value: z.string() });
export type Evidence = z.infer<typeof Evidence>;

/** Where two renderings of one conversation part ways, as text and as token ids. */
export const PromptDiff = z.object({
  conversation: z.string(),
  /** The model's own chat template, as transformers renders it. */
  expectedText: z.string(),
  /** What the runtime would feed the model from the bundle's metadata. */
  actualText: z.string(),
  /** First differing character offset; null when the texts are equal. */
  textOffset: z.number().int().nullable(),
  expectedIds: z.array(z.number().int()).nullable(),
  actualIds: z.array(z.number().int()).nullable(),
  /** First differing token index; null when equal or not tokenized. */
  tokenOffset: z.number().int().nullable(),
});
export type PromptDiff = z.infer<typeof PromptDiff>;

export const CheckItem = z.object({
  /** Stable id, e.g. "stop-tokens.end-of-turn" (docs/fidelity.md has one section per id). */
  id: z.string(),
  category: CheckCategory,
  title: z.string(),
  status: CheckStatus,
  /** One sentence: what was found and why it matters. */
  explanation: z.string(),
  evidence: z.array(Evidence),
  /** One or two sentences saying what to do; null when there is nothing to do. */
  fix: z.string().nullable(),
  /** Re-packaging with corrected metadata (`workbench package --fix-metadata`) resolves it. */
  fixableByMetadata: z.boolean(),
  /** The runtime source file or upstream issue the check is based on. */
  source: z.string(),
  diffs: z.array(PromptDiff).optional(),
});
export type CheckItem = z.infer<typeof CheckItem>;

export const ReportSummary = z.object({
  pass: z.number().int().nonnegative(),
  warn: z.number().int().nonnegative(),
  fail: z.number().int().nonnegative(),
  /** The worst status of any item: what the CLI's exit code reflects. */
  overall: CheckStatus,
  /** At least one failing or warning item would be resolved by the metadata fix. */
  fixAvailable: z.boolean(),
});
export type ReportSummary = z.infer<typeof ReportSummary>;

export const FidelityReport = z.object({
  schemaVersion: z.literal(1),
  createdAt: z.string(),
  modelDir: z.string(),
  bundlePath: z.string(),
  /** Bundle kind that was checked: a .litertlm, or a .tflite with a separate metadata file. */
  bundleKind: z.enum(['litertlm', 'tflite']),
  intendedContext: z.number().int().nullable(),
  summary: ReportSummary,
  items: z.array(CheckItem),
  /** The metadata the model folder calls for: what the fix would write. */
  correctedMetadata: LlmMetadataJson.nullable(),
});
export type FidelityReport = z.infer<typeof FidelityReport>;

/** Worst of a list of statuses (fail > warn > pass); pass for an empty list. */
export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.includes('fail')) return 'fail';
  if (statuses.includes('warn')) return 'warn';
  return 'pass';
}

export function summarize(items: readonly CheckItem[]): ReportSummary {
  return {
    pass: items.filter((i) => i.status === 'pass').length,
    warn: items.filter((i) => i.status === 'warn').length,
    fail: items.filter((i) => i.status === 'fail').length,
    overall: worstStatus(items.map((i) => i.status)),
    fixAvailable: items.some((i) => i.status !== 'pass' && i.fixableByMetadata),
  };
}

/**
 * CLI exit code for a report, on the scale every command uses (docs/cli.md):
 * 0 nothing failed, 1 at least one failure. Warnings fail only when `strict`
 * asks for it (`--strict`, for a release gate); 2 stays the usage error.
 */
export function exitCodeFor(summary: Pick<ReportSummary, 'overall'>, options: { strict?: boolean } = {}): 0 | 1 {
  if (summary.overall === 'fail') return 1;
  return summary.overall === 'warn' && options.strict ? 1 : 0;
}
