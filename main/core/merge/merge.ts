/**
 * The streaming LoRA merge: base model + PEFT adapter → merged model folder,
 * one tensor in flight. For each base tensor in file order it reads the bytes,
 * applies the planned change (LoRA update in worker threads, replacement,
 * bias), and appends the result to the output shard being written, the write
 * overlapping the next tensor's work; tensors that do not change are copied in
 * bounded chunks. Peak memory is about twice the largest updated tensor plus
 * its factors plus a constant, whatever the model size. The output appears under its final name only once complete and (by
 * default) verified; see outputFolder.ts and docs/merge.md.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import type { MergeSummary } from '../../common/stages/merge.js';
import { decodeToF32, encodeFromF32, floatDtypeBytes, type FloatDtype } from '../safetensors/dtypes.js';
import { readSafetensorsHeader, readSafetensorsModel, type SafetensorsHeader } from '../safetensors/header.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import { SafetensorsModelWriter, type WrittenFile } from '../safetensors/writer.js';
import { readRegularFile } from '../files/regularFile.js';
import { readAdapterConfig } from './adapterConfig.js';
import { adapterBaseNameMatches, baseNameWarning } from './baseName.js';
import { kernelLayout } from './kernel.js';
import {
  checkOutputTarget,
  copyFiles,
  createPartialDir,
  freeBytes,
  listFilesToCopy,
  publishPartialDir,
  removePartialDir,
  requireDirectory,
  type CopiedFile,
} from './outputFolder.js';
import { buildMergePlan, planDtype, type AdapterTensorRef, type MergePlan, type TensorPlan } from './plan.js';
import { verifyMergedModel, type VerifyResult } from './verify.js';
import { LoraWorkerPool } from './workerPool.js';

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** Unchanged tensors are copied through a buffer of this size. */
const COPY_CHUNK_BYTES = 16 * 1024 * 1024;

export interface MergeOptions {
  baseDir: string;
  adapterDir: string;
  outDir: string;
  shardSizeMiB: number;
  verify: boolean;
  /** Worker threads for the products; 0 = one per core. */
  threads: number;
  signal?: AbortSignal;
  onProgress?: (progress: MergeProgress) => void;
  onLog?: (level: 'info' | 'warn', text: string) => void;
  /** Overrides the built worker script (tests bundle their own). */
  workerScript?: string;
}

export interface MergeProgress {
  phase: 'plan' | 'merge' | 'copy' | 'verify' | 'done';
  tensorsDone: number;
  tensorsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Output bytes per second since the merge phase started. */
  bytesPerSecond: number;
  etaSeconds: number | null;
  currentTensor?: string;
  rssBytes: number;
}

export interface MergeResult {
  outDir: string;
  files: WrittenFile[];
  copiedFiles: CopiedFile[];
  /** Bytes of all written files (shards, index, copied files). */
  outputBytes: number;
  tensorsTotal: number;
  tensorsTouched: number;
  modules: MergePlan['modules'];
  /** Distinct scales in use, with how many modules use each. */
  scales: { scale: number; r: number; alpha: number; modules: number }[];
  warnings: string[];
  verify: VerifyResult | null;
  adapter: { baseModelNameOrPath: string | null; r: number; loraAlpha: number; useRslora: boolean; fanInFanOut: boolean };
  durationMs: number;
  mergeSeconds: number;
  bytesPerSecond: number;
  peakRssBytes: number;
}

function cancelled(): WorkbenchError {
  return new WorkbenchError('cancelled', 'The merge was stopped; no output was left behind.');
}

