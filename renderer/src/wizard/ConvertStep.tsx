/**
 * Step 3: conversion, by the workbench's own native converter (the default
 * where it builds the model) or the AI Edge Torch / LiteRT Torch generative
 * converter. Every choice is explained for a first-time user (route, context
 * length with its predicted memory here and on the device, prefill lengths,
 * quantization with its size and quality effect), options a route does not
 * have are hidden rather than silently ignored, and the exact command is
 * shown, ready to copy, so the run can be reproduced by hand.
 */
import { converterCommand, matchExampleBuilder } from '../../../main/common/converterSupport';
import { formatBytes } from '../../../main/common/format';
import { untrainedContextWarning } from '../../../main/common/memoryEstimate';
import { ConvertParams, EXPORT_HF_RECIPES, NATIVE_QUANTIZATIONS, type ConvertRoute, type Quantization } from '../../../main/common/stages/convert';
import { useEffect, useState } from 'react';
import { useCall } from '../api/hooks';
import { Field } from '../components/common';
import { PathField } from '../components/PathField';
import { ContextLengthPicker } from './ContextLengthPicker';
import { derivedPaths, type StepProps } from './draft';
import { droppedDefaults, parsePrefillLengths, prefillForContext } from './prefillLengths';

export const QUANTIZATION_HELP: Record<Quantization, string> = {
  dynamic_int8: 'int8 weights, float activations (the default, used in the field report). About ¼ of the float32 size; a small quality loss.',
  weight_only_int8: 'int8 weights turned back into floats while running. Same size as dynamic int8, slower, slightly closer to the original.',
  fp16: 'half-precision weights. About ½ of the float32 size; nearly lossless. Not on the export_hf route.',
  dynamic_int4_block32: 'int4 weights in blocks of 32, each block with its own float16 scale (0.56 bytes per weight, about ⅐ of float32); float activations. A noticeable quality loss on small (≤ 3B) models. Every input dimension must be a multiple of 32.',
  dynamic_int4_block128: 'int4 weights in blocks of 128 (0.52 bytes per weight). The smallest file and the largest quality loss; every input dimension must be a multiple of 128. Not on the export_hf route.',
  none: 'float32 weights. The largest file and the most conversion memory; reference quality, useful to rule quantization out when output looks wrong.',
};

/** Bytes per weight after each quantization, for the size estimate. */
const BYTES_PER_WEIGHT: Record<Quantization, number> = {
  none: 4,
  fp16: 2,
  dynamic_int8: 1,
  weight_only_int8: 1,
  dynamic_int4_block32: 0.5625,
  dynamic_int4_block128: 0.515625,
};

const ROUTES: Record<ConvertRoute, { title: string; help: string }> = {
  native: {
    title: 'Native → .tflite (built in, bounded memory)',
    help: 'The default: the workbench converts Qwen2/Qwen2.5, Qwen3 and Llama 3 checkpoints itself, streaming one weight at a time — under 1 GiB of RAM at any context, minutes instead of the field report’s 128 GB host and 30 min, and no Python. Same signatures, names and int8/int4 formats as litert-torch’s output; checked against a PyTorch forward pass. Other architectures or features (sliding window, MoE, other rope scalings) need a Python route.',
  },
  example: {
    title: 'Example builders → .tflite (AI Edge Torch 0.7)',
    help: 'The converter’s hand-written model definitions for Qwen, Llama, Gemma and Phi sizes. Produces a .tflite that the packaging step bundles into a .litertlm. The route the field report used.',
  },
  export_hf: {
    title: 'export_hf → .litertlm (LiteRT Torch 0.10)',
    help: 'Loads the folder with transformers, so any causal LM of a supported family and size converts; writes the .litertlm bundle itself and offers a lower-memory “lightweight” conversion.',
  },
};

