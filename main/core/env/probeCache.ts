/**
 * Short-lived answers of interpreter probes (which Python version, whether
 * torch is there, which conversion packages are installed).
 *
 * Why: each probe is a child process, and a pyenv shim on the PATH makes
 * each one ~0.35 s of CPU (bash scripts resolving the version), while the
 * Review page, the Environment page and every behaviour check's launch ask
 * about the same interpreters again seconds apart: one wizard session paid
 * ~17 s of CPU for 48 identical probes. An answer is kept for PROBE_TTL_MS
 * and only while nothing it depends on changed: the interpreter file
 * (device, inode, size, modification time, of the link and of its target)
 * and the caller's salt (the workbench environment's folder and marker, so a
 * setup or rebuild is seen at once). The time limit covers what no file
 * shows, such as `pyenv global` pointing a shim elsewhere.
 */
import { lstat, stat } from 'node:fs/promises';

export const PROBE_TTL_MS = 20_000;

interface Entry {
  key: string;
  at: number;
  value: Promise<unknown>;
}

const entries = new Map<string, Entry>();

async function identity(file: string): Promise<string | null> {
  try {
    const [link, target] = await Promise.all([lstat(file), stat(file)]);
    return [link.dev, link.ino, link.mtimeMs, target.dev, target.ino, target.size, target.mtimeMs].join(':');
  } catch {
    return null;
  }
}

/**
 * `probe()`'s answer for this interpreter, reused while it is younger than
 * PROBE_TTL_MS and the file and salt are unchanged; concurrent callers share
 * one probe. A file that cannot be stat'ed (a bare command name, a missing
 * file) is probed every time.
 */
export async function cachedProbe<T>(kind: string, file: string, salt: string, probe: () => Promise<T>): Promise<T> {
  const id = await identity(file);
  if (id === null) return probe();
  const name = `${kind}\u0000${file}`;
  const key = `${id}\u0000${salt}`;
  const hit = entries.get(name);
  if (hit && hit.key === key && Date.now() - hit.at < PROBE_TTL_MS) return hit.value as Promise<T>;
  const value = probe();
  entries.set(name, { key, at: Date.now(), value });
  // A failed probe is not remembered.
  value.catch(() => {
    if (entries.get(name)?.value === value) entries.delete(name);
  });
  return value;
}

/** Forgets every answer (tests; a caller that knows the environment just changed). */
export function forgetProbes(): void {
  entries.clear();
}

/** The salt for probes whose answer a workbench environment setup can change: its folder and marker, as they are now. */
export async function environmentSalt(venvFolder: string, marker: string): Promise<string> {
  const [folder, written] = await Promise.all([identity(venvFolder), identity(marker)]);
  return `${folder ?? '-'}|${written ?? '-'}`;
}