/** Peak resident set size of this process (all threads) so far. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export async function mergeLora(options: MergeOptions): Promise<MergeResult> {
  const started = Date.now();
  const baseDir = path.resolve(options.baseDir);
  const adapterDir = path.resolve(options.adapterDir);
  const outDir = path.resolve(options.outDir);
  const log = options.onLog ?? (() => undefined);
  const check = (): void => {
    if (options.signal?.aborted) throw cancelled();
  };

  await requireDirectory(baseDir, 'base model');
  await requireDirectory(adapterDir, 'adapter');
  await checkOutputTarget(outDir, [baseDir, adapterDir]);
  const config = await readAdapterConfig(adapterDir);
  const adapter = await readAdapterWeights(adapterDir);
  const base = await readSafetensorsModel(baseDir);
  const warnings: string[] = [];
  const plan = buildMergePlan(config, adapter, base);
  // The adapter's name for its base is a hint only: the plan above refused whatever cannot merge (shapes, ranks, missing modules).
  if (!config.baseModelNameOrPath) warnings.push('adapter_config.json does not name its base model; only tensor names and shapes were checked.');
  else if ((await adapterBaseNameMatches(config.baseModelNameOrPath, baseDir)) === 'no') warnings.push(baseNameWarning(config.baseModelNameOrPath, baseDir));
  warnings.push(...plan.warnings);
  if (config.defaultsUsed.length > 0) {
    warnings.push(
      `adapter_config.json does not give ${config.defaultsUsed.map((d) => d.split(' = ')[0]).join(' or ')}; the merge used PEFT's default${config.defaultsUsed.length > 1 ? 's' : ''} ${config.defaultsUsed.join(' and ')} (scale ${Number((config.loraAlpha / (config.useRslora ? Math.sqrt(config.r) : config.r)).toFixed(4))}). If the adapter was trained with other values, its effect is scaled wrongly.`,
    );
  }
  const baseConfigProblem = await baseConfigWarning(baseDir);
  if (baseConfigProblem) warnings.push(baseConfigProblem);
  for (const w of warnings) log('warn', w);
  if (plan.touched === 0) throw new WorkbenchError('adapter_empty', 'The adapter changes no tensor of the base model.');

  const { files: toCopy, skipped } = await listFilesToCopy(baseDir, adapterDir);
  for (const name of skipped) {
    const w = `Not copied: ${name} in the base folder has a name that is not valid UTF-8.`;
    warnings.push(w);
    log('warn', w);
  }
  const needed = base.totalBytes + toCopy.reduce((s, f) => s + f.bytes, 0);
  const free = await freeBytes(path.dirname(outDir)).catch(() => null);
  if (free !== null && free < needed * 1.01 + 16 * 1024 * 1024) {
    throw new WorkbenchError('disk_full', `The merged model needs about ${formatBytes(needed)} but only ${formatBytes(free)} are free next to ${outDir}.`, { needed, free });
  }

  const { partial, removedStale } = await createPartialDir(outDir);
  for (const stale of removedStale) log('warn', `Removed ${stale}, left by an earlier merge into the same folder that was killed before it could clean up.`);
  const reader = new SafetensorsReader();
  let pool: LoraWorkerPool | undefined;
  const writer = SafetensorsModelWriter.create(
    partial,
    base.tensors.map((t) => ({ name: t.entry.name, dtype: t.entry.dtype, shape: t.entry.shape, byteLength: t.entry.byteLength })),
    { maxShardBytes: options.shardSizeMiB * 1024 * 1024, metadata: base.files[0]?.metadata ?? null },
  );
  // Writes run behind the computation: tensor n is written while tensor n+1 is read and computed.
  const queue = new WriteQueue(writer);
  try {
    pool = LoraWorkerPool.start(options.threads, options.workerScript);
    log('info', `Merging ${plan.touched} of ${base.tensors.length} tensors (${plan.modules.length} LoRA modules) with ${pool.size} worker thread(s) into ${writer.shards.length} shard(s).`);
    const bytesTotal = base.totalBytes;
    const mergeStart = Date.now();
    let bytesDone = 0;
    let tensorsDone = 0;
    const report = (phase: MergeProgress['phase'], currentTensor?: string): void => {
      const seconds = (Date.now() - mergeStart) / 1000;
      const bytesPerSecond = seconds > 0 ? bytesDone / seconds : 0;
      options.onProgress?.({
        phase,
        tensorsDone,
        tensorsTotal: plan.tensors.length,
        bytesDone,
        bytesTotal,
        bytesPerSecond,
        etaSeconds: bytesPerSecond > 0 ? (bytesTotal - bytesDone) / bytesPerSecond : null,
        ...(currentTensor ? { currentTensor } : {}),
        rssBytes: process.memoryUsage.rss(),
      });
    };
    report('plan');
    const buffers = new DoubleBuffers();
    for (const tensorPlan of plan.tensors) {
      check();
      const entry = tensorPlan.base.entry;
      if (tensorPlan.lora) {
        const slot = await buffers.weightSlot(entry.byteLength);
        const bytes = await applyLora(tensorPlan, reader, pool, slot.buffer);
        slot.release(queue.write(tensorPlan.name, bytes));
        bytesDone += entry.byteLength;
      } else {
        // Unchanged tensors, replacements and lora_bias biases: elementwise, in bounded chunks.
        await streamTensor(tensorPlan, reader, buffers, queue, (written, more) => {
          check();
          bytesDone += written;
          if (more) report('merge', tensorPlan.name);
        });
      }
      tensorsDone += 1;
      report('merge', tensorPlan.name);
    }
    await queue.drain();
    const mergeSeconds = (Date.now() - mergeStart) / 1000;
    await pool.close();
    pool = undefined;
    const files = await writer.finish();
    check();
    report('copy');
    const copiedFiles = await copyFiles(toCopy, partial);
    check();
    let verify: VerifyResult | null = null;
    if (options.verify) {
      report('verify');
      verify = await verifyMergedModel(partial, plan, base, options.signal ? { signal: options.signal } : {});
      if (!verify.ok) {
        throw new WorkbenchError('merge_verify_failed', `The verify pass found ${verify.failures.length} mismatch(es) in the merged model (first: ${verify.failures[0]}); no output was kept.`, { failures: verify.failures });
      }
      log('info', `Verified ${verify.checkedValues} values in ${verify.checkedTensors} tensors against float64 (max ${verify.maxUlpError.toFixed(3)} ulp).`);
    }
    check();
    await publishPartialDir(partial, outDir);
    report('done');
    const outputBytes = files.reduce((s, f) => s + f.bytes, 0) + copiedFiles.reduce((s, f) => s + f.bytes, 0);
    return {
      outDir,
      files,
      copiedFiles,
      outputBytes,
      tensorsTotal: plan.tensors.length,
      tensorsTouched: plan.touched,
      modules: plan.modules,
      scales: summariseScales(plan),
      warnings,
      verify,
      adapter: { baseModelNameOrPath: config.baseModelNameOrPath, r: config.r, loraAlpha: config.loraAlpha, useRslora: config.useRslora, fanInFanOut: config.fanInFanOut },
      durationMs: Date.now() - started,
      mergeSeconds,
      bytesPerSecond: mergeSeconds > 0 ? bytesTotal / mergeSeconds : 0,
      peakRssBytes: peakRssBytes(),
    };
  } catch (error) {
    await pool?.close().catch(() => undefined);
    await queue.drain().catch(() => undefined);
    await writer.abort().catch(() => undefined);
    await removePartialDir(partial).catch(() => undefined);
    throw error;
  } finally {
    await reader.close();
  }
}

async function readAdapterWeights(adapterDir: string): Promise<SafetensorsHeader> {
  const file = path.join(adapterDir, ADAPTER_WEIGHTS_FILE);
  try {
    return await readSafetensorsHeader(file);
  } catch (error) {
    if (error instanceof WorkbenchError && error.code === 'safetensors_not_found') {
      const legacy = await readFile(path.join(adapterDir, 'adapter_model.bin')).then(() => true, () => false);
      throw new WorkbenchError(
        legacy ? 'adapter_unsupported_format' : 'adapter_weights_missing',
        legacy
          ? `${adapterDir} holds adapter_model.bin (a pickle); save the adapter as safetensors (PEFT's default, safe_serialization=True) to merge it.`
          : `${adapterDir} has no ${ADAPTER_WEIGHTS_FILE}.`,
        { path: file },
      );
    }
    throw error;
  }
}

function summariseScales(plan: MergePlan): MergeResult['scales'] {
  const groups = new Map<string, { scale: number; r: number; alpha: number; modules: number }>();
  for (const m of plan.modules) {
    const key = `${m.scale}|${m.r}|${m.alpha}`;
    const g = groups.get(key);
    if (g) g.modules += 1;
    else groups.set(key, { scale: m.scale, r: m.r, alpha: m.alpha, modules: 1 });
  }
  return [...groups.values()];
}

/** Serialises writes in plan order without making the caller wait for each one. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(private readonly writer: SafetensorsModelWriter) {}

  /** Queues a write; the returned promise settles when it is on disk (or failed). */
  write(name: string, bytes: Uint8Array): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const done = this.tail.then(() => this.writer.write(name, bytes));
    this.tail = done.catch((error: unknown) => {
      this.failure ??= error;
    });
    return done.catch(() => undefined);
  }

  /** Waits for every queued write; throws the first write error. */
  async drain(): Promise<void> {
    await this.tail;
    if (this.failure !== undefined) throw this.failure;
  }
}

