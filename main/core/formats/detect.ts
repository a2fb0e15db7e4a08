/**
 * `inspectPath(path)`: probes a path once and hands it to the first reader
 * whose `match` accepts it (.litertlm by magic, .tflite by file identifier,
 * an HF model folder by its files). The one entry point the CLI, the API
 * and the fidelity analyzer use to look inside any artifact.
 */
import { FormatErrorCode } from '../../common/formats.js';
import type { InspectionSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { hfFolderFormat } from './hfFolder.js';
import { litertlmFormat } from './litertlm.js';
import { probePath } from './reader.js';
import type { FormatReader } from './reader.js';
import { tfliteFormat } from './tflite.js';

export const FORMAT_READERS: readonly FormatReader[] = [litertlmFormat, tfliteFormat, hfFolderFormat];

export async function inspectPath(target: string): Promise<InspectionSummary> {
  const probe = await probePath(target);
  const reader = FORMAT_READERS.find((r) => r.match(probe));
  if (!reader) {
    throw new WorkbenchError(
      FormatErrorCode.unknownFormat,
      probe.isDirectory
        ? `${target} is a folder without config.json, tokenizer.json or tokenizer_config.json, so it is not a Hugging Face model folder.`
        : probe.size === 0
          ? `${target} is empty.`
          : `${target} is neither a .litertlm bundle nor a .tflite model (no LITERTLM magic or TFL3 identifier).`,
      { path: target },
    );
  }
  return reader.open(target);
}
