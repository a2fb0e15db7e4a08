/**
 * Step 3: conversion to .tflite with the AI Edge Torch / LiteRT Torch
 * generative converter. Every choice explained for a first-time user.
 */
import { Field } from '../components/common';
import { PathField } from '../components/PathField';
import { derivedPaths, type StepProps } from './draft';
import type { Quantization } from '../../../main/common/stages/convert';

export const QUANTIZATION_HELP: Record<Quantization, string> = {
  dynamic_int8: 'int8 weights, float activations (default). ~¼ of fp32 size, small quality loss.',
  weight_only_int8: 'int8 weights dequantized at run time. Same size as dynamic int8, slower, slightly closer to float.',
  fp16: 'half-precision weights. ~½ of fp32 size, near-lossless.',
  dynamic_int4_block32: 'int4 weights in blocks of 32. ~⅛ of fp32 size, noticeable quality loss on small models.',
  dynamic_int4_block128: 'int4 weights in blocks of 128. Smallest, most quality loss.',
  none: 'float32 weights. Largest file and most conversion memory; reference quality.',
};

const CONTEXTS = [512, 1024, 2048, 4096, 8192, 16384, 32768];

export function ConvertStep({ draft, update }: StepProps) {
  const paths = derivedPaths(draft);
  const set = (patch: Partial<typeof draft.convert>) => update((d) => ({ ...d, convert: { ...d.convert, ...patch } }));
  return (
    <div className="step" data-testid="step-convert">
      <h2>Conversion</h2>
      <label className="check">
        <input type="checkbox" checked={draft.convert.enabled} onChange={(event) => set({ enabled: event.target.checked })} />
        Convert to .tflite
      </label>
      <p className="muted">Input: {paths.convertInput || '—'}</p>
      <PathField label="Output folder" kind="folder" value={draft.convert.outDir} placeholder={paths.convertOut} onChange={(outDir) => set({ outDir })} />
      <Field label="Context length (KV cache)" help="The longest prompt + answer the converted model can hold. Conversion memory grows quickly with it.">
        <select value={draft.convert.kvCacheMaxLen} onChange={(event) => set({ kvCacheMaxLen: Number(event.target.value) })} data-testid="kv-select">
          {CONTEXTS.map((kv) => (
            <option key={kv} value={kv}>
              {kv.toLocaleString()}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Quantization" help={QUANTIZATION_HELP[draft.convert.quantize]}>
        <select value={draft.convert.quantize} onChange={(event) => set({ quantize: event.target.value as Quantization })}>
          {Object.keys(QUANTIZATION_HELP).map((q) => (
            <option key={q} value={q}>
              {q}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Prefill lengths" help="Each prompt-processing length becomes its own signature in the model; prompts are processed in chunks of these sizes.">
        <input
          type="text"
          value={draft.convert.prefillSeqLens.join(', ')}
          onChange={(event) =>
            set({
              prefillSeqLens: event.target.value
                .split(/[,\s]+/)
                .map(Number)
                .filter((n) => Number.isInteger(n) && n > 0),
            })
          }
        />
      </Field>
    </div>
  );
}
