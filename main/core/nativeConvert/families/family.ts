/**
 * What a decoder family module provides (as llama.cpp's convert_hf_to_gguf.py
 * registers one class per Hugging Face architecture, and litert-torch has one
 * generative/examples/<family>/ module each): how it reads config.json
 * (refusing what it does not build), which checkpoint tensors it uses, and
 * the code of its decoder block, composed from the shared layers
 * (layers.ts, attention.ts). decoderGraph.ts owns only what every family
 * shares: the LiteRT-LM signature inputs/outputs, the embedding lookup, the
 * KV-cache write and the lm_head.
 */
import type { DecoderConfig } from '../config.js';
import type { DecoderSignature } from '../signature.js';
import type { WeightEncoding } from '../quantize.js';
import type { RegisteredWeight, WeightTable } from '../weights.js';

export interface DecoderFamily {
  /** Short name used in file names, descriptions and docs (qwen2, gemma3, ...). */
  name: string;
  /** Hugging Face `architectures` names this module builds. */
  architectures: readonly string[];
  /**
   * config.json → DecoderConfig: refuses, in one sentence naming the field,
   * every feature this family's block does not build.
   */
  configure(raw: Record<string, unknown>, architecture: string): DecoderConfig;
  /** Registers the weights the block uses (in file order of use) and returns the model's code. */
  model(config: DecoderConfig, weights: WeightTable, encoding: WeightEncoding): FamilyModel;
  /** Checkpoint tensors this family knowingly leaves unused (e.g. a vision tower); everything else unused is an error. */
  ignoresTensor?(name: string): boolean;
}

export interface FamilyModel {
  embed: RegisteredWeight;
  /** Multiplies the looked-up embedding (Gemma: √hidden); null = none. */
  embedScale: number | null;
  lmHead: RegisteredWeight;
  /**
   * One decoder block on x [T, hidden]; returns the new x, or null when the
   * signature needs only this layer's KV write (the last layer of a prefill).
   */
  block(s: DecoderSignature, layer: number, x: number): number | null;
  /** The final norm before the lm_head. */
  finalNorm(s: DecoderSignature, x: number): number;
}
