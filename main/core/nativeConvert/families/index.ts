/**
 * The decoder families the native converter builds, registered by the
 * Hugging Face `architectures` name (as llama.cpp's convert_hf_to_gguf.py
 * registers its model classes): one module each. This is the one place
 * native support is decided — intake, the wizard, `estimate --route native`
 * and the convert stage all ask parseDecoderConfig.
 */
import { WorkbenchError } from '../../../common/errors.js';
import { EXPORT_HF_HINT, type DecoderConfig } from '../config.js';
import type { DecoderFamily } from './family.js';
import { gemma3 } from './gemma3.js';
import { llama } from './llama.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';

const FAMILIES: readonly DecoderFamily[] = [qwen2, qwen3, llama, gemma3];

export const SUPPORTED_ARCHITECTURES: readonly string[] = FAMILIES.flatMap((f) => f.architectures);

export function familyFor(architecture: string): DecoderFamily | undefined {
  return FAMILIES.find((f) => f.architectures.includes(architecture));
}

/** config.json → DecoderConfig, or one sentence saying what is not built natively and what to do. */
export function parseDecoderConfig(config: Record<string, unknown>): DecoderConfig {
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  const architecture = architectures[0];
  if (!architecture) {
    throw new WorkbenchError('bad_config', 'config.json has no "architectures" entry, so the model family is unknown.', { field: 'architectures' });
  }
  const family = familyFor(architecture);
  if (!family) {
    throw new WorkbenchError(
      'unsupported_architecture',
      `config.json architectures ${architecture} has no native graph builder (supported: ${SUPPORTED_ARCHITECTURES.join(', ')}); ${EXPORT_HF_HINT}.`,
      { field: 'architectures', architecture },
    );
  }
  return family.configure(config, architecture);
}

/** The module of a parsed config's family. */
export function familyModule(config: DecoderConfig): DecoderFamily {
  const family = familyFor(config.architecture);
  if (!family) throw new Error(`no family module for ${config.architecture}`);
  return family;
}