export function ConvertStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  const c = draft.convert;
  const set = (patch: Partial<typeof draft.convert>) => update((d) => ({ ...d, convert: { ...d.convert, ...patch } }));
  // The merge output does not exist yet: the base folder has the same config.
  const configDir = draft.modelDir.trim();
  const settings = useCall('settings.get', {});
  const intake = useCall('intake.inspect', configDir ? { modelDir: configDir, route: c.route } : null);
  const model = intake.data?.model ?? null;
  const untrained = untrainedContextWarning(c.kvCacheMaxLen, model?.dims.maxPositionEmbeddings ?? null);
  const quantChoices = (Object.keys(QUANTIZATION_HELP) as Quantization[]).filter((q) => (c.route === 'native' ? NATIVE_QUANTIZATIONS.includes(q) : c.route === 'example' || q in EXPORT_HF_RECIPES));

  const params = ConvertParams.safeParse({
    modelDir: paths.convertInput || '/path/to/model',
    outDir: paths.convertOut || '/path/to/output',
    route: c.route,
    kvCacheMaxLen: c.kvCacheMaxLen,
    prefillSeqLens: c.prefillSeqLens,
    quantize: c.quantize,
    outputNamePrefix: paths.prefix,
    lightweightConversion: c.route === 'export_hf' && c.lightweightConversion,
    maskAsInput: c.route === 'example' && c.maskAsInput,
    transposeKvCache: c.route !== 'export_hf' && c.transposeKvCache,
  });
  const match = model ? matchExampleBuilder({ architectures: model.architecture ? [model.architecture] : [], ...model.dims }) : null;
  let command: string | null = null;
  let commandProblem: string | null = null;
  if (!params.success) commandProblem = params.error.issues.map((i) => i.message).join(' ');
  else if (c.route === 'example' && !match) commandProblem = 'Choose the model in step 1 to see the command (the model size comes from its config.json).';
  else if (c.route === 'example' && match && !match.ok) commandProblem = `${match.message} Switch to export_hf.`;
  else command = converterCommand(params.data, match?.ok ? match.builder : null);

  const weights = model?.parameterCount ?? model?.parameterCountFromConfig ?? null;
  return (
    <div className="step" data-testid="step-convert">
      <h2>Conversion</h2>
      <label className="check">
        <input type="checkbox" checked={c.enabled} onChange={(event) => set({ enabled: event.target.checked })} data-testid="convert-enabled" />
        Convert the model for LiteRT
      </label>
      <p className="muted">Input: {paths.convertInput || '—'}</p>
      <Field label="Route" help={ROUTES[c.route].help}>
        <select
          value={c.route}
          onChange={(event) => {
            const route = event.target.value as ConvertRoute;
            const keeps = route === 'native' ? NATIVE_QUANTIZATIONS.includes(c.quantize) : route === 'example' || c.quantize in EXPORT_HF_RECIPES;
            set({ route, ...(keeps ? {} : { quantize: 'dynamic_int8' as const }) });
          }}
          data-testid="route-select"
        >
          {(Object.keys(ROUTES) as ConvertRoute[]).map((route) => (
            <option key={route} value={route}>
              {ROUTES[route].title}
            </option>
          ))}
        </select>
      </Field>
      {model && !model.support[c.route].supported ? (
        <div className="warn-text" data-testid="route-unsupported">
          <p>{model.support[c.route].message}</p>
          {(['native', 'example', 'export_hf'] as const)
            .filter((other) => other !== c.route && model.support[other].supported)
            .map((other) => (
              <button key={other} type="button" className="secondary" onClick={() => set({ route: other, ...(other === 'native' && !NATIVE_QUANTIZATIONS.includes(c.quantize) ? { quantize: 'dynamic_int8' as const } : {}) })} data-testid={`use-route-${other}`}>
                Use {ROUTES[other].title}
              </button>
            ))}
        </div>
      ) : null}
      {model && c.route !== 'native' && model.support.native.supported ? (
        <p className="help" data-testid="native-available">
          The native converter builds this model too, in under 1 GiB of RAM and without Python.{' '}
          <button type="button" className="secondary" onClick={() => set({ route: 'native', ...(NATIVE_QUANTIZATIONS.includes(c.quantize) ? {} : { quantize: 'dynamic_int8' as const }) })} data-testid="use-route-native">
            Use the native route
          </button>
        </p>
      ) : null}
      <PathField label="Output folder" kind="folder" value={c.outDir} placeholder={paths.convertOut} onChange={(outDir) => set({ outDir })} />
      <Field
        label="Context length (KV cache)"
        help="The most tokens — prompt plus answer — the converted model can hold in one conversation. It is fixed at conversion: the phone cannot go beyond it, and conversion memory grows quickly with it."
      >
        <ContextLengthPicker
          modelDir={configDir}
          route={c.route}
          quantize={c.quantize}
          prefillSeqLens={c.prefillSeqLens}
          lightweightConversion={c.route === 'export_hf' && c.lightweightConversion}
          maskAsInput={c.route === 'example' && c.maskAsInput}
          deviceRamGiB={c.deviceRamGiB}
          onDeviceRamChange={(deviceRamGiB) => set({ deviceRamGiB })}
          allowDeviceOverflow={c.allowDeviceOverflow}
          onAllowDeviceOverflow={(allowDeviceOverflow) => set({ allowDeviceOverflow })}
          value={c.kvCacheMaxLen}
          onChange={(kvCacheMaxLen) => set({ kvCacheMaxLen, prefillSeqLens: prefillForContext(c.prefillSeqLens, c.kvCacheMaxLen, kvCacheMaxLen) })}
          overrideAllowed={draft.allowPredictedOom || settings.data?.allowPredictedOom === true}
        />
        {untrained ? (
          <p className="warn-text" data-testid="context-untrained">
            {untrained}
          </p>
        ) : null}
      </Field>
      <PrefillField lengths={c.prefillSeqLens} kvCacheMaxLen={c.kvCacheMaxLen} onChange={(prefillSeqLens, prefillInvalid) => set({ ...(prefillSeqLens ? { prefillSeqLens } : {}), prefillInvalid })} />
      <Field label="Quantization" help={QUANTIZATION_HELP[c.quantize]}>
        <select value={c.quantize} onChange={(event) => set({ quantize: event.target.value as Quantization })} data-testid="quant-select">
          {quantChoices.map((q) => (
            <option key={q} value={q}>
              {q}
              {weights ? ` — about ${formatBytes(weights * BYTES_PER_WEIGHT[q])}` : ''}
            </option>
          ))}
        </select>
      </Field>
      {c.route === 'export_hf' ? (
        <label className="check">
          <input type="checkbox" checked={c.lightweightConversion} onChange={(event) => set({ lightweightConversion: event.target.checked })} data-testid="lightweight" />
          Lightweight conversion (experimental): the converter’s lower-memory path; may not work for every model.
        </label>
      ) : c.route === 'native' ? (
        <p className="help">The attention mask is always an input on the native route: LiteRT-LM fills it, and reads the context length from it.</p>
      ) : (
        <label className="check">
          <input type="checkbox" checked={c.maskAsInput} onChange={(event) => set({ maskAsInput: event.target.checked })} data-testid="mask-as-input" />
          Mask as input: the runtime passes the attention mask instead of the model holding a context × context mask. Saves memory at long contexts; the runtime must support it.
        </label>
      )}
      {c.route !== 'export_hf' ? (
        <label className="check">
          <input type="checkbox" checked={c.transposeKvCache} onChange={(event) => set({ transposeKvCache: event.target.checked })} data-testid="transpose-kv" />
          Transposed KV cache (K [1,G,S,H], V [1,G,H,S]): the layout some GPU delegates expect; on CPU it spares the per-layer transpose of the whole cache at every step. Off = litert-torch’s default [1,S,G,H].
        </label>
      ) : null}
      <Field
        label="Equivalent converter command"
        help={
          c.route === 'native'
            ? 'What this stage runs, as a workbench command you can run by hand (no Python needed). The result is also recorded next to the output (.convert.json).'
            : 'What this stage runs, as a command you can run by hand in the same Python environment. It is also recorded next to the output (.convert.json).'
        }
      >
        {command ? (
          <div className="actions">
            <pre className="plan-json" data-testid="convert-command" style={{ whiteSpace: 'pre-wrap', flex: 1, margin: 0 }}>
              {command}
            </pre>
            <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(command ?? '')} data-testid="copy-command">
              Copy
            </button>
          </div>
        ) : (
          <p className="warn-text" data-testid="convert-command-problem">
            {commandProblem}
          </p>
        )}
      </Field>
    </div>
  );
}

