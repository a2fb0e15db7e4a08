/**
 * The wizard's state: every choice a user makes across the steps, and the
 * one function that turns it into a run plan (the same JSON the CLI takes).
 * Output paths chain: the merge's output is the conversion's input, the
 * conversion's .tflite is the package's input, the package is verified.
 */
import type { RunPlanInput, StagePlanInput } from '../../../main/common/stages/plan';
import type { LlmMetadataJson } from '../../../main/common/formats';
import { QUANT_SUFFIX, type ConvertRoute, type Quantization } from '../../../main/common/stages/convert';

export interface WizardDraft {
  name: string;
  modelDir: string;
  /** Empty when the model is already merged (no merge stage). */
  adapterDir: string;
  /** threads: worker threads for the matrix products, 0 = one per core of the engine's host. */
  merge: { enabled: boolean; outDir: string; verify: boolean; shardSizeMiB: number; threads: number };
  convert: {
    enabled: boolean;
    outDir: string;
    route: ConvertRoute;
    /** RAM of the device the model is for, judged per context length (GiB). */
    deviceRamGiB: number;
    /** Allow a context that does not fit that device (e.g. converting for a larger one). */
    allowDeviceOverflow: boolean;
    kvCacheMaxLen: number;
    prefillSeqLens: number[];
    quantize: Quantization;
    lightweightConversion: boolean;
    maskAsInput: boolean;
    transposeKvCache: boolean;
    outputNamePrefix: string;
    /** Why the prefill field's text is not a list of lengths (the plan keeps the last list that was), or null. */
    prefillInvalid: string | null;
  };
  /** metadataOverrides: LlmMetadata fields edited in the wizard (the rest is derived from the model's files). */
  package: { enabled: boolean; tflitePath: string; outPath: string; metadataOverrides: LlmMetadataJson };
  /** intendedContext: null follows the conversion's context (step 3) until the user types one here. */
  verify: { enabled: boolean; bundlePath: string; intendedContext: number | null; numeric: boolean; behaviour?: boolean };
  allowPredictedOom: boolean;
}

export const DEFAULT_DRAFT: WizardDraft = {
  name: '',
  modelDir: '',
  adapterDir: '',
  merge: { enabled: true, outDir: '', verify: true, shardSizeMiB: 4096, threads: 0 },
  convert: {
    enabled: true,
    outDir: '',
    // The built-in converter: no Python, bounded memory; the step offers the Python routes when it cannot build a model.
    route: 'native',
    deviceRamGiB: 8,
    allowDeviceOverflow: false,
    kvCacheMaxLen: 4096,
    prefillSeqLens: [8, 64, 128, 256, 512, 1024],
    quantize: 'dynamic_int8',
    lightweightConversion: false,
    maskAsInput: false,
    transposeKvCache: false,
    outputNamePrefix: '',
    prefillInvalid: null,
  },
  package: { enabled: true, tflitePath: '', outPath: '', metadataOverrides: {} },
  verify: { enabled: true, bundlePath: '', intendedContext: null, numeric: false },
  allowPredictedOom: false,
};

export type DraftUpdate = (update: (draft: WizardDraft) => WizardDraft) => void;

export interface StepProps {
  draft: WizardDraft;
  update: DraftUpdate;
}

