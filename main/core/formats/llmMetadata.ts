/**
 * `litert.lm.proto.LlmMetadata` <-> JSON, with protobufjs loading the
 * upstream .proto files from resources/proto/ at run time. Loading the
 * .proto files (rather than generating static code) keeps the upstream text
 * as the single source: updating resources/proto/ is the whole upgrade, and
 * protobufjs' reflection gives the protobuf JSON mapping (camelCase fields,
 * enum names, int64 as strings) that LlmMetadataJson in main/common/formats.ts
 * describes for the API and the metadata editor.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type protobuf from 'protobufjs';
import { FormatErrorCode, LlmMetadataJson } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { resourcesPath } from '../paths.js';

let cachedType: protobuf.Type | undefined;

/** The reflected LlmMetadata message type (loaded once). */
export function llmMetadataType(): protobuf.Type {
  if (cachedType) return cachedType;
  const dir = resourcesPath('proto');
  // Required on first use, not imported: most CLI calls never read metadata, and every one would pay ~30 ms.
  const { Root } = createRequire(import.meta.url)('protobufjs') as typeof protobuf;
  const root = new Root();
  // Upstream imports are "runtime/proto/<name>.proto"; ours sit flat in resources/proto/.
  root.resolvePath = (_origin, target) => path.join(dir, path.basename(target));
  root.loadSync('llm_metadata.proto', { keepCase: false });
  root.resolveAll();
  cachedType = root.lookupType('litert.lm.proto.LlmMetadata');
  return cachedType;
}

/** Decodes a binary LlmMetadata into its JSON form; `source` names it in errors. */
export function decodeLlmMetadata(bytes: Uint8Array, source: string): LlmMetadataJson {
  const type = llmMetadataType();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    throw new WorkbenchError(FormatErrorCode.corrupt, `The LlmMetadata in ${source} is not a valid protocol buffer (${(error as Error).message}).`, { source });
  }
  const object = type.toObject(message, { longs: String, enums: String, bytes: String, defaults: false, oneofs: false, json: true });
  const parsed = LlmMetadataJson.safeParse(normalise(object));
  if (!parsed.success) {
    throw new WorkbenchError(
      FormatErrorCode.corrupt,
      `The LlmMetadata in ${source} decodes to unexpected values (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}).`,
      { source },
    );
  }
  return parsed.data;
}

/** Encodes JSON (validated against LlmMetadataJson and the .proto) into the binary form. */
export function encodeLlmMetadata(json: unknown): Uint8Array {
  const parsed = LlmMetadataJson.safeParse(json);
  if (!parsed.success) {
    throw new WorkbenchError(
      'bad_metadata',
      `The LlmMetadata is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}.`,
    );
  }
  const type = llmMetadataType();
  // fromObject maps enum names to numbers; verify then checks against the .proto
  // (zod above has already refused values fromObject would silently coerce).
  const message = type.fromObject(parsed.data);
  const problem = type.verify(message);
  if (problem) throw new WorkbenchError('bad_metadata', `The LlmMetadata does not fit llm_metadata.proto: ${problem}.`);
  return type.encode(message).finish();
}

/**
 * protobufjs gives int64 as strings and float fields widened from float32
 * (0.8 → 0.800000011920929); turn both back into what a person typed.
 */
function normalise(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, k)]));
  }
  if (typeof value === 'string' && key === 'kvCacheInitValue') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (typeof value === 'number' && (key === 'p' || key === 'temperature')) return shortestFloat32(value);
  return value;
}

/** The shortest decimal that rounds to the same float32. */
export function shortestFloat32(value: number): number {
  const target = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return target;
}