/**
 * Prefill lengths typed as a list. The text is kept as typed (a trailing comma
 * while typing the next number is fine). A list of numbers goes into the plan
 * as shown, even one longer than the context (the field and the Review page
 * say why it cannot start); text that is no list is explained at the field and
 * the Review page blocks Start until it is fixed.
 */
function PrefillField({ lengths, kvCacheMaxLen, onChange }: { lengths: number[]; kvCacheMaxLen: number; onChange: (lengths: number[] | null, invalid: string | null) => void }) {
  const [text, setText] = useState(lengths.join(', '));
  const parsed = parsePrefillLengths(text, kvCacheMaxLen);
  useEffect(() => {
    // A reset of the draft (or a re-run's plan) replaces the list from outside; the text is kept otherwise.
    const current = parsePrefillLengths(text, Number.MAX_SAFE_INTEGER);
    if (!current.ok || current.lengths.join() !== [...lengths].sort((a, b) => a - b).join()) setText(lengths.join(', '));
  }, [lengths.join()]);
  return (
    <Field
      label="Prefill lengths"
      help="Before answering, the model reads the prompt in chunks (“prefill”). Each length here becomes one fixed-size entry point in the converted model; a prompt uses the smallest that fits, padded. More lengths cost conversion time and memory; the longest must not exceed the context length. The converter’s default is 8, 64, 128, 256, 512, 1024."
      error={parsed.ok ? undefined : parsed.message}
    >
      <input
        type="text"
        value={text}
        data-testid="prefill-input"
        onChange={(event) => {
          setText(event.target.value);
          const next = parsePrefillLengths(event.target.value, kvCacheMaxLen);
          onChange(next.lengths ?? null, next.ok || next.lengths ? null : next.message);
        }}
        onBlur={() => parsed.ok && setText(parsed.lengths.join(', '))}
      />
      {parsed.ok && droppedDefaults(parsed.lengths, kvCacheMaxLen).length > 0 ? (
        <div className="help" data-testid="prefill-trimmed">
          The defaults longer than the context of {kvCacheMaxLen.toLocaleString()} are left out: {droppedDefaults(parsed.lengths, kvCacheMaxLen).join(', ')}.
        </div>
      ) : null}
    </Field>
  );
}
