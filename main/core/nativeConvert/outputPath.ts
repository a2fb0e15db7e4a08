/**
 * Where the native route writes: the exact file given (`outFile`, the CLI's
 * --out), else <outDir>/<prefix>_<quant>_ekv<kv>.tflite like the example
 * scripts, so the packaging step finds it where the wizard expects it.
 * The prefix defaults to the family name (qwen2, qwen3, llama).
 */
import path from 'node:path';
import { nativeTfliteName, type ConvertParams } from '../../common/stages/convert.js';

export function nativeOutputPath(params: Pick<ConvertParams, 'outDir' | 'outFile' | 'outputNamePrefix' | 'quantize' | 'kvCacheMaxLen'>, familyName: string): string {
  if (params.outFile) return path.resolve(params.outFile);
  return path.join(path.resolve(params.outDir), nativeTfliteName(params.outputNamePrefix ?? familyName, params.quantize, params.kvCacheMaxLen));
}
