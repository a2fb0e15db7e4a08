/**
 * Does the base model the adapter names look like the base folder chosen?
 * Only a hint: people keep models in folders named anything and config.json
 * often has no `_name_or_path`, so a differing name is a warning (intake and
 * merge say the same sentence); whether the adapter can merge is decided by
 * the tensor names, shapes and ranks (plan.ts), never by this name.
 */
import path from 'node:path';
import { readRegularFile, SMALL_FILE_LIMIT_BYTES } from '../files/regularFile.js';

function tail(p: string): string {
  return p.replace(/[\\/]+$/, '').split(/[\\/]/).pop()!.toLowerCase();
}

/** Names the base folder goes by: its own name, a Hugging Face cache repo name, config.json's `_name_or_path`. */
async function baseNames(baseDir: string): Promise<Set<string>> {
  const candidates = new Set([tail(baseDir)]);
  // A Hugging Face cache snapshot (…/models--Qwen--Qwen2.5-1.5B/snapshots/<commit>) names the model in a parent folder.
  for (const segment of baseDir.split(/[\\/]/)) {
    if (segment.startsWith('models--')) candidates.add(tail(segment.slice('models--'.length).replace(/--/g, '/')));
  }
  try {
    const baseConfig = JSON.parse(await readRegularFile(path.join(baseDir, 'config.json'), 'utf8', { maxBytes: SMALL_FILE_LIMIT_BYTES, what: 'a config.json' })) as { _name_or_path?: unknown };
    if (typeof baseConfig._name_or_path === 'string' && baseConfig._name_or_path) candidates.add(tail(baseConfig._name_or_path));
  } catch {
    // No or unreadable config.json: the folder name is all there is to compare.
  }
  return candidates;
}

/**
 * 'yes' when the adapter's `base_model_name_or_path` matches a name of the base folder, 'no' when it names
 * something else, 'unknown' when the adapter names no base.
 */
export async function adapterBaseNameMatches(named: string | null, baseDir: string): Promise<'yes' | 'no' | 'unknown'> {
  if (!named) return 'unknown';
  const resolved = path.resolve(baseDir);
  if (path.resolve(named) === resolved) return 'yes';
  return (await baseNames(resolved)).has(tail(named)) ? 'yes' : 'no';
}

/** The warning shown when the names differ but every LoRA pair fits the base. */
export function baseNameWarning(named: string, baseDir: string): string {
  return `The adapter names "${named}" as its base, but the base folder is ${baseDir}. Every LoRA pair fits this base's tensor shapes, so it merges; make sure the folder holds that model (a renamed copy is fine, a different fine-tune of the same size is not).`;
}