interface Slot<T> {
  buffer: T;
  /** Hands the buffer back once `written` settles. */
  release(written: Promise<void>): void;
}

/**
 * Two buffers per kind, used in turn: one is being written out while the next
 * tensor is read and computed into the other. Memory stays at twice the
 * largest updated tensor (plus two copy chunks), whatever the model size.
 */
class DoubleBuffers {
  private readonly weights: { buffer: SharedArrayBuffer | undefined; busy: Promise<void> }[] = [
    { buffer: undefined, busy: Promise.resolve() },
    { buffer: undefined, busy: Promise.resolve() },
  ];
  private readonly copies: { buffer: Uint8Array | undefined; busy: Promise<void> }[] = [
    { buffer: undefined, busy: Promise.resolve() },
    { buffer: undefined, busy: Promise.resolve() },
  ];
  private nextWeight = 0;
  private nextCopy = 0;

  async weightSlot(bytes: number): Promise<Slot<SharedArrayBuffer>> {
    const slot = this.weights[this.nextWeight]!;
    this.nextWeight = 1 - this.nextWeight;
    await slot.busy;
    if (!slot.buffer || slot.buffer.byteLength < bytes) slot.buffer = new SharedArrayBuffer(bytes);
    return { buffer: slot.buffer, release: (written) => void (slot.busy = written) };
  }