function joinPath(dir: string, name: string): string {
  if (!dir) return '';
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

function basename(p: string): string {
  return p.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
}

function parentDir(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  const at = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return at > 0 ? trimmed.slice(0, at) : trimmed;
}

/** The file name the example converter scripts write: <prefix>_<quant>_ekv<kv>.tflite. */
export function expectedTfliteName(prefix: string, quantize: Quantization, kv: number): string {
  return `${prefix}_${QUANT_SUFFIX[quantize]}_ekv${kv}.tflite`;
}

export function mergeEnabled(draft: WizardDraft): boolean {
  return draft.adapterDir.trim() !== '' && draft.merge.enabled;
}

/** The export_hf route writes the .litertlm bundle itself: no separate packaging stage. */
export function packageEnabled(draft: WizardDraft): boolean {
  return draft.package.enabled && !(draft.convert.enabled && draft.convert.route === 'export_hf');
}

/** The context the verification checks the bundle for: the user's own figure, else the conversion's context. */
export function intendedContext(draft: WizardDraft): number | undefined {
  return draft.verify.intendedContext ?? (draft.convert.enabled ? draft.convert.kvCacheMaxLen : undefined);
}

/** Fills derived paths the user has not set themselves. */
export function derivedPaths(draft: WizardDraft) {
  const model = draft.modelDir.trim();
  const base = basename(model) || 'model';
  const workRoot = model ? joinPath(parentDir(model), `${base}-workbench`) : '';
  const mergeOut = draft.merge.outDir || (workRoot ? joinPath(workRoot, 'merged') : '');
  const convertInput = mergeEnabled(draft) ? mergeOut : model;
  const convertOut = draft.convert.outDir || (workRoot ? joinPath(workRoot, 'tflite') : '');
  const prefix = draft.convert.outputNamePrefix || base.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const tflite = draft.package.tflitePath || (convertOut ? joinPath(convertOut, expectedTfliteName(prefix, draft.convert.quantize, draft.convert.kvCacheMaxLen)) : '');
  const bundle =
    draft.convert.enabled && draft.convert.route === 'export_hf'
      ? convertOut
        ? joinPath(convertOut, `${prefix}.litertlm`)
        : ''
      : draft.package.outPath || (workRoot ? joinPath(workRoot, `${prefix}.litertlm`) : '');
  const verifyBundle = draft.verify.bundlePath || bundle;
  return { mergeOut, convertInput, convertOut, prefix, tflite, bundle, verifyBundle, metadataModelDir: convertInput };
}

export function buildPlan(draft: WizardDraft): RunPlanInput {
  const paths = derivedPaths(draft);
  const stages: StagePlanInput[] = [];
  if (mergeEnabled(draft)) {
    stages.push({
      kind: 'merge',
      params: {
        baseDir: draft.modelDir.trim(),
        adapterDir: draft.adapterDir.trim(),
        outDir: paths.mergeOut,
        verify: draft.merge.verify,
        shardSizeMiB: draft.merge.shardSizeMiB,
        threads: draft.merge.threads,
      },
    });
  }
  if (draft.convert.enabled) {
    stages.push({
      kind: 'convert',
      params: {
        modelDir: paths.convertInput,
        outDir: paths.convertOut,
        route: draft.convert.route,
        kvCacheMaxLen: draft.convert.kvCacheMaxLen,
        prefillSeqLens: draft.convert.prefillSeqLens,
        quantize: draft.convert.quantize,
        // Route-only options are sent only on their route (the schema refuses them elsewhere).
        lightweightConversion: draft.convert.route === 'export_hf' && draft.convert.lightweightConversion,
        maskAsInput: draft.convert.route === 'example' && draft.convert.maskAsInput,
        transposeKvCache: draft.convert.route !== 'export_hf' && draft.convert.transposeKvCache,
        outputNamePrefix: paths.prefix,
      },
    });
  }
  if (packageEnabled(draft)) {
    const overrides = draft.package.metadataOverrides;
    stages.push({
      kind: 'package',
      params: {
        tflitePath: paths.tflite,
        modelDir: paths.metadataModelDir,
        outPath: paths.bundle,
        ...(Object.keys(overrides).length > 0 ? { metadataOverrides: overrides } : {}),
      },
    });
  }
  if (draft.verify.enabled) {
    stages.push({
      kind: 'verify',
      params: {
        modelDir: paths.metadataModelDir,
        bundlePath: paths.verifyBundle,
        ...(intendedContext(draft) !== undefined ? { intendedContext: intendedContext(draft) } : {}),
        numeric: draft.verify.numeric,
      },
    });
  }
  // The behaviour check (evaluate stage): the bundle in LiteRT-LM's engine next to the model in PyTorch.
  if (draft.verify.behaviour) stages.push({ kind: 'evaluate', params: { modelDir: paths.metadataModelDir, bundlePath: paths.verifyBundle } });
  return { ...(draft.name.trim() ? { name: draft.name.trim() } : {}), stages, allowPredictedOom: draft.allowPredictedOom };
}
