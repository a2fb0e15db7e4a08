/**
 * The fidelity analyzer: runs every check on a model folder and a bundle
 * and assembles the report (main/common/fidelity.ts). Entry points:
 * `checkFidelity(paths)` reads from disk, `analyze(input)` works on an
 * already loaded input (the fix re-checks with it).
 */
import type { CheckItem, FidelityReport } from '../../common/fidelity.js';
import { summarize } from '../../common/fidelity.js';
import { WorkbenchError } from '../../common/errors.js';
import { engineChecks } from './checks/engine.js';
import { promptFormatChecks } from './checks/promptFormat.js';
import { contextChecks, modelTypeCheck, quantizationCheck, samplingChecks, signaturesCheck } from './checks/runtime.js';
import { startTokenChecks, stopTokenChecks } from './checks/tokens.js';
import { tokenizerCheck } from './checks/tokenizer.js';
import type { AnalysisInput } from './input.js';
import { correctedMetadata, modelIntent } from './intent.js';
import { loadBundleSide, loadModelSide } from './load.js';

export interface CheckRequest {
  modelDir: string;
  bundlePath: string;
  /** For a bare .tflite: LlmMetadata as .json or binary .pb (for a .litertlm it overrides the embedded one). */
  metadataPath?: string;
  intendedContext?: number | null;
}

export async function loadAnalysisInput(request: CheckRequest): Promise<AnalysisInput> {
  if (request.intendedContext !== undefined && request.intendedContext !== null && (!Number.isInteger(request.intendedContext) || request.intendedContext < 1)) {
    throw new WorkbenchError('bad_intended_context', `The intended context must be a positive whole number of tokens, not ${request.intendedContext}.`);
  }
  const model = await loadModelSide(request.modelDir);
  const bundle = await loadBundleSide(request.bundlePath, model, request.metadataPath);
  return { model, bundle, intendedContext: request.intendedContext ?? null };
}

export async function checkFidelity(request: CheckRequest): Promise<FidelityReport> {
  return analyze(await loadAnalysisInput(request));
}

export function analyze(input: AnalysisInput, now: Date = new Date()): FidelityReport {
  const intent = modelIntent(input.model);
  const prompt = promptFormatChecks(input, intent);
  const items: CheckItem[] = [
    ...stopTokenChecks(input, intent),
    ...startTokenChecks(input, intent, prompt.packagedFirstIds),
    ...prompt.items,
    ...samplingChecks(input),
    ...contextChecks(input),
    signaturesCheck(input),
    quantizationCheck(input),
    tokenizerCheck(input),
    modelTypeCheck(input),
    ...engineChecks(input),
  ];
  const summary = summarize(items);
  // The metadata fix refuses a bundle with another tokenizer (its ids would name other tokens): never offer it then.
  if (metadataFixBlocker(input, items)) summary.fixAvailable = false;
  return {
    schemaVersion: 1,
    createdAt: now.toISOString(),
    modelDir: input.model.dir,
    bundlePath: input.bundle.path,
    bundleKind: input.bundle.kind,
    intendedContext: input.intendedContext,
    summary,
    items,
    correctedMetadata: correctedMetadata(input.model, intent, input.bundle.tflite, input.bundle.metadata),
  };
}

/**
 * The tokenizer check that makes a metadata fix pointless, or null: a
 * .litertlm whose tokenizer is not the model's (the model's stop and start
 * ids would name other tokens of the bundle's vocabulary). The fix refuses
 * exactly this (packager/fixMetadata.ts), and the report then offers no fix.
 */
export function metadataFixBlocker(input: AnalysisInput, items: readonly CheckItem[]): CheckItem | null {
  const item = items.find((i) => i.id === 'tokenizer.identical');
  if (input.bundle.kind === 'tflite' || !input.bundle.tokenizer || !input.model.folder.tokenizer || !item || item.status === 'pass') return null;
  return item;
}