  async copySlot(bytes: number): Promise<Slot<Uint8Array> & { bytes: Uint8Array }> {
    const slot = this.copies[this.nextCopy]!;
    this.nextCopy = 1 - this.nextCopy;
    await slot.busy;
    // Shared memory: the hashing thread reads chunks in place.
    if (!slot.buffer || slot.buffer.byteLength < bytes) slot.buffer = new Uint8Array(new SharedArrayBuffer(Math.max(bytes, 1 << 20)));
    return { buffer: slot.buffer, bytes: slot.buffer, release: (written) => void (slot.busy = written) };
  }
}

async function readFactor(reader: SafetensorsReader, ref: AdapterTensorRef): Promise<Float32Array> {
  const out = new Float32Array(ref.entry.elementCount);
  const bytes = await reader.readTensor(ref.file, ref.entry);
  decodeToF32(ref.entry.dtype as FloatDtype, bytes, out);
  return out;
}

async function applyLora(plan: TensorPlan, reader: SafetensorsReader, pool: LoraWorkerPool, weight: SharedArrayBuffer): Promise<Uint8Array> {
  const lora = plan.lora!;
  const entry = plan.base.entry;
  const [rows, cols] = entry.shape as [number, number];
  const bytes = await reader.readRange(plan.base.file, entry, new Uint8Array(weight, 0, entry.byteLength));
  const a = await readFactor(reader, lora.a); // r × in
  const b = await readFactor(reader, lora.b); // out × r
  const r = lora.r;
  const inDim = lora.a.entry.shape[1]!;
  const outDim = lora.b.entry.shape[0]!;
  const layout = kernelLayout(r, cols);
  // Arrange P (rows × rank) and Q (rank × colsPadded) so that W += P·Q in the stored orientation.
  const p = new SharedArrayBuffer(rows * layout.rank * 4);
  const q = new SharedArrayBuffer(layout.rank * layout.colsPadded * 4);
  const pf = new Float32Array(p);
  const qf = new Float32Array(q);
  if (!lora.transposed) {
    // W (out × in) += B (out × r) · A (r × in)
    for (let i = 0; i < outDim; i++) for (let k = 0; k < r; k++) pf[i * layout.rank + k] = b[i * r + k]!;
    for (let k = 0; k < r; k++) qf.set(a.subarray(k * inDim, (k + 1) * inDim), k * layout.colsPadded);
  } else {
    // W (in × out) += Aᵀ (in × r) · Bᵀ (r × out)
    for (let i = 0; i < inDim; i++) for (let k = 0; k < r; k++) pf[i * layout.rank + k] = a[k * inDim + i]!;
    for (let k = 0; k < r; k++) for (let j = 0; j < outDim; j++) qf[k * layout.colsPadded + j] = b[j * r + k]!;
  }
  await pool.apply({ weight, dtype: planDtype(plan), rows, cols, rank: layout.rank, colsPadded: layout.colsPadded, p, q, scale: lora.scale });
  return bytes;
}

