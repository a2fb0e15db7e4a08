/**
 * The merge's output folder discipline: everything is written into a hidden
 * sibling `.<name>.partial-<host>-<pid>-<random>` and renamed to the requested name only
 * after the weights are written, the other files copied and the verify pass
 * has succeeded. A cancel or crash therefore leaves no folder that looks like
 * a model; a stale partial folder is recognisable by its name.
 *
 * Also: which files of the base folder are carried over (everything but the
 * weights) and which the adapter folder overrides (its tokenizer files).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { isSameOrInside } from '../files/folders.js';
import { isAlive } from '../process/killTree.js';
import { writeFailure } from '../safetensors/writer.js';

/** Weight files of any format: never copied (the merged safetensors replace them). */
const WEIGHT_FILE = /(\.safetensors|\.safetensors\.index\.json|\.bin|\.bin\.index\.json|\.pt|\.pth|\.ckpt|\.h5|\.msgpack|\.gguf|\.onnx)$/i;
const SKIPPED_DIRS = new Set(['.git', '.cache', '.huggingface']);

/** Tokenizer and chat-template files an adapter folder may carry from training. */
export const ADAPTER_TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'chat_template.json',
];

export async function requireDirectory(dir: string, role: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new WorkbenchError('merge_input_missing', `The ${role} folder ${dir} does not exist.`, { path: dir });
  }
  if (!info.isDirectory()) throw new WorkbenchError('merge_input_missing', `The ${role} path ${dir} is not a folder.`, { path: dir });
}

/** Refuses an output that already holds something, or that sits inside an input. */
export async function checkOutputTarget(outDir: string, inputs: string[]): Promise<void> {
  for (const input of inputs) {
    if (isSameOrInside(input, outDir)) {
      throw new WorkbenchError('merge_output_invalid', `The output folder ${outDir} is inside the input folder ${input}; choose a separate folder.`, { path: outDir });
    }
  }
  try {
    const entries = await readdir(outDir);
    if (entries.length > 0) {
      throw new WorkbenchError('merge_output_exists', `The output folder ${outDir} already exists and is not empty; choose a new folder or empty it.`, { path: outDir });
    }
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new WorkbenchError('merge_output_exists', `The output path ${outDir} is a file.`, { path: outDir });
    if (code !== 'ENOENT') throw writeFailure(error, outDir);
  }
}

/** This host's name as it may appear in a folder name. */
function hostTag(): string {
  return os.hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host';
}

/** `.<out>.partial-<host>-`: what every partial folder of `outDir` written on this host starts with. */
export function partialDirPrefix(outDir: string): string {
  return `.${path.basename(outDir)}.partial-${hostTag()}-`;
}

/** Whether `name` (in outDir's parent) is a partial folder of `outDir` written on this host by process `pid`. */
export function isPartialDirOf(name: string, outDir: string, pid: number): boolean {
  const prefix = partialDirPrefix(outDir);
  return name.startsWith(prefix) && new RegExp(`^${pid}-[0-9a-f]{8}$`).test(name.slice(prefix.length));
}

/**
 * Creates the hidden partial folder next to outDir (creating outDir's
 * parents), named `.<out>.partial-<host>-<pid>-<random>`. Partial folders for
 * the same output left by a merge on this host whose process is gone (killed
 * before it could clean up) are removed first; their names are returned.
 */
export async function createPartialDir(outDir: string): Promise<{ partial: string; removedStale: string[] }> {
  const parent = path.dirname(outDir);
  const prefix = partialDirPrefix(outDir);
  const partial = path.join(parent, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
  const removedStale: string[] = [];
  try {
    await mkdir(parent, { recursive: true });
    for (const name of await readdir(parent)) {
      const match = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length)) : null;
      if (match && !isAlive(Number(match[1]))) {
        await rm(path.join(parent, name), { recursive: true, force: true });
        removedStale.push(path.join(parent, name));
      }
    }
    await mkdir(partial);
  } catch (error) {
    throw writeFailure(error, outDir);
  }
  return { partial, removedStale };
}

/** Moves the finished partial folder into place (replacing an empty outDir). */
export async function publishPartialDir(partial: string, outDir: string): Promise<void> {
  try {
    await rmdir(outDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(partial, outDir);
  } catch (error) {
    throw writeFailure(error, outDir);
  }
}

export async function removePartialDir(partial: string): Promise<void> {
  await rm(partial, { recursive: true, force: true });
}

/** Free bytes on the file system holding `dir`, or null when it cannot be told. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return null;
  }
}

export interface CopiedFile {
  /** Relative to the output folder. */
  file: string;
  from: 'base' | 'adapter';
  bytes: number;
}

export interface FileToCopy {
  source: string;
  file: string;
  from: 'base' | 'adapter';
  bytes: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Non-weight files of the base folder, then the adapter's tokenizer files over
 * them. Names that are not valid UTF-8 cannot be carried through JavaScript
 * strings; they are skipped and reported rather than failing the merge.
 */
export async function listFilesToCopy(baseDir: string, adapterDir: string): Promise<{ files: FileToCopy[]; skipped: string[] }> {
  const out = new Map<string, FileToCopy>();
  const skipped: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true, encoding: 'buffer' })) {
      let entryName: string;
      try {
        entryName = strictUtf8.decode(entry.name);
      } catch {
        skipped.push(path.join(rel, entry.name.toString('utf8')));
        continue;
      }
      const relative = rel ? path.join(rel, entryName) : entryName;
      const full = path.join(dir, entryName);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entryName)) await walk(full, relative);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !WEIGHT_FILE.test(entryName)) {
        const info = await stat(full).catch(() => undefined);
        if (info?.isFile()) out.set(relative, { source: full, file: relative, from: 'base', bytes: info.size });
      }
    }
  };
  await walk(baseDir, '');
  for (const name of ADAPTER_TOKENIZER_FILES) {
    const full = path.join(adapterDir, name);
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile()) out.set(name, { source: full, file: name, from: 'adapter', bytes: info.size });
  }
  return { files: [...out.values()].sort((a, b) => (a.file < b.file ? -1 : 1)), skipped };
}

export async function copyFiles(files: FileToCopy[], targetDir: string): Promise<CopiedFile[]> {
  const copied: CopiedFile[] = [];
  for (const f of files) {
    const target = path.join(targetDir, f.file);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(f.source, target);
    } catch (error) {
      throw writeFailure(error, target);
    }
    copied.push({ file: f.file, from: f.from, bytes: f.bytes });
  }
  return copied;
}
