/**
 * Header-only reading of safetensors files and sharded model folders.
 *
 * Other modules (model intake, parameter counting, the merge) need a model's
 * tensor table without touching its weights: these functions read the 8-byte
 * length and the JSON header only, and validate them as strictly as the
 * reference Rust implementation (huggingface/safetensors) does, so a file we
 * accept is one every other tool accepts too.
 *
 * Stable API (imported elsewhere):
 *   readSafetensorsHeader(file)     → SafetensorsHeader
 *   readSafetensorsModel(dir)       → SafetensorsModel (single file or sharded)
 *   countParameters(model | header) → number
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { openRegularFile, readRegularFile } from '../files/regularFile.js';
import { dtypeBits } from './dtypes.js';

/** Same limit as huggingface/safetensors (MAX_HEADER_SIZE): a bigger header is corrupt or hostile. */
export const MAX_HEADER_BYTES = 100_000_000;

export const SINGLE_FILE_NAME = 'model.safetensors';
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets in the file (header included), end exclusive. */
  begin: number;
  end: number;
  byteLength: number;
  elementCount: number;
}

export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  /** Length of the JSON header (the u64 at offset 0). */
  headerLength: number;
  /** Absolute offset where the data block starts (8 + headerLength). */
  dataStart: number;
  /** Tensors in file order (ascending offsets). */
  tensors: TensorEntry[];
  byName: Map<string, TensorEntry>;
  /** `__metadata__` (string → string), or null when absent. */
  metadata: Record<string, string> | null;
}

export interface ModelTensor {
  /** The shard (or single file) holding the tensor. */
  file: SafetensorsHeader;
  entry: TensorEntry;
}

export interface SafetensorsModel {
  dir: string;
  /** True when the folder has model.safetensors.index.json. */
  sharded: boolean;
  /** Files in shard order (one element for a single-file model). */
  files: SafetensorsHeader[];
  /** Every tensor, in shard order then file order. */
  tensors: ModelTensor[];
  byName: Map<string, ModelTensor>;
  /** The index's `metadata` object (sharded models only). */
  indexMetadata: Record<string, unknown> | null;
  totalBytes: number;
}

function fail(code: string, message: string, details?: Record<string, unknown>): never {
  throw new WorkbenchError(code, message, details);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and validates one safetensors file's header. Errors (WorkbenchError codes):
 * safetensors_not_found, safetensors_unreadable, safetensors_truncated,
 * safetensors_header_too_large, safetensors_bad_header, safetensors_bad_tensor,
 * safetensors_unknown_dtype, safetensors_size_mismatch, safetensors_out_of_range,
 * safetensors_overlap.
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  let handle;
  try {
    handle = await openRegularFile(file);
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('safetensors_not_found', `The safetensors file ${file} does not exist.`, { path: file });
    fail('safetensors_unreadable', `Cannot open ${file}: ${(error as Error).message}`, { path: file, errno: code });
  }
  try {
    const { size: fileSize } = await handle.stat();
    if (fileSize < 8) {
      fail('safetensors_truncated', `${file} is ${fileSize} bytes long, too short for a safetensors header.`, { path: file, fileSize });
    }
    const lengthBytes = Buffer.alloc(8);
    await readExactly(handle, lengthBytes, 0);
    const declared = lengthBytes.readBigUInt64LE(0);
    if (declared > BigInt(MAX_HEADER_BYTES)) {
      fail('safetensors_header_too_large', `${file} declares a ${declared}-byte header, more than the ${MAX_HEADER_BYTES}-byte limit: the file is corrupt or not safetensors.`, { path: file, headerLength: declared.toString() });
    }
    const headerLength = Number(declared);
    if (8 + headerLength > fileSize) {
      fail('safetensors_truncated', `${file} declares a ${headerLength}-byte header but the file has only ${fileSize - 8} bytes after the length field: it is truncated or not safetensors.`, { path: file, headerLength, fileSize });
    }
    const headerBytes = Buffer.alloc(headerLength);
    await readExactly(handle, headerBytes, 8);
    return parseSafetensorsHeader(file, headerBytes, fileSize);
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: import('node:fs/promises').FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) throw new WorkbenchError('safetensors_truncated', 'The file ended while reading its header.');
    done += bytesRead;
  }
}