/**
 * Writes a tensor that is not LoRA-updated: the base bytes as they are, or a
 * replacement from the adapter (modules_to_save, trained biases) converted to
 * the base dtype, plus scale · lora_B.bias when the adapter has one. Works in
 * chunks, so a replaced 150k-token embedding or lm_head stays within the
 * copy buffers.
 */
async function streamTensor(plan: TensorPlan, reader: SafetensorsReader, buffers: DoubleBuffers, queue: WriteQueue, onChunk: (bytes: number, more: boolean) => void): Promise<void> {
  const entry = plan.base.entry;
  const source = plan.replaceWith ?? plan.base;
  if (entry.byteLength === 0) {
    queue.write(plan.name, new Uint8Array(0));
    return;
  }
  if (!plan.loraBias && source.entry.dtype === entry.dtype) {
    for (let offset = 0; offset < entry.byteLength; offset += COPY_CHUNK_BYTES) {
      const length = Math.min(COPY_CHUNK_BYTES, entry.byteLength - offset);
      const slot = await buffers.copySlot(length);
      const chunk = await reader.readRange(source.file, source.entry, slot.bytes, offset, length);
      slot.release(queue.write(plan.name, chunk));
      onChunk(length, offset + length < entry.byteLength);
    }
    return;
  }
  // Float conversion (the plan only allows F32/F16/BF16 here), optionally with the LoRA bias.
  const from = source.entry.dtype as FloatDtype;
  const to = entry.dtype as FloatDtype;
  const inSize = floatDtypeBytes(from);
  const outSize = floatDtypeBytes(to);
  const bias = plan.loraBias ? await readFactor(reader, plan.loraBias.bias) : undefined;
  const scale = Math.fround(plan.loraBias?.scale ?? 0);
  const perChunk = Math.max(1, Math.floor(COPY_CHUNK_BYTES / 4));
  const values = new Float32Array(Math.min(perChunk, entry.elementCount));
  const input = new Uint8Array(values.length * inSize);
  for (let start = 0; start < entry.elementCount; start += perChunk) {
    const count = Math.min(perChunk, entry.elementCount - start);
    const read = await reader.readRange(source.file, source.entry, input, start * inSize, count * inSize);
    const chunkValues = values.subarray(0, count);
    decodeToF32(from, read, chunkValues);
    if (bias) for (let i = 0; i < count; i++) chunkValues[i] = chunkValues[i]! + Math.fround(bias[start + i]! * scale);
    const slot = await buffers.copySlot(count * outSize);
    const out = slot.bytes.subarray(0, count * outSize);
    encodeFromF32(to, chunkValues, out);
    slot.release(queue.write(plan.name, out));
    onChunk(count * outSize, start + count < entry.elementCount);
  }
}

/** The stage's stored result: the merge result with the module list reduced to a count. */
export function summariseMerge(result: MergeResult): MergeSummary {
  const { modules, ...rest } = result;
  return { ...rest, modules: modules.length };
}

/**
 * The merged folder gets the base's config.json as is; without a readable one
 * the converter cannot tell the architecture, so a missing or unreadable
 * file is a warning in the merge summary rather than a surprise later.
 */
async function baseConfigWarning(baseDir: string): Promise<string | null> {
  const file = path.join(baseDir, 'config.json');
  let text: string;
  try {
    text = await readRegularFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return `The base folder has no config.json, so neither has the merged model: the conversion cannot tell its architecture. Copy the base model's config.json into ${baseDir} if you have it.`;
    }
    return `config.json in the base folder cannot be read (${(error as Error).message}); the merged model has no usable config.json for the conversion.`;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('it is not a JSON object');
  } catch (error) {
    return `config.json in the base folder is not valid JSON (${(error as Error).message}); it is copied as is, and the conversion will not be able to read it.`;
  }
  return null;
}