/** Validates a header's JSON bytes against the file size (exported for tests and in-memory use). */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = headerBytes.byteLength;
  const dataStart = 8 + headerLength;
  let text: string;
  try {
    text = strictUtf8.decode(headerBytes);
  } catch {
    fail('safetensors_bad_header', `The header of ${file} is not valid UTF-8.`, { path: file });
  }
  if (!text.startsWith('{')) fail('safetensors_bad_header', `The header of ${file} is not a JSON object.`, { path: file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail('safetensors_bad_header', `The header of ${file} is not valid JSON (${(error as Error).message}).`, { path: file });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail('safetensors_bad_header', `The header of ${file} is not a JSON object.`, { path: file });
  }
  let metadata: Record<string, string> | null = null;
  const tensors: TensorEntry[] = [];
  const dataLength = fileSize - dataStart;
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, value);
      continue;
    }
    tensors.push(parseTensorEntry(file, name, value, dataStart, dataLength));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // Zero-length tensors may share an offset; anything else must not overlap.
  let previous: TensorEntry | undefined;
  for (const tensor of tensors) {
    if (tensor.byteLength === 0) continue;
    if (previous && tensor.begin < previous.end) {
      fail('safetensors_overlap', `Tensors ${previous.name} and ${tensor.name} in ${file} overlap: the file is corrupt.`, { path: file, tensors: [previous.name, tensor.name] });
    }
    previous = tensor;
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return { path: file, fileSize, headerLength, dataStart, tensors, byName, metadata };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('safetensors_bad_header', `__metadata__ in ${file} must be an object of strings.`, { path: file });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') fail('safetensors_bad_header', `__metadata__.${k} in ${file} is not a string.`, { path: file, key: k });
    out[k] = v;
  }
  return out;
}

function parseTensorEntry(file: string, name: string, value: unknown, dataStart: number, dataLength: number): TensorEntry {
  const bad = (why: string): never => fail('safetensors_bad_tensor', `Tensor ${name} in ${file}: ${why}.`, { path: file, tensor: name });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('its entry is not an object');
  const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof entry.dtype !== 'string') bad('dtype is missing');
  const dtype = entry.dtype as string;
  const bits = dtypeBits(dtype);
  if (bits === undefined) {
    fail('safetensors_unknown_dtype', `Tensor ${name} in ${file} has dtype ${dtype}, which safetensors does not define.`, { path: file, tensor: name, dtype });
  }
  if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    bad('shape must be a list of non-negative integers');
  }
  const shape = entry.shape as number[];
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    bad('data_offsets must be two non-negative integers');
  }
  const [rel0, rel1] = offsets as [number, number];
  if (rel1 < rel0) bad(`data_offsets [${rel0}, ${rel1}] end before they begin`);
  if (rel1 > dataLength) {
    fail('safetensors_out_of_range', `Tensor ${name} in ${file} ends at byte ${rel1} of the data block, which is only ${dataLength} bytes: the file is truncated or corrupt.`, { path: file, tensor: name, end: rel1, dataLength });
  }
  let elementCount = 1;
  for (const d of shape) elementCount *= d;
  if (!Number.isSafeInteger(elementCount)) bad('its shape has too many elements');
  const totalBits = elementCount * bits!;
  if (totalBits % 8 !== 0 || totalBits / 8 !== rel1 - rel0) {
    fail('safetensors_size_mismatch', `Tensor ${name} in ${file} has shape [${shape.join(', ')}] of ${dtype} (${totalBits / 8} bytes) but its data_offsets span ${rel1 - rel0} bytes.`, { path: file, tensor: name });
  }
  return { name, dtype, shape, begin: dataStart + rel0, end: dataStart + rel1, byteLength: rel1 - rel0, elementCount };
}

/**
 * Reads a Hugging Face model folder's tensor table without loading weights:
 * `model.safetensors.index.json` + shards when present, else `model.safetensors`.
 * Errors: safetensors_not_found, safetensors_index_invalid, plus those of
 * readSafetensorsHeader for each file.
 */
export async function readSafetensorsModel(dir: string): Promise<SafetensorsModel> {
  const indexPath = path.join(dir, INDEX_FILE_NAME);
  let indexText: string | undefined;
  try {
    indexText = await readRegularFile(indexPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      fail('safetensors_unreadable', `Cannot read ${indexPath}: ${(error as Error).message}`, { path: indexPath });
    }
  }
  if (indexText === undefined) {
    const single = path.join(dir, SINGLE_FILE_NAME);
    try {
      await stat(single);
    } catch {
      fail('safetensors_not_found', `${dir} holds neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}.`, { path: dir });
    }
    const header = await readSafetensorsHeader(single);
    return assembleModel(dir, false, [header], null, header.tensors.map((entry) => ({ file: header, entry })));
  }
  const index = parseIndex(indexPath, indexText);
  const shardNames = [...new Set(Object.values(index.weightMap))].sort();
  const files: SafetensorsHeader[] = [];
  const byShard = new Map<string, SafetensorsHeader>();
  for (const shard of shardNames) {
    const header = await readSafetensorsHeader(path.join(dir, shard));
    files.push(header);
    byShard.set(shard, header);
  }
  const tensors: ModelTensor[] = [];
  const claimed = new Set<string>();
  for (const shard of shardNames) {
    const header = byShard.get(shard)!;
    for (const entry of header.tensors) {
      const mapped = index.weightMap[entry.name];
      if (mapped === undefined) {
        fail('safetensors_index_invalid', `${shard} holds tensor ${entry.name}, which ${INDEX_FILE_NAME} does not list.`, { path: indexPath, tensor: entry.name });
      }
      if (mapped !== shard) continue; // a stale duplicate; the index names the authoritative shard
      tensors.push({ file: header, entry });
      claimed.add(entry.name);
    }
  }
  for (const [name, shard] of Object.entries(index.weightMap)) {
    if (!claimed.has(name)) {
      fail('safetensors_index_invalid', `${INDEX_FILE_NAME} places tensor ${name} in ${shard}, but that shard does not hold it.`, { path: indexPath, tensor: name, shard });
    }
  }
  return assembleModel(dir, true, files, index.metadata, tensors);
}

function assembleModel(dir: string, sharded: boolean, files: SafetensorsHeader[], indexMetadata: Record<string, unknown> | null, tensors: ModelTensor[]): SafetensorsModel {
  const byName = new Map(tensors.map((t) => [t.entry.name, t]));
  const totalBytes = tensors.reduce((sum, t) => sum + t.entry.byteLength, 0);
  return { dir, sharded, files, tensors, byName, indexMetadata, totalBytes };
}

interface ParsedIndex {
  weightMap: Record<string, string>;
  metadata: Record<string, unknown> | null;
}

function parseIndex(indexPath: string, text: string): ParsedIndex {
  const bad = (why: string): never => fail('safetensors_index_invalid', `${indexPath} is invalid: ${why}.`, { path: indexPath });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    bad(`not JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('not a JSON object');
  const { weight_map: weightMap, metadata } = json as { weight_map?: unknown; metadata?: unknown };
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) bad('weight_map is missing');
  const out: Record<string, string> = {};
  for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') bad(`weight_map.${tensor} is not a file name`);
    const normalized = path.posix.normalize(shard as string);
    // Shards live in the model folder: refuse names that escape it.
    if (path.isAbsolute(normalized) || normalized.startsWith('..') || normalized.includes('\\')) {
      bad(`weight_map.${tensor} points outside the model folder (${shard as string})`);
    }
    out[tensor] = normalized;
  }
  if (Object.keys(out).length === 0) bad('weight_map is empty');
  const meta = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : null;
  return { weightMap: out, metadata: meta };
}

/** Number of elements over all tensors (what "parameter count" means for a checkpoint). */
export function countParameters(source: SafetensorsModel | SafetensorsHeader): number {
  if ('files' in source) return source.tensors.reduce((sum, t) => sum + t.entry.elementCount, 0);
  return source.tensors.reduce((sum, t) => sum + t.elementCount, 0);
}
